"""Pushed media out to every peer's tracks.

``VideoFanout`` keeps the latest frame; each peer's ``VideoTrack`` sends a new
frame as soon as one is pushed and repeats the latest one when the renderer is
late, so the browser never stalls. ``AudioFanout`` plays the queued audio in
real time, one 20 ms frame per tick (silence when the queue is dry), and hands
every frame to every peer's ``AudioTrack``.

Each track builds its own ``av`` frame: aiortc's encoders stamp ``pts`` and the
picture type onto the frame they are given, in a worker thread.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .audio import FRAME_SAMPLES, TRACK_RATE, AudioQueue
from .video import solid_frame

log = logging.getLogger(__name__)

VIDEO_CLOCK_RATE = 90000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)
AUDIO_TIME_BASE = fractions.Fraction(1, TRACK_RATE)
TRACK_QUEUE_FRAMES = 10
"""Audio frames a peer may fall behind before its oldest are discarded (that peer only)."""


class VideoFanout:
    """The latest pushed frame, shared by every peer's video track."""

    def __init__(self, fps: float, width: int, height: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.frame_interval_s = 1.0 / fps
        self.clock = clock
        self.epoch = clock()
        self._latest = solid_frame(width, height).to_ndarray()
        self._seq = 0
        self._next: asyncio.Future[None] | None = None

    def publish(self, frame: av.VideoFrame) -> None:
        """Make ``frame`` (yuv420p) the latest; wake every track waiting for one."""
        self._latest = frame.to_ndarray()
        self._seq += 1
        if self._next is not None and not self._next.done():
            self._next.set_result(None)
        self._next = None

    @property
    def latest(self) -> tuple[int, np.ndarray]:
        return self._seq, self._latest

    async def wait_newer(self, seq: int, timeout_s: float) -> None:
        """Return when a frame newer than ``seq`` exists, or after ``timeout_s``."""
        if self._seq != seq or timeout_s <= 0:
            return
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._next), timeout_s)
        except TimeoutError:
            pass

    def track(self) -> VideoTrack:
        return VideoTrack(self)


class VideoTrack(MediaStreamTrack):
    """One peer's view of the shared video: new frames at once, repeats at the frame rate."""

    kind = "video"

    def __init__(self, fanout: VideoFanout) -> None:
        super().__init__()
        self._fanout = fanout
        self._seen = -1
        self._last_pts = -1
        self._last_sent_s: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        fanout = self._fanout
        if self._last_sent_s is not None:
            due = self._last_sent_s + fanout.frame_interval_s - fanout.clock()
            await fanout.wait_newer(self._seen, due)
            if self.readyState != "live":
                raise MediaStreamError
        self._seen, pixels = fanout.latest
        now = fanout.clock()
        self._last_sent_s = now
        frame = av.VideoFrame.from_ndarray(pixels, format="yuv420p")
        pts = max(int((now - fanout.epoch) * VIDEO_CLOCK_RATE), self._last_pts + 1)
        frame.pts, frame.time_base = pts, VIDEO_TIME_BASE
        self._last_pts = pts
        return frame


class AudioFanout:
    """Plays the audio queue in real time, 20 ms a tick, to every subscribed track."""

    def __init__(self, queue: AudioQueue, clock: Callable[[], float] = time.monotonic) -> None:
        self.queue = queue
        self.clock = clock
        self._tracks: set[AudioTrack] = set()
        self._task: asyncio.Task[None] | None = None
        self._frames_sent = 0
        self.on_frame: Callable[[int], None] | None = None
        """Called with the number of queued (non-silent) samples in each frame played."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="audio-fanout")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def track(self) -> AudioTrack:
        track = AudioTrack(self)
        self._tracks.add(track)
        return track

    def discard(self, track: AudioTrack) -> None:
        self._tracks.discard(track)

    async def _run(self) -> None:
        start = self.clock()
        period = FRAME_SAMPLES / TRACK_RATE
        while True:
            self.tick()
            due = start + self._frames_sent * period
            await asyncio.sleep(max(0.0, due - self.clock()))

    def tick(self) -> None:
        """Play one 20 ms frame now."""
        samples, queued = self.queue.read(FRAME_SAMPLES)
        pts = self._frames_sent * FRAME_SAMPLES
        self._frames_sent += 1
        for track in self._tracks:
            track.feed(samples, pts)
        if self.on_frame is not None:
            self.on_frame(queued)


class AudioTrack(MediaStreamTrack):
    """One peer's copy of the played audio."""

    kind = "audio"

    def __init__(self, fanout: AudioFanout) -> None:
        super().__init__()
        self._fanout = fanout
        self._frames: asyncio.Queue[tuple[np.ndarray, int]] = asyncio.Queue(TRACK_QUEUE_FRAMES)

    def feed(self, samples: np.ndarray, pts: int) -> None:
        if self._frames.full():  # this peer is not keeping up; only it loses
            self._frames.get_nowait()
        self._frames.put_nowait((samples, pts))

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        samples, pts = await self._frames.get()
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = TRACK_RATE
        frame.pts, frame.time_base = pts, AUDIO_TIME_BASE
        return frame

    def stop(self) -> None:
        self._fanout.discard(self)
        super().stop()
