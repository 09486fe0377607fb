"""Lip sync as a viewer sees it: a flash and a beep stamped with the same time are shown and
heard together, also when the renderer runs behind the speech."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from avatar_streaming import AudioChunk, StreamingSystem, VideoFrame
from tests.browser.conftest import LaunchBrowser, open_page, record_figures, wait_state
from tests.browser.probes import FLASHES_AND_BEEPS
from tests.conftest import MakeSystem, page_url
from tests.signals import tone

FLASHES = 12
SETTLED = 6
"""Chromium's A/V synchronisation converges over a few seconds; the last flashes count."""


def solid(value: int) -> np.ndarray:
    img = np.full((512, 512, 4), value, np.uint8)
    img[..., 3] = 255
    return img


async def flash_and_beep(system: StreamingSystem, lag_ms: float, stop: asyncio.Event) -> None:
    """Frames at 30 fps stamped ``lag_ms`` behind the wall clock (a renderer running behind
    the speech); once a second a beep stamped T, and the frame stamped T is white."""
    dark, white, beep = solid(20), solid(255), tone(1000.0, 0.1, 48000)
    start, n, next_flash = time.monotonic(), 0, time.time() * 1000 + 1000
    while not stop.is_set():
        now = time.time() * 1000
        if now >= next_flash and next_flash > 0:
            await system.bridge.push_audio_chunk(AudioChunk(beep.tobytes(), 48000, 1, next_flash))
            pending, next_flash = next_flash, next_flash + 1000
            flashing = True
        stamp = now - lag_ms
        is_flash = "pending" in locals() and stamp >= pending and flashing
        if is_flash:
            flashing = False
        await system.bridge.push_video_frame(
            VideoFrame(white if is_flash else dark, 512, 512, stamp))
        n += 1
        await asyncio.sleep(max(0.0, start + n / 30 - time.monotonic()))


@pytest.mark.xfail(reason="known gap: Chromium's A/V synchronisation does not yet close the "
                   "offset (measured ~35 ms audio-late with the renderer on time and ~68 ms "
                   "audio-early with it 100 ms behind); figures go to artifacts/browser",
                   strict=False)
@pytest.mark.parametrize("lag_ms", [0, 100])
async def test_flash_and_beep_with_one_timestamp_are_seen_and_heard_together(
        make_system: MakeSystem, launch_browser: LaunchBrowser, lag_ms: float) -> None:
    system = await make_system()
    browser = await launch_browser()
    page = await open_page(browser, page_url(system))
    await wait_state(page, "connected")
    stop = asyncio.Event()
    feeder = asyncio.create_task(flash_and_beep(system, lag_ms, stop))
    try:
        seen = await page.evaluate(FLASHES_AND_BEEPS, FLASHES + 1.5)
    finally:
        stop.set()
        await feeder
    offsets = pair_onsets(seen["beeps"], seen["flashes"])
    settled = offsets[-SETTLED:]
    record_figures(f"lip-sync-renderer-{lag_ms:.0f}ms-behind", {
        "audio_minus_video_ms": [round(o, 1) for o in offsets],
        "settled_p50_ms": float(np.median(np.abs(settled))) if settled else None,
        "settled_p90_ms": float(np.percentile(np.abs(settled), 90)) if settled else None})
    assert len(offsets) >= FLASHES - 2, f"expected ~{FLASHES} flash/beep pairs, got {seen}"
    worst = max(abs(o) for o in settled)
    assert worst <= 40, f"expected |audio - video| <= 40 ms once settled, got {settled}"


def pair_onsets(beeps: list[float], flashes: list[float]) -> list[float]:
    """audio - video (ms) for each beep with the flash nearest to it (within 500 ms)."""
    offsets = []
    for beep in beeps:
        nearest = min(flashes, key=lambda f: abs(f - beep), default=None)
        if nearest is not None and abs(nearest - beep) < 500:
            offsets.append(beep - nearest)
    return offsets
