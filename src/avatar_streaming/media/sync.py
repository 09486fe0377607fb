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
"""

from __future__ import annotations

import time
from collections.abc import Callable

NTP_UNIX_OFFSET_S = 2_208_988_800
MAX_CLOCK_SKEW_MS = 10_000.0
"""A capture time further than this from now is taken as wrong; the push time stands in."""


def ntp_from_unix_ms(unix_ms: float) -> int:
    """64-bit NTP time (RFC 3550 sender reports) of a Unix time in milliseconds."""
    seconds, fraction = divmod(unix_ms / 1000 + NTP_UNIX_OFFSET_S, 1.0)
    return (int(seconds) << 32) | int(fraction * (1 << 32))


class AvSync:
    def __init__(self, slew_ms_per_frame: float = 4.0,
                 wall_clock: Callable[[], float] = lambda: time.time() * 1000) -> None:
        self.wall_clock = wall_clock
        self.audio_delay_ms = 0.0
        """Latest audio delay: when a sample plays minus its capture time."""
        self._applied_ms = 0.0
        self._slew_ms = slew_ms_per_frame

    def note_audio(self, capture_ms: float, played_at_ms: float) -> None:
        """Queued audio captured at ``capture_ms`` goes out at ``played_at_ms``."""
        if abs(played_at_ms - capture_ms) <= MAX_CLOCK_SKEW_MS:
            self.audio_delay_ms = played_at_ms - capture_ms

    def video_time_ms(self, capture_ms: float) -> float:
        """When (wall clock, Unix ms) a frame captured at ``capture_ms`` should be shown."""
        now = self.wall_clock()
        if abs(now - capture_ms) > MAX_CLOCK_SKEW_MS:
            capture_ms = now
        step = self.audio_delay_ms - self._applied_ms
        self._applied_ms += max(-self._slew_ms, min(self._slew_ms, step))
        return capture_ms + self._applied_ms
