"""Rooms do not interfere: a bursting renderer, a lossy viewer and a slow recognizer in
three rooms leave a fourth room at its frame rate.

Loose on purpose (this machine is shared); bench/rooms.py --burst measures it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from avatar_streaming import AudioChunk, Room, VideoFrame
from tests.conftest import MakeSystem, ws_url
from tests.feeds import feeding_frames
from tests.integration.client import RtcClient, note_frames
from tests.integration.test_lossy import connect_through_relay, feed_busy_picture
from tests.signals import ToneTrack, first_quadrant_frame, quadrants


@contextlib.asynccontextmanager
async def bursting(room: Room) -> AsyncIterator[None]:
    """A renderer that delivers a second's worth of frames at once, once a second."""
    image = quadrants()

    async def burst() -> None:
        while True:
            for _ in range(30):
                await room.bridge.push_video_frame(
                    VideoFrame(image, 512, 512, time.time() * 1000))
            await asyncio.sleep(1.0)

    task = asyncio.create_task(burst())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class SlowRecognizer:
    """Takes twice a chunk's duration of its own thread for each chunk it hears: it falls
    further behind the longer the user talks, as an overloaded Whisper would."""

    def __init__(self) -> None:
        self.chunks: queue.Queue[AudioChunk | None] = queue.Queue()
        self.heard = 0
        self._thread = threading.Thread(target=self._work, name="slow-recognizer")
        self._thread.start()

    def hear(self, chunk: AudioChunk) -> None:
        self.chunks.put(chunk)

    def _work(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            time.sleep(2 * memoryview(chunk.data).nbytes / 2 / chunk.sample_rate / chunk.channels)
            self.heard += 1

    def stop(self) -> None:
        while not self.chunks.empty():
            self.chunks.get_nowait()
        self.chunks.put(None)
        self._thread.join()


def frame_rate(arrivals: list[float], since: float) -> tuple[float, float]:
    """Frames a second after ``since``, and the longest gap between two of them (s)."""
    times = [t for t in arrivals if t >= since]
    span = time.monotonic() - since
    gaps = np.diff([since, *times, time.monotonic()])
    return len(times) / span, float(gaps.max())


@pytest.mark.timeout(90)
async def test_a_bursting_a_lossy_and_a_slow_room_leave_another_room_at_its_frame_rate(
        make_system: MakeSystem) -> None:
    system = await make_system({"rooms": {"maxRooms": 8}})
    steady = await system.open_room("steady")
    burst, lossy, slow = [await system.open_room(n) for n in ("burst", "lossy", "slow")]
    recognizer = SlowRecognizer()
    slow.bridge.on("incoming-audio", recognizer.hear)
    arrivals: list[float] = []
    viewers: list[RtcClient] = []
    stop_busy = asyncio.Event()
    try:
        async with feeding_frames(steady, quadrants()):
            steady_viewer = RtcClient(f"{ws_url(system)}?room=steady")
            viewers.append(steady_viewer)
            await steady_viewer.connect()
            video = await steady_viewer.track("video")
            await first_quadrant_frame(video)
            counting = asyncio.create_task(note_frames(video, arrivals))
            await asyncio.sleep(0.5)
            alone_since = time.monotonic()
            await asyncio.sleep(3.0)
            alone_fps, alone_gap = frame_rate(arrivals, alone_since)

            busy = asyncio.create_task(feed_busy_picture(lossy, stop_busy))
            async with bursting(burst), feeding_frames(slow, quadrants()):
                burst_viewer = RtcClient(f"{ws_url(system)}?room=burst")
                talker = RtcClient(f"{ws_url(system)}?room=slow", mic=ToneTrack(300.0))
                viewers += [burst_viewer, talker]
                await burst_viewer.connect()
                await talker.connect()
                relay, pc, signaling, tracks = await connect_through_relay(
                    system, f"{ws_url(system)}?room=lossy")
                await asyncio.wait_for(tracks["video"].recv(), 10)  # type: ignore[attr-defined]
                relay.loss, relay.delay_s = 0.10, 0.05
                burst_arrivals: list[float] = []
                noting_burst = asyncio.create_task(
                    note_frames(await burst_viewer.track("video"), burst_arrivals))
                await asyncio.sleep(1.0)
                shared_since = time.monotonic()
                await asyncio.sleep(4.0)
                shared_fps, shared_gap = frame_rate(arrivals, shared_since)
                burst_fps, _ = frame_rate(burst_arrivals, shared_since)
                behind = recognizer.chunks.qsize()
                stop_busy.set()
                await busy
                noting_burst.cancel()
                relay.delay_s = 0.0
                await asyncio.sleep(0.1)  # what the link still held is delivered
                await pc.close()
                await signaling.close()
                relay.close()
            counting.cancel()
    finally:
        stop_busy.set()
        for viewer in viewers:
            await viewer.close()
        recognizer.stop()

    stream = lossy.video_stream
    print(f"\nsteady room alone: {alone_fps:.1f} fps (longest gap {alone_gap * 1000:.0f} ms); "
          f"beside the others: {shared_fps:.1f} fps (longest gap {shared_gap * 1000:.0f} ms); "
          f"burst room {burst_fps:.1f} fps; lossy link dropped {relay.dropped} packets, "
          f"{stream.nacks_received} NACKs, {stream.keyframe_requests_received} PLI/FIR; "
          f"the recognizer heard {recognizer.heard} chunks, {behind} behind")
    # The disturbances were real ...
    assert relay.dropped >= 20, f"expected the lossy link to drop packets: {relay.dropped}"
    assert stream.nacks_received + stream.keyframe_requests_received > 0, \
        "expected the lossy room's viewer to ask for repairs"
    assert burst_fps >= 5, f"expected the burst room to stream, got {burst_fps:.1f} fps"
    assert recognizer.heard > 0 and behind >= 5, \
        "expected the recognizer to hear the talker and fall behind"
    # ... and the steady room kept its rate.
    assert shared_fps >= 25 and shared_fps >= 0.85 * alone_fps, \
        f"expected the steady room near its {alone_fps:.1f} fps, got {shared_fps:.1f}"
    assert shared_gap <= 0.25, f"expected no stall over 250 ms, got {shared_gap * 1000:.0f} ms"
