"""A renderer and a synthesizer stamping one flash and one beep with the same time.

Shared by the lip-sync test and bench/lip_sync.py.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

from avatar_streaming import AudioChunk, StreamingSystem, VideoFrame
from tests.signals import tone

FRAME_MS = 1000 / 30
FLASH_EVERY = 30
"""Frames between flashes: one a second."""


def solid(value: int) -> np.ndarray:
    img = np.full((512, 512, 4), value, np.uint8)
    img[..., 3] = 255
    return img


async def flash_and_beep(system: StreamingSystem, lag_ms: float, stop: asyncio.Event,
                         ahead_ms: float = 0.0, flashes: list[float] | None = None) -> None:
    """Frames at 30 fps, frame n stamped T0 + n/30 s and pushed ``lag_ms`` after its stamp
    (a renderer running behind the speech); every 30th frame is white, and a 100 ms beep
    stamped with that frame's time is pushed ``ahead_ms`` before that time, as a
    synthesizer would (0: at that time). ``flashes`` gets each white frame's stamp as it is
    pushed."""
    dark, white, beep = solid(20), solid(255), tone(1000.0, 0.1, 48000)
    wall0, mono0 = time.time() * 1000 + FRAME_MS, time.monotonic() + FRAME_MS / 1000
    n, next_beep = 0, FLASH_EVERY
    while not stop.is_set():
        now_ms = wall0 + n * FRAME_MS
        while (flash_ms := wall0 + next_beep * FRAME_MS - lag_ms) <= now_ms + ahead_ms:
            await system.bridge.push_audio_chunk(AudioChunk(beep.tobytes(), 48000, 1, flash_ms))
            next_beep += FLASH_EVERY
        stamp = now_ms - lag_ms
        is_flash = n >= FLASH_EVERY and n % FLASH_EVERY == 0
        if is_flash and flashes is not None:
            flashes.append(stamp)
        await system.bridge.push_video_frame(VideoFrame(white if is_flash else dark,
                                                        512, 512, stamp))
        n += 1
        await asyncio.sleep(max(0.0, mono0 + n * FRAME_MS / 1000 - time.monotonic()))


def pair_onsets(beeps: list[float], flashes: list[float]) -> list[tuple[float, float]]:
    """(flash time, audio - video in ms) for each beep with the flash nearest it (< 500 ms)."""
    pairs = []
    for beep in beeps:
        nearest = min(flashes, key=lambda f: abs(f - beep), default=None)
        if nearest is not None and abs(nearest - beep) < 500:
            pairs.append((nearest, beep - nearest))
    return pairs
