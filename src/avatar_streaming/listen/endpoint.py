"""Endpointing: one user's audio cut into utterances, from speech start to a pause.

``Endpointer`` takes 16 kHz float samples as they come, asks its detector about each
32 ms window and says when speech began (``SpeechBegan``, once it has lasted
``min_speech_ms``: a cough or a click does not barge in) and when an utterance is
complete (``Utterance``: after ``end_silence_ms`` of silence, or, cut at
``max_utterance_s``, as a piece that another follows). Pure: no threads, no clock; times
come from the chunks' capture timestamps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .detect import SAMPLE_RATE, WINDOW, WINDOW_MS, Samples, VoiceDetector


@dataclass(frozen=True)
class EndpointSettings:
    """When speech starts and ends (durations in the units their names say)."""

    start_threshold: float = 0.5
    """A window this likely to be speech starts (or continues) an utterance."""
    end_threshold: float = 0.35
    """Below this, a window is silence (between the two: it continues what is going on)."""
    min_speech_ms: float = 200.0
    """Voiced time before "speech began"; an utterance with less is dropped as noise."""
    end_silence_ms: float = 500.0
    """Silence that ends an utterance."""
    pre_roll_ms: float = 200.0
    """Audio kept from before the first voiced window: the onset of the first word."""
    trailing_ms: float = 200.0
    """Silence kept after the last voiced window."""
    max_utterance_s: float = 15.0
    """An utterance that runs this long is cut and handed on; the next piece follows."""

    def __post_init__(self) -> None:
        if not 0 < self.end_threshold <= self.start_threshold <= 1:
            raise ValueError(f"endpointing: expected 0 < end_threshold <= start_threshold "
                             f"<= 1, got {self.end_threshold} and {self.start_threshold}")
        if self.max_utterance_s * 1000 <= self.min_speech_ms or self.end_silence_ms <= 0:
            raise ValueError(f"endpointing: expected end_silence_ms > 0 and max_utterance_s "
                             f"above min_speech_ms, got {self.end_silence_ms} ms, "
                             f"{self.max_utterance_s} s and {self.min_speech_ms} ms")


@dataclass(frozen=True)
class SpeechBegan:
    start_ms: float
    """Capture time of the first voiced window, Unix ms."""


@dataclass(frozen=True)
class Utterance:
    samples: Samples
    start_ms: float
    end_ms: float
    final: bool
    """False: cut at the length cap, more of it follows."""
    voiced_ms: float
    """How much of it the detector found voiced (the last piece of a cut utterance may
    have almost none)."""


Event = SpeechBegan | Utterance


class Endpointer:
    def __init__(self, detector: VoiceDetector,
                 settings: EndpointSettings | None = None) -> None:
        self.settings = settings = settings or EndpointSettings()
        self._detector = detector
        self._pending = np.zeros(0, np.float32)
        self._pending_ms = 0.0
        self._before: deque[Samples] = deque(maxlen=max(1, round(settings.pre_roll_ms /
                                                                 WINDOW_MS)))
        self._max_windows = max(1, int(settings.max_utterance_s * 1000 / WINDOW_MS))
        self.in_speech = False
        """Between a voiced window and the pause that ends its utterance."""
        self._windows: list[Samples] = []
        self._start_ms = 0.0
        self._voiced_ms = 0.0
        self._silent_ms = 0.0
        self._began = False
        self._continued = False
        """The utterance under way follows a piece cut at the cap: its end must be told."""

    def feed(self, samples: Samples, start_ms: float) -> list[Event]:
        """Take the next samples (16 kHz mono float), ``start_ms`` the capture time of the
        first; what began or ended in them."""
        if not len(self._pending):
            self._pending_ms = start_ms
        self._pending = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        count = len(self._pending) // WINDOW
        if count == 0:
            return []
        windows = self._pending[:count * WINDOW].reshape(count, WINDOW)
        self._pending = self._pending[count * WINDOW:].copy()
        probabilities = self._detector.speech_probability(windows)
        events: list[Event] = []
        for window, p in zip(windows, probabilities, strict=True):
            event = self._step(window, float(p), self._pending_ms)
            self._pending_ms += WINDOW_MS
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> Utterance | None:
        """The utterance under way, ended now (the user left); None if none worth hearing."""
        utterance = self._finish(final=True) if self.in_speech else None
        self._pending = np.zeros(0, np.float32)
        self._before.clear()
        return utterance

    def _step(self, window: Samples, p: float, at_ms: float) -> Event | None:
        s = self.settings
        if not self.in_speech:
            if p < s.start_threshold:
                self._before.append(window)
                return None
            self.in_speech, self._began, self._continued = True, False, False
            self._windows = [*self._before, window]
            self._before.clear()
            self._start_ms = at_ms - (len(self._windows) - 1) * WINDOW_MS
            self._voice_ms = at_ms
            self._voiced_ms, self._silent_ms = WINDOW_MS, 0.0
            return self._began_now()
        self._windows.append(window)
        if p < s.end_threshold:
            self._silent_ms += WINDOW_MS
            if self._silent_ms >= s.end_silence_ms:
                return self._finish(final=True)
        else:
            self._silent_ms = 0.0
            self._voiced_ms += WINDOW_MS
            began = self._began_now()
            if began is not None:
                return began
        if len(self._windows) >= self._max_windows:
            return self._cut()
        return None

    def _began_now(self) -> SpeechBegan | None:
        if self._began or self._voiced_ms < self.settings.min_speech_ms:
            return None
        self._began = True
        return SpeechBegan(self._voice_ms)

    def _cut(self) -> Utterance:
        """The length cap: hand on what was heard and go on listening, without a gap."""
        windows, self._windows = self._windows, []
        end_ms = self._start_ms + len(windows) * WINDOW_MS
        utterance = Utterance(np.concatenate(windows), self._start_ms, end_ms, False,
                              self._voiced_ms)
        self._start_ms, self._voiced_ms, self._silent_ms = end_ms, 0.0, 0.0
        self._began, self._continued = True, True
        return utterance

    def _finish(self, final: bool) -> Utterance | None:
        s = self.settings
        windows, self._windows = self._windows, []
        voiced_ms, silent_ms = self._voiced_ms, self._silent_ms
        self.in_speech = False
        if voiced_ms < s.min_speech_ms and not self._continued:
            return None
        keep = max(1, len(windows) - max(0, int((silent_ms - s.trailing_ms) / WINDOW_MS)))
        samples = np.concatenate(windows[:keep]) if windows else np.zeros(0, np.float32)
        end_ms = self._start_ms + len(samples) * 1000 / SAMPLE_RATE
        return Utterance(samples, self._start_ms, end_ms, final, voiced_ms)
