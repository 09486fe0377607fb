"""Lip sync: one clock for the video and the audio RTP streams.

The audio plays in real time from its queue, so its RTP clock is simply the
wall clock at which each 20 ms frame goes out (its sender reports say so). A
video frame must be shown when the audio stamped with the same capture time is
heard; that moment is the frame's capture time plus the audio's current delay
(when the audio of that capture time plays, minus its capture time). The video
RTP timestamps and sender reports carry that moment, so the browser plays a
frame and the audio stamped with the same time together, whether the renderer
runs ahead of the speech or behind it.

The delay moves when an utterance with another offset starts; the video clock
follows it at a bounded rate, so video timestamps never run backwards.

A renderer that runs ahead of the speech (it renders from the synthesizer's
audio, which plays later from the queue) pushes frames before their audio
plays: VideoSource holds them until then, and an interrupt drops them with
the speech they belong to.

A renderer that runs behind the speech sends the frame of capture time T later
than the audio of T would play. A browser's own A/V synchronisation closes such
a gap only slowly (Chromium moves its audio delay some 15 ms every few seconds),
so the playout holds the start of each utterance by the renderer's lag instead:
the audio of T then goes out with the frame of T.

A browser plays audio later after it arrives than video: Chromium's audio jitter
buffer and output add some 35-40 ms more than its video path. Left to itself it
shows the frame of T that much before the audio of T is heard, until its A/V sync
has raised the video delay in ~15 ms steps, some 20 s after connecting. So every
frame leaves ``audio_lead_ms`` after the audio of its time (its RTP time still says
when that audio plays). Chromium's sync sees that lead as network delay and leaves
anything within its 30 ms dead band alone; the default of 20 ms starts within it
either way (35 ms was measured no better: Chromium sometimes corrected it into
audio 38 ms early).
"""

from __future__ import annotations

import time
from collections.abc import Callable

NTP_UNIX_OFFSET_S = 2_208_988_800
MAX_CLOCK_SKEW_MS = 10_000.0
"""A capture time further than this from now is taken as wrong; the push time stands in."""
MAX_RENDER_LAG_MS = 1_000.0
"""Speech waits for a renderer at most this far behind it."""
RENDER_LAG_STALE_MS = 1_000.0
"""Without a fresh frame for this long, no renderer is waited for."""
RENDER_LAG_SMOOTHING = 0.1


def plausible(capture_ms: float, now_ms: float) -> bool:
    """A capture time within MAX_CLOCK_SKEW_MS of now; further is taken as a wrong stamp."""
    return abs(now_ms - capture_ms) <= MAX_CLOCK_SKEW_MS


def ntp_from_unix_ms(unix_ms: float) -> int:
    """64-bit NTP time (RFC 3550 sender reports) of a Unix time in milliseconds."""
    seconds, fraction = divmod(unix_ms / 1000 + NTP_UNIX_OFFSET_S, 1.0)
    return (int(seconds) << 32) | int(fraction * (1 << 32))


class AvSync:
    def __init__(self, slew_ms_per_frame: float = 4.0,
                 wall_clock: Callable[[], float] = lambda: time.time() * 1000,
                 audio_lead_ms: float = 0.0) -> None:
        self.wall_clock = wall_clock
        self.audio_lead_ms = audio_lead_ms
        """How long before the frames of its time the audio leaves (see the module)."""
        self.audio_delay_ms = 0.0
        """Latest audio delay: when a sample plays minus its capture time."""
        self._applied_ms = 0.0
        self._slew_ms = slew_ms_per_frame
        self._render_lag_ms = 0.0
        self._last_frame_at_ms: float | None = None

    def note_audio(self, capture_ms: float, played_at_ms: float) -> None:
        """Queued audio captured at ``capture_ms`` goes out at ``played_at_ms``."""
        if plausible(capture_ms, played_at_ms):
            self.audio_delay_ms = played_at_ms - capture_ms

    def video_time_ms(self, capture_ms: float) -> float:
        """When (wall clock, Unix ms) a frame captured at ``capture_ms`` should be shown."""
        now = self.wall_clock()
        if not plausible(capture_ms, now):
            capture_ms = now
        step = self.audio_delay_ms - self._applied_ms
        self._applied_ms += max(-self._slew_ms, min(self._slew_ms, step))
        return capture_ms + self._applied_ms

    def note_frame(self, capture_ms: float) -> float:
        """A frame captured at ``capture_ms`` is pushed now: note how far behind the renderer
        is; return when the frame should leave: ``audio_lead_ms`` after the audio of that
        capture time plays, at the current audio delay (wall clock, Unix ms; now for an
        implausible stamp)."""
        now = self.wall_clock()
        if not plausible(capture_ms, now):
            return now
        self._note_render_lag(now - capture_ms, now)
        return capture_ms + self.audio_delay_ms + self.audio_lead_ms

    def render_lag_ms(self) -> float:
        """How far (smoothed) the latest frames went out behind their capture time."""
        last = self._last_frame_at_ms
        if last is None or self.wall_clock() - last > RENDER_LAG_STALE_MS:
            return 0.0
        return self._render_lag_ms

    def speech_hold_ms(self) -> float:
        """How long a new utterance waits after its capture time: until ``audio_lead_ms``
        before the renderer's frames of its time go out."""
        return max(0.0, self.render_lag_ms() - self.audio_lead_ms)

    def _note_render_lag(self, lag_ms: float, now: float) -> None:
        lag_ms = min(max(lag_ms, 0.0), MAX_RENDER_LAG_MS)
        if self._last_frame_at_ms is None or now - self._last_frame_at_ms > RENDER_LAG_STALE_MS:
            self._render_lag_ms = lag_ms
        else:
            self._render_lag_ms += RENDER_LAG_SMOOTHING * (lag_ms - self._render_lag_ms)
        self._last_frame_at_ms = now
