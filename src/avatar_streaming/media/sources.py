"""The two clocks of the outgoing media: the latest video frame, and audio played in real time.

``VideoSource`` is what the bridge publishes pictures to: each goes to the encoder's mailbox
(mailbox.py) at once, or, pushed ahead of its audio's time, waits in the holds (holds.py)
until that audio leaves, its pixels looked after meanwhile (``HeldPixels``).
``AudioPlayout`` plays the audio queue in real time, one 20 ms frame per tick
(silence when the queue is dry), scheduled on the media clock (sync.py), and hands
each frame on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import numpy as np

from ..types import PlaybackEvent, PlaybackInterruptedEvent
from .audio import FRAME_MS, FRAME_SAMPLES, TRACK_RATE, AudioQueue
from .background import Background
from .holds import FrameHolds, HeldPixels, LoopTimer, Timer
from .mailbox import FrameMailbox
from .pixels import RING_SLOTS
from .sync import AvSync, plausible
from .video import Picture, solid_picture

log = logging.getLogger(__name__)


MAX_HOLD_MS = 5_000.0
"""A frame due further ahead than this is shown at once (its stamp is taken as wrong)."""
MIN_HOLD_MS = 5.0
"""A frame due sooner than this goes at once (about what a timer and the encoder's wake-up
cost); its RTP time tells the browser the rest."""


MAX_RATE_CHANGE = 0.1
"""While the audio's delay follows a moved target, it plays at most this much faster or
slower (100 ms a second, resampled: the pitch moves as much while it lasts; a renderer
catching up by 150 ms is followed within 2 s)."""
FOLLOW_MS = 300.0
"""The rate change is the delay's error over this (an error of 30 ms or more: the most)."""
FOLLOW_AFTER_MS = 30.0
SETTLED_MS = 5.0
"""The delay is followed once its target moved FOLLOW_AFTER_MS (less is within the jitter of
the video's lag and Chromium's own dead band: not worth a pitch change), until it is
SETTLED_MS off."""
FOLLOW_RESERVE_SAMPLES = 5 * 960
"""Faster only while 100 ms more than the frame is queued: catching up must not starve the
audio of a synthesizer that pushes in real time."""


def _resampled(samples: np.ndarray, count: int) -> np.ndarray:
    """``samples`` stretched or squeezed to ``count`` samples (linear interpolation)."""
    at = np.linspace(0, samples.size - 1, count)
    return np.interp(at, np.arange(samples.size), samples.astype(np.float64)).astype(np.int16)


class VideoSource:
    """The pictures the bridge publishes: shown at once, or held until their audio plays.

    ``timer`` (the event loop's, on ``sync``'s wall clock, by default) is what the holds wait
    on; ``ring_slots`` is the size of the ring the pushed pixels were copied into.
    """

    def __init__(self, width: int, height: int, sync: AvSync | None = None, *,
                 timer: Timer | None = None, ring_slots: int = RING_SLOTS) -> None:
        self.sync = sync or AvSync()
        self.mailbox = FrameMailbox(solid_picture(width, height))
        """What the encoder reads."""
        self._pixels = HeldPixels(ring_slots)
        self._holds = FrameHolds(self.mailbox.show, timer or LoopTimer(self.sync.wall_clock),
                                 left=self._pixels.left)

    def publish(self, picture: Picture) -> None:
        """Show ``picture`` now, or hold it until the audio of its capture time plays."""
        self._pixels.pushed()
        if picture.timestamp_ms is None:
            self.mailbox.show(picture)
            return
        due_ms = self.sync.note_frame(picture.timestamp_ms)  # when its audio leaves
        ahead_ms = due_ms - self.sync.wall_clock()
        if ahead_ms <= MIN_HOLD_MS or ahead_ms > MAX_HOLD_MS:
            self.mailbox.show(picture)
            return
        self._pixels.held(picture)
        self._holds.hold(due_ms, picture)

    def drop_held(self) -> int:
        """Drop the frames waiting for their audio (barge-in); return how many."""
        self._pixels.forget()
        return len(self._holds.drop())

    @property
    def held(self) -> int:
        return len(self._holds)


class AudioPlayout:
    """Plays the audio queue in real time, 20 ms a tick, to ``on_frame``.

    It also knows where speech stands: "playback-started" when queued audio
    starts to play after silence, "playback-finished" when the queue runs dry,
    "playback-interrupted" when ``interrupt`` drops what was queued; each is
    reported to ``on_event`` with its payload.
    """

    def __init__(self, queue: AudioQueue, on_frame: Callable[[np.ndarray, int], None],
                 on_event: Callable[[str, object], None] = lambda name, payload: None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = lambda: time.time() * 1000,
                 sync: AvSync | None = None) -> None:
        self.queue = queue
        self.sync = sync or AvSync(wall_clock=wall_clock)
        self.sync.queued_head = lambda: self.queue.head_timestamp_ms
        self.clock = clock
        self.wall_clock = wall_clock
        self._on_frame = on_frame
        self._on_event = on_event
        self._loop = Background("audio-playout", self._run)
        self.frames_played = 0
        self.playing = False
        self._played_until_ms: float | None = None
        self._following = False
        self._anchor_ms = 0.0
        """The target delay the playing utterance started with (or last settled on)."""

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _run(self) -> None:
        start = self.clock()
        period = FRAME_SAMPLES / TRACK_RATE
        while True:
            try:
                self.tick()
            except Exception:  # one bad frame must not end the audio for everyone
                log.exception("audio playout failed to play a frame")
            due = start + self.frames_played * period
            await asyncio.sleep(max(0.0, due - self.clock()))

    def tick(self) -> None:
        """Play one 20 ms frame now: samples (mono int16 at 48 kHz) and their position."""
        position = self.frames_played * FRAME_SAMPLES
        self.frames_played += 1
        self.sync.next_audio_ms = self.wall_clock() + FRAME_MS
        silence = self._lead_in_samples()
        if silence == FRAME_SAMPLES:
            self._on_frame(np.zeros(FRAME_SAMPLES, np.int16), position)
            return
        taken = FRAME_SAMPLES - silence if silence else self._samples_to_take()
        read = self.queue.read(taken)
        if silence:
            samples = np.concatenate((np.zeros(silence, np.int16), read.samples))
        elif taken != FRAME_SAMPLES:
            samples = _resampled(read.samples, FRAME_SAMPLES)
        else:
            samples = read.samples
        self._on_frame(samples, position)
        starts_at = self.wall_clock() + silence * 1000 / TRACK_RATE
        if read.queued and not self.playing:
            self.playing = self.sync.speaking = True
            self._anchor_ms, self._following = self.sync.target_delay_ms(), False
            self._on_event("playback-started", PlaybackEvent(
                timestamp=read.first_timestamp_ms or 0.0, at=starts_at))
        if read.queued:
            self._played_until_ms = read.last_timestamp_ms
            if read.first_timestamp_ms is not None:
                self.sync.note_audio(read.first_timestamp_ms, starts_at)
        if self.playing and len(self.queue) == 0:
            self.playing = self.sync.speaking = False
            played_ms = read.queued * (FRAME_SAMPLES - silence) / taken * 1000 / TRACK_RATE
            self._on_event("playback-finished", PlaybackEvent(
                timestamp=self._played_until_ms or 0.0, at=starts_at + played_ms))

    def _lead_in_samples(self) -> int:
        """The silence this frame starts with: all of it while a new utterance waits for
        its time on the media clock (its capture time plus the target delay, sync.py);
        when it starts within the frame, what comes before its start (to the sample)."""
        head = self.queue.head_timestamp_ms
        if self.playing or head is None:
            return 0
        now = self.wall_clock()
        if not plausible(head, now):
            return 0
        wait_ms = head + self.sync.target_delay_ms() - now
        return round(min(max(wait_ms, 0.0), FRAME_MS) * TRACK_RATE / 1000)

    def _samples_to_take(self) -> int:
        """How many queued samples this frame plays: FRAME_SAMPLES, or up to
        MAX_RATE_CHANGE more or fewer while the audio's delay follows a target that moved
        since the utterance started (a renderer catching up or falling behind). An
        utterance that started off its target (pushed late) keeps its offset."""
        head = self.queue.head_timestamp_ms
        now = self.wall_clock()
        if head is None or not plausible(head, now):
            return FRAME_SAMPLES
        target = self.sync.target_delay_ms()
        if not self.playing:  # it starts now, at whatever delay it can have
            return FRAME_SAMPLES
        if not self._following:
            if abs(target - self._anchor_ms) <= FOLLOW_AFTER_MS:
                return FRAME_SAMPLES
            self._following = True
        error_ms = (now - head) - target
        if abs(error_ms) <= SETTLED_MS:
            self._anchor_ms, self._following = target, False
            return FRAME_SAMPLES
        rate = min(max(error_ms / FOLLOW_MS, -MAX_RATE_CHANGE), MAX_RATE_CHANGE)
        taken = round(FRAME_SAMPLES * (1 + rate))
        if len(self.queue) < taken + (FOLLOW_RESERVE_SAMPLES if rate > 0 else 0):
            return FRAME_SAMPLES  # never faster than the queue can keep up with
        return taken

    def interrupt(self, dropped_frames: int = 0) -> PlaybackInterruptedEvent:
        """Drop everything queued; the next frame played is silence.

        ``dropped_frames``: how many video frames waiting for that audio were dropped.
        """
        dropped = self.queue.clear()
        event = PlaybackInterruptedEvent(dropped_ms=dropped * 1000 / TRACK_RATE,
                                         timestamp=self._played_until_ms, at=self.wall_clock(),
                                         dropped_frames=dropped_frames)
        self.playing = self.sync.speaking = False
        self._on_event("playback-interrupted", event)
        return event
