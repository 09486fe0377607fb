"""What is pushed into the system, when, and when the server sent it on.

The video and audio feeds run in the background for the whole run; every phase reads the
same ``PushLog`` (the push time of each counter) and ``ServerLog`` (the encoder's times,
from the bridge's documented "frame-sent" diagnostics event).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field

import numpy as np

from avatar_streaming import (
    AudioChunk,
    AudioQueueFullError,
    FrameSentEvent,
    StreamingSystem,
    VideoFrame,
)
from avatar_streaming.demo.face import FaceRenderer

from .stamp import COUNTER_MOD, SIZE, stamp

log = logging.getLogger(__name__)

FPS = 30.0
AUDIO_AHEAD_S = 0.1
AUDIO_CHUNK_S = 0.02
AUDIO_RATE = 16000


@dataclass
class PushLog:
    """When each counter was pushed (Unix ms), and which converted frame carried it."""

    pushed_ms: dict[int, float] = field(default_factory=dict)
    counters: dict[float, int] = field(default_factory=dict)
    """The counter each frame carried, by its timestamp (the push time)."""
    pushes: int = 0


async def push_frames(system: StreamingSystem, pushes: PushLog, start: float) -> None:
    """Push stamped face frames at FPS on a fixed schedule until cancelled."""
    face = FaceRenderer(SIZE, SIZE)
    n = 0
    while True:
        t = time.monotonic() - start
        image = face.render(0.5 + 0.5 * math.sin(2 * math.pi * 3 * t), t)
        counter = n % COUNTER_MOD
        stamp(image, counter)
        pushed = time.time() * 1000
        await system.bridge.push_video_frame(VideoFrame(image, SIZE, SIZE, pushed))
        pushes.pushed_ms[counter] = pushed
        pushes.counters[pushed] = counter
        if len(pushes.counters) > 256:
            del pushes.counters[next(iter(pushes.counters))]
        pushes.pushes = n = n + 1
        await asyncio.sleep(max(0.0, start + n / FPS - time.monotonic()))


def tone_chunk() -> bytes:
    """AUDIO_CHUNK_S of a quiet 200 Hz tone (a whole number of cycles, so chunks join)."""
    t = np.arange(int(AUDIO_RATE * AUDIO_CHUNK_S)) / AUDIO_RATE
    return (0.05 * 32767 * np.sin(2 * np.pi * 200 * t)).astype("<i2").tobytes()


async def push_audio(system: StreamingSystem, pushes: PushLog, start: float) -> None:
    """Keep the tone AUDIO_AHEAD_S ahead of real time, as a synthesizer runs ahead (the
    system plays it in real time)."""
    chunk, pushed_s = tone_chunk(), 0.0
    while True:
        while pushed_s < time.monotonic() - start + AUDIO_AHEAD_S:
            try:
                await system.bridge.push_audio_chunk(
                    AudioChunk(chunk, AUDIO_RATE, 1, time.time() * 1000))
            except AudioQueueFullError:
                log.warning("audio queue full: the system plays slower than real time")
                break
            pushed_s += AUDIO_CHUNK_S
        await asyncio.sleep(AUDIO_CHUNK_S / 2)


@contextlib.asynccontextmanager
async def running(*coros: Awaitable[None]) -> AsyncIterator[None]:
    """Run background coroutines for the duration of the block; cancel them after."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                log.error("background task failed: %r", result)


@dataclass
class ServerLog:
    """When the shared encoder started and finished (= sent) each counter, Unix ms."""

    encoded: dict[int, tuple[float, float]] = field(default_factory=dict)
    repeats: list[float] = field(default_factory=list)
    """When a frame already sent was encoded again (Unix ms)."""
    unknown: int = 0


def instrument_encoder(system: StreamingSystem, pushes: PushLog) -> ServerLog:
    """Time each frame from its push through its encode to its last packet, with the
    bridge's documented "frame-sent" diagnostics."""
    server = ServerLog()

    def sent(event: FrameSentEvent) -> None:
        counter = None if event.timestamp is None else pushes.counters.get(event.timestamp)
        if event.repeat:
            server.repeats.append(event.encode_started_at)  # the encoder's timer beat a push
        else:
            record_encode(server, counter, event.encode_started_at, event.sent_at)

    system.bridge.on("frame-sent", sent)
    return server


def record_encode(server: ServerLog, counter: int | None, started: float, sent: float) -> None:
    """File one encode under its counter; a counter sent before counts as a repeat."""
    if counter is None:
        server.unknown += 1
    elif counter in server.encoded:
        server.repeats.append(started)  # the encoder's timer beat the next push
    else:
        server.encoded[counter] = (started, sent)
