"""Feeding a running system the way a renderer and a synthesizer would."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Protocol

import numpy as np

from avatar_streaming import AudioChunk, MediaBridge, VideoFrame
from tests.signals import tone


class HasBridge(Protocol):
    """A system (its default room's bridge) or a room."""

    @property
    def bridge(self) -> MediaBridge: ...


@contextlib.asynccontextmanager
async def feeding_frames(system: HasBridge, image: np.ndarray,
                         fps: float = 30) -> AsyncIterator[None]:
    """Push ``image`` at ``fps`` on a fixed schedule for the duration of the block."""
    async def push() -> None:
        start, n = time.monotonic(), 0
        while True:
            await system.bridge.push_video_frame(
                VideoFrame(image, image.shape[1], image.shape[0], time.time() * 1000))
            n += 1
            await asyncio.sleep(max(0.0, start + n / fps - time.monotonic()))

    async with _running(push()):
        yield


@contextlib.asynccontextmanager
async def feeding_tone(system: HasBridge, freq_hz: float, rate: int = 16000,
                       ahead_s: float = 0.3) -> AsyncIterator[None]:
    """Keep a continuous tone queued ``ahead_s`` ahead of playback, in 100 ms chunks."""
    chunk = tone(freq_hz, 0.1, rate)  # 0.1 s holds a whole number of cycles for round freqs

    async def push() -> None:
        start, pushed = time.monotonic(), 0.0
        while True:
            while pushed < time.monotonic() - start + ahead_s:
                await system.bridge.push_audio_chunk(
                    AudioChunk(chunk.tobytes(), rate, 1, time.time() * 1000))
                pushed += 0.1
            await asyncio.sleep(0.05)

    async with _running(push()):
        yield


@contextlib.asynccontextmanager
async def _running(coro: object) -> AsyncIterator[None]:
    task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
