"""Lip sync as a viewer sees it: a flash and a beep stamped with the same time are shown and
heard together when the synthesizer runs ahead of its stamps and when the renderer runs
behind the speech (the usual pipeline), and the video is not held for it."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
import pytest

from tests.browser.conftest import LaunchBrowser, open_page, record_figures, wait_state
from tests.browser.flashes import flash_and_beep, pair_onsets
from tests.browser.probes import FLASHES_AND_BEEPS, VIDEO_STATS
from tests.conftest import MakeSystem, page_url, wait_until

WATCH_S = 18.0
SETTLE_S = 6.0
"""The flashes after this count: Chromium's buffers start up in the first few, and its A/V
sync then moves its delays for a few seconds (the warm-up figures in bench/README.md)."""


@pytest.mark.parametrize(("case", "lag_ms", "ahead_ms", "p90_bound_ms"), [
    # The target is 15 ms (bench/lip_sync.py measures it); these bounds leave room for a
    # loaded CI machine (40 ms was seen in a full run) and Chromium's own corrections.
    ("tts-100ms-ahead", 0.0, 100.0, 45.0),
    ("renderer-100ms-behind", 100.0, 0.0, 45.0),
    # Speech pushed at its own time cannot leave before it, and video is not held: the
    # browser's longer audio path shows (audio 25-40 ms late in bench/lip_sync.py; plain
    # aiortc measured 0-3 ms there: bench/README.md). Bounded loosely, not at the target.
    ("both-on-time", 0.0, 0.0, 90.0),
])
async def test_flash_and_beep_with_one_timestamp_are_seen_and_heard_together(
        make_system: MakeSystem, launch_browser: LaunchBrowser, case: str, lag_ms: float,
        ahead_ms: float, p90_bound_ms: float) -> None:
    system = await make_system()
    browser = await launch_browser()
    page = await open_page(browser, page_url(system))
    await wait_state(page, "connected")
    stop = asyncio.Event()
    pushed: list[float] = []
    sent: set[float] = set()
    system.bridge.on("frame-sent", lambda event: event.repeat or sent.add(event.timestamp))
    feeder = asyncio.create_task(flash_and_beep(system, lag_ms, stop, ahead_ms, pushed))
    try:
        before = await page.evaluate(VIDEO_STATS)
        seen = await page.evaluate(FLASHES_AND_BEEPS, WATCH_S)
        after = await page.evaluate(VIDEO_STATS)
        with contextlib.suppress(AssertionError):  # the last flash may be on its way
            await wait_until(lambda: set(pushed) <= sent, 2)
    finally:
        stop.set()
        await feeder
    pairs = pair_onsets(seen["beeps"], seen["flashes"])
    start = min(seen["flashes"], default=0.0)
    settled = [offset for at, offset in pairs if at - start >= SETTLE_S * 1000]
    p90 = float(np.percentile(np.abs(settled), 90)) if settled else None
    record_figures(f"lip-sync-{case}", {
        "audio_minus_video_ms": [round(offset, 1) for _, offset in pairs],
        "settled_abs_p50_ms": float(np.median(np.abs(settled))) if settled else None,
        "settled_abs_p90_ms": p90, "flashes_sent": len(pushed),
        "flashes_seen": len(seen["flashes"]),
        "page_video": {k: round(after[k] - before[k], 3) for k in after}})
    # Every flash was sent (the wait above): one the page did not show is a frame Chromium
    # dropped, which a loaded machine does (6 of 17 were, once, in a full run).
    assert len(pushed) >= WATCH_S - 2, f"expected ~{WATCH_S:.0f} flashes pushed, got {pushed}"
    assert set(pushed) <= sent, f"flashes never sent: {sorted(set(pushed) - sent)}"
    assert len(settled) >= 8, f"expected flashes shown after {SETTLE_S} s, got {seen}"
    assert p90 is not None and p90 <= p90_bound_ms, \
        f"expected p90 of |audio - video| <= {p90_bound_ms} ms once settled, got {settled}"
