"""Playwright helpers: open a viewer page, wait for it, read its clock, record a window."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from playwright.async_api import Browser, Page
from playwright.async_api import Error as PlaywrightError

from .figures import stat_deltas
from .page_js import INBOUND_STATS, INIT_SCRIPT, UNSYNC_AUDIO_SCRIPT, Samples

log = logging.getLogger(__name__)


async def open_viewer(browser: Browser, url: str, unsync_audio: bool = False) -> Page:
    """A new page on the shipped client, with the timing script (and, for the A/B, the
    script that takes its audio out of the video's sync group) installed first."""
    page = await browser.new_page(viewport={"width": 1100, "height": 900})
    page.on("pageerror", lambda exc: log.warning("page error: %s", exc))
    if unsync_audio:
        await page.add_init_script(UNSYNC_AUDIO_SCRIPT)
    await page.add_init_script(INIT_SCRIPT)
    await page.goto(url)
    return page


async def wait_connected(page: Page, timeout_s: float = 30) -> None:
    """Until the page's client says its peer connection is up."""
    await page.wait_for_function(
        "window.avatarClient && window.avatarClient.state === 'connected'",
        timeout=timeout_s * 1000)


async def close_quietly(what: Page | Browser, limit_s: float = 10) -> None:
    """Close a page or the browser; an overloaded or crashed one must not hang the run."""
    try:
        async with asyncio.timeout(limit_s):
            await what.close()
    except (TimeoutError, PlaywrightError) as exc:
        log.warning("closing %s: %r", type(what).__name__, exc)


async def clock_offset_ms(page: Page) -> tuple[float, float]:
    """Browser Unix ms minus Python Unix ms, and its uncertainty (best of 5 reads)."""
    best = (0.0, math.inf)
    for _ in range(5):
        before = time.time() * 1000
        browser_now = await page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        if (after - before) / 2 < best[1]:
            best = (browser_now - (before + after) / 2, (after - before) / 2)
    return best


async def set_recording(pages: list[Page], on: bool) -> None:
    """Start (clearing what came before) or stop every page's per-frame records."""
    script = "on => { window.__g2g.recording = on; if (on) window.__g2g.samples = []; }"
    await asyncio.gather(*(p.evaluate(script, on) for p in pages))


async def collect(pages: list[Page], seconds: float) -> tuple[list[Samples], list[dict[str, Any]]]:
    """Record every page for ``seconds``; each page's samples and its getStats figures."""
    before = await asyncio.gather(*(p.evaluate(INBOUND_STATS) for p in pages))
    await set_recording(pages, True)
    await asyncio.sleep(seconds)
    await set_recording(pages, False)
    after = await asyncio.gather(*(p.evaluate(INBOUND_STATS) for p in pages))
    samples = await asyncio.gather(*(p.evaluate("window.__g2g.samples") for p in pages))
    return list(samples), [stat_deltas(a, b) for a, b in zip(before, after, strict=True)]
