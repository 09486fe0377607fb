"""Finds what each browser user said, so the demo avatar can say it back.

Why: the demo shows the round trip (the user's microphone reaches the server,
the avatar answers) without a speech recogniser. The avatar simply "parrots"
each utterance it hears.

What: :class:`Parrot` receives the microphone audio as 16-bit little-endian
mono PCM chunks, tagged with a peer id, and runs a small energy-based voice
activity detector per peer. An utterance starts when the level rises above a
threshold (with some pre-roll so the first syllable is not cut) and ends after
enough silence; utterances that are too short are dropped and ones that run
too long are cut. Pure logic: no I/O, no threads, no asyncio.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Int16Array = npt.NDArray[np.int16]

_FRAME_MS = 20  # the detector decides voiced/unvoiced per frame of this length


@dataclass(frozen=True)
class ParrotSettings:
    """Voice activity detection settings (all durations in milliseconds)."""

    sample_rate: int = 16000
    threshold_dbfs: float = -45.0
    silence_ms: int = 700
    min_utterance_ms: int = 300
    max_utterance_ms: int = 10000
    pre_roll_ms: int = 200
    post_roll_ms: int = 100

    def __post_init__(self) -> None:
        if self.sample_rate < 1000 // _FRAME_MS:
            raise ValueError("sample_rate is too low")
        if min(self.silence_ms, self.min_utterance_ms, self.pre_roll_ms, self.post_roll_ms) < 0:
            raise ValueError("durations must not be negative")
        if self.max_utterance_ms <= self.pre_roll_ms:
            raise ValueError("max_utterance_ms must be longer than pre_roll_ms")

    def samples(self, ms: int) -> int:
        """Number of samples in ``ms`` milliseconds."""
        return self.sample_rate * ms // 1000

    @property
    def frame_samples(self) -> int:
        """Samples per detector frame."""
        return self.samples(_FRAME_MS)


@dataclass
class _PeerState:
    """One peer's detector state; ``segment`` is None while nobody speaks."""

    pre_roll: deque[Int16Array]
    leftover: Int16Array = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    odd_byte: bytes = b""
    segment: list[Int16Array] | None = None
    length: int = 0  # samples in segment
    onset: int = 0  # where the first voiced frame starts in segment
    voiced_end: int = 0  # where the last voiced frame ends in segment
    silence: int = 0  # samples of silence since the last voiced frame
    ready: deque[Int16Array] = field(default_factory=deque)


class Parrot:
    """Per-peer utterance detector: feed microphone chunks, get utterances back."""

    def __init__(
        self,
        sample_rate: int = 16000,
        threshold_dbfs: float = -45.0,
        silence_ms: int = 700,
        min_utterance_ms: int = 300,
        max_utterance_ms: int = 10000,
    ) -> None:
        self._settings = ParrotSettings(
            sample_rate=sample_rate,
            threshold_dbfs=threshold_dbfs,
            silence_ms=silence_ms,
            min_utterance_ms=min_utterance_ms,
            max_utterance_ms=max_utterance_ms,
        )
        self._peers: dict[str, _PeerState] = {}

    @property
    def settings(self) -> ParrotSettings:
        """The detector settings in use."""
        return self._settings

    def feed(self, peer_id: str, pcm: bytes) -> Int16Array | None:
        """Add a chunk of int16 LE mono PCM from ``peer_id``.

        Returns a finished utterance (int16 samples) or None. If one chunk
        finishes several utterances, the rest come out of the following calls.
        """
        state = self._peers.get(peer_id)
        if state is None:
            state = self._new_state()
            self._peers[peer_id] = state
        samples = self._take_samples(state, pcm)
        frame = self._settings.frame_samples
        whole = samples.size - samples.size % frame
        state.leftover = samples[whole:].copy()
        if whole:
            frames = samples[:whole].reshape(-1, frame)
            for chunk, voiced in zip(frames, self._voiced(frames), strict=True):
                self._step(peer_id, state, chunk.copy(), bool(voiced))
        return state.ready.popleft() if state.ready else None

    def forget(self, peer_id: str) -> None:
        """Drop everything known about ``peer_id`` (e.g. when it disconnects)."""
        if self._peers.pop(peer_id, None) is not None:
            logger.debug("forgot peer %s", peer_id)

    def _new_state(self) -> _PeerState:
        settings = self._settings
        frames = settings.samples(settings.pre_roll_ms) // settings.frame_samples
        return _PeerState(pre_roll=deque(maxlen=frames))

    @staticmethod
    def _take_samples(state: _PeerState, pcm: bytes) -> Int16Array:
        data = state.odd_byte + bytes(pcm)
        usable = len(data) - len(data) % 2
        state.odd_byte = data[usable:]
        fresh = np.frombuffer(data[:usable], dtype="<i2").astype(np.int16)
        return np.concatenate((state.leftover, fresh))

    def _voiced(self, frames: Int16Array) -> npt.NDArray[np.bool_]:
        values = frames.astype(np.float64) / 32768.0
        mean_square = np.mean(values * values, axis=1)
        level = 10.0 * np.log10(np.maximum(mean_square, 1e-12))
        return np.asarray(level >= self._settings.threshold_dbfs)

    def _step(self, peer_id: str, state: _PeerState, frame: Int16Array, voiced: bool) -> None:
        if state.segment is None:
            if not voiced:
                state.pre_roll.append(frame)
                return
            self._start(peer_id, state)
        self._append(state, frame, voiced)
        if state.silence >= self._settings.samples(self._settings.silence_ms):
            self._finish(peer_id, state)
        elif state.length >= self._settings.samples(self._settings.max_utterance_ms):
            self._cut(peer_id, state)

    @staticmethod
    def _start(peer_id: str, state: _PeerState) -> None:
        state.segment = list(state.pre_roll)
        state.length = sum(part.size for part in state.segment)
        state.onset = state.length
        state.voiced_end = state.length
        state.silence = 0
        state.pre_roll.clear()
        logger.debug("peer %s started speaking", peer_id)

    @staticmethod
    def _append(state: _PeerState, frame: Int16Array, voiced: bool) -> None:
        if state.segment is None:
            return
        state.segment.append(frame)
        state.length += frame.size
        if voiced:
            state.voiced_end = state.length
            state.silence = 0
        else:
            state.silence += frame.size

    def _finish(self, peer_id: str, state: _PeerState) -> None:
        """Silence long enough: keep the utterance if it was long enough."""
        if not state.segment:
            state.segment = None
            return
        settings = self._settings
        audio = np.concatenate(state.segment)
        spoken = state.voiced_end - state.onset
        end = state.voiced_end + settings.samples(settings.post_roll_ms)
        end = min(audio.size, end, settings.samples(settings.max_utterance_ms))
        state.pre_roll.extend(state.segment[-(state.pre_roll.maxlen or 1) :])
        state.segment = None
        if spoken < self._settings.samples(self._settings.min_utterance_ms):
            logger.debug("peer %s: ignored a %d ms sound", peer_id, self._ms(spoken))
            return
        state.ready.append(audio[:end].copy())
        logger.info("peer %s said something (%d ms)", peer_id, self._ms(end))

    def _cut(self, peer_id: str, state: _PeerState) -> None:
        """Too long: hand out the first max_utterance_ms and keep listening."""
        if not state.segment:
            return
        audio = np.concatenate(state.segment)
        limit = self._settings.samples(self._settings.max_utterance_ms)
        state.ready.append(audio[:limit].copy())
        rest = audio[limit:]
        state.segment = [rest] if rest.size else []
        state.length = rest.size
        state.onset = 0
        state.voiced_end = min(max(state.voiced_end - limit, 0), rest.size)
        logger.info("peer %s spoke past the %d ms limit; cut", peer_id, self._ms(limit))

    def _ms(self, samples: int) -> int:
        return samples * 1000 // self._settings.sample_rate
