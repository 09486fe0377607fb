"""Lip sync: one media clock for the video and the audio RTP streams.

The media clock says, for every capture time T (the timestamps of the pushes), when the
audio of T leaves: T + D(T), D being the audio's delay. The audio plays from its queue in
real time, so its RTP timestamps and sender reports are simply the wall clock at which
each 20 ms frame leaves, and the playout notes D of every frame it plays. A video frame
of capture time T carries T + D(T) as its RTP time and in the sender reports: the delay
of the audio of T where that audio has already left, the delay of the utterance now
playing where T lies ahead in it, and otherwise the delay the next utterance will get
(the target below, or, for audio queued that cannot leave that early, with the
playout's next frame).
Both streams thus map one capture time to one instant, and the browser plays a frame and
the audio stamped with the same time together, from the first second.

Video is not held for sync: a frame leaves as soon as it is encoded, whatever its RTP
time says. The audio is scheduled instead, which it can be because it is queued early
(a synthesizer runs ahead; a renderer that runs behind the speech makes its frames of T
only after the audio of T was pushed). The playout gives the audio of T the delay

    target = video lag - audio_lead_ms

where the video lag is how long after their capture time the frames leave (the
renderer's lag plus the encode, measured at every send, smoothed). Each utterance starts
at its capture time plus that target, and while it plays, the playout follows a target
that moves (a renderer catching up) by playing up to MAX_RATE_CHANGE faster or slower,
resampled: no gap and no repeat.

``audio_lead_ms``: a browser plays audio later after it arrives than video (Chromium's
audio jitter buffer and output add some 35-40 ms more than its video path), so the audio
leaves that much before the frames of its time. Chromium's own A/V sync sees the video
as that much later on the network and leaves anything within its dead band alone.

Only a frame pushed ahead of its audio's time (a renderer running ahead of the speech,
or frames stamped in the future) waits, in VideoSource, until T + D(T).
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Callable

NTP_UNIX_OFFSET_S = 2_208_988_800
MAX_CLOCK_SKEW_MS = 10_000.0
"""A capture time further than this from now is taken as wrong; the push time stands in."""
MAX_VIDEO_LAG_MS = 1_000.0
"""Speech waits for video at most this far behind it."""
VIDEO_LAG_STALE_MS = 1_000.0
"""Without a frame sent for this long, no video is waited for."""
VIDEO_LAG_SMOOTHING = 0.1
HISTORY_FRAMES = 500
"""Audio frames whose delay is remembered: 10 s, for frames that come that late."""
AUDIO_FRAME_MS = 20.0


def plausible(capture_ms: float, now_ms: float) -> bool:
    """A capture time within MAX_CLOCK_SKEW_MS of now; further is taken as a wrong stamp."""
    return abs(now_ms - capture_ms) <= MAX_CLOCK_SKEW_MS


def ntp_from_unix_ms(unix_ms: float) -> int:
    """64-bit NTP time (RFC 3550 sender reports) of a Unix time in milliseconds."""
    seconds, fraction = divmod(unix_ms / 1000 + NTP_UNIX_OFFSET_S, 1.0)
    return (int(seconds) << 32) | int(fraction * (1 << 32))


class AvSync:
    """The media clock of one room: what the audio's delay was, is, and is to be."""

    def __init__(self, wall_clock: Callable[[], float] = lambda: time.time() * 1000,
                 audio_lead_ms: float = 0.0) -> None:
        self.wall_clock = wall_clock
        self.audio_lead_ms = audio_lead_ms
        self.audio_delay_ms = 0.0
        """Delay of the audio that left last: when it left minus its capture time."""
        self.speaking = False
        """Whether an utterance is playing (the playout says)."""
        self.next_audio_ms: float | None = None
        """When the playout's next 20 ms frame leaves (wall clock, Unix ms)."""
        self.queued_head: Callable[[], float | None] = lambda: None
        """The capture time of the next audio to play, if any is queued (the playout's)."""
        self._captures: deque[float] = deque(maxlen=HISTORY_FRAMES)
        self._delays: deque[float] = deque(maxlen=HISTORY_FRAMES)
        self._video_lag_ms = 0.0
        self._last_sent_ms: float | None = None

    # -- the audio side

    def note_audio(self, capture_ms: float, played_at_ms: float) -> None:
        """Queued audio captured at ``capture_ms`` leaves at ``played_at_ms``."""
        if not plausible(capture_ms, played_at_ms):
            return
        if self._captures and capture_ms < self._captures[-1]:
            self._captures.clear()  # a new timeline that starts earlier (after an interrupt)
            self._delays.clear()
        self._captures.append(capture_ms)
        self._delays.append(played_at_ms - capture_ms)
        self.audio_delay_ms = played_at_ms - capture_ms

    def delay_for(self, capture_ms: float) -> float:
        """D(T): how long after ``capture_ms`` the audio of that time leaves (left, or is
        to leave)."""
        captures = self._captures
        if captures and captures[0] <= capture_ms <= captures[-1] + AUDIO_FRAME_MS:
            return self._delays[bisect.bisect_right(captures, capture_ms) - 1]
        if self.speaking and captures and capture_ms > captures[-1]:
            return self.audio_delay_ms
        # The next utterance: the target, unless it is queued and cannot leave that early
        # (pushed at its own time): then with the playout's next frame.
        target = self.target_delay_ms()
        head = self.queued_head()
        if head is None or capture_ms < head - AUDIO_FRAME_MS:
            return target
        now = self.wall_clock()
        next_audio = self.next_audio_ms if self.next_audio_ms is not None else now
        return max(target, max(next_audio, now) - head)

    def target_delay_ms(self) -> float:
        """The delay to give the audio: ``audio_lead_ms`` less than the video's lag."""
        return self.video_lag_ms() - self.audio_lead_ms

    # -- the video side

    def video_time_ms(self, capture_ms: float) -> float:
        """The media time of a frame captured at ``capture_ms``: when its audio leaves."""
        now = self.wall_clock()
        if not plausible(capture_ms, now):
            capture_ms = now
        return capture_ms + self.delay_for(capture_ms)

    def note_frame(self, capture_ms: float) -> float:
        """A frame captured at ``capture_ms`` is pushed now: return its media time (when
        its audio leaves; now for an implausible stamp)."""
        now = self.wall_clock()
        if not plausible(capture_ms, now):
            return now
        return capture_ms + self.delay_for(capture_ms)

    def note_sent(self, capture_ms: float) -> None:
        """A fresh frame captured at ``capture_ms`` has just left: learn the video's lag."""
        now = self.wall_clock()
        if not plausible(capture_ms, now):
            return
        lag_ms = min(max(now - capture_ms, 0.0), MAX_VIDEO_LAG_MS)
        last = self._last_sent_ms
        if last is None or now - last > VIDEO_LAG_STALE_MS:
            self._video_lag_ms = lag_ms
        else:
            self._video_lag_ms += VIDEO_LAG_SMOOTHING * (lag_ms - self._video_lag_ms)
        self._last_sent_ms = now

    def video_lag_ms(self) -> float:
        """How far (smoothed) behind their capture time the latest frames left."""
        last = self._last_sent_ms
        if last is None or self.wall_clock() - last > VIDEO_LAG_STALE_MS:
            return 0.0
        return self._video_lag_ms
