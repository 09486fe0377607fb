"""Chromium (Debian's, driven by Playwright) against the shipped page and a real system.

Run inside a network namespace that has only loopback (scripts/test does this as
root with ``unshare -n``), so Chromium and the server can pair nothing but 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

ARTIFACTS = Path(os.environ.get("AVATAR_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]

LaunchBrowser = Callable[..., Coroutine[Any, Any, Browser]]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is required for the browser tests: apt-get install chromium "
                    "(scripts/test installs it)")
    return path


@pytest.fixture
async def launch_browser() -> AsyncIterator[LaunchBrowser]:
    """Launch Chromium; ``mic_wav`` makes its fake microphone play that file once."""
    playwright = await async_playwright().start()
    browsers: list[Browser] = []

    async def launch(mic_wav: Path | None = None, extra_flags: tuple[str, ...] = ()) -> Browser:
        flags = [*CHROMIUM_FLAGS, *extra_flags]
        if mic_wav is not None:
            flags.append(f"--use-file-for-fake-audio-capture={mic_wav}%noloop")
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=flags)
        browsers.append(browser)
        return browser

    yield launch
    for browser in browsers:
        await browser.close()
    await playwright.stop()


async def open_page(browser: Browser, url: str) -> Page:
    page = await browser.new_page(viewport={"width": 1100, "height": 900})
    page.on("pageerror", lambda exc: print(f"page error: {exc}"))
    await page.goto(url)
    return page


async def wait_state(page: Page, state: str, timeout_s: float = 15) -> None:
    await page.wait_for_function(
        "state => window.avatarClient && window.avatarClient.state === state", arg=state,
        timeout=timeout_s * 1000)


def record_figures(name: str, figures: dict[str, Any]) -> None:
    """Keep what a test measured in artifacts/browser/figures.json, and print it."""
    folder = ARTIFACTS / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "figures.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = figures
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    print(f"\n{name}: {json.dumps(figures)}")
