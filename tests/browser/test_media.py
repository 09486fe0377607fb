"""What a person sees and hears in Chromium: the pushed picture at its rate, the pushed tone."""

from __future__ import annotations

from avatar_streaming import StreamingSystem
from tests.browser.conftest import (
    ARTIFACTS,
    LaunchBrowser,
    open_page,
    record_figures,
    wait_state,
)
from tests.browser.probes import AUDIO_PITCH, AUDIO_STATS, QUADRANT_PIXELS, VIDEO_RATE
from tests.conftest import MakeSystem, page_url
from tests.feeds import feeding_frames, feeding_tone
from tests.signals import QUADRANT_COLOURS, colours_match, quadrants


async def test_video_plays_at_the_pushed_rate_size_and_colours(
        make_system: MakeSystem, launch_browser: LaunchBrowser) -> None:
    system: StreamingSystem = await make_system()
    browser = await launch_browser()
    async with feeding_frames(system, quadrants()), feeding_tone(system, 440.0):
        page = await open_page(browser, page_url(system))
        await wait_state(page, "connected")
        await page.wait_for_function(
            "() => document.getElementById('video').videoWidth > 0", timeout=10_000)
        video = await page.evaluate(VIDEO_RATE, 5)
        pixels = [tuple(p) for p in await page.evaluate(QUADRANT_PIXELS)]
        (ARTIFACTS / "browser").mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "browser" / "page-mid-stream.png"))
        shown = await page.inner_text("#stats")
    record_figures("video", {**video, "quadrants": pixels})
    assert video["fps"] >= 27, f"expected >= 27 fps for 5 s, got {video['fps']:.1f}"
    assert (video["width"], video["height"]) == (512, 512)
    assert video["codec"] == "video/VP8"
    assert colours_match(pixels, QUADRANT_COLOURS), f"expected {QUADRANT_COLOURS}, got {pixels}"
    assert "512" in shown, f"expected the page to show the resolution, got {shown!r}"


async def test_audio_plays_with_the_pushed_pitch(make_system: MakeSystem,
                                                 launch_browser: LaunchBrowser) -> None:
    system = await make_system()
    browser = await launch_browser()
    async with feeding_frames(system, quadrants()), feeding_tone(system, 440.0, rate=24000):
        page = await open_page(browser, page_url(system))
        await wait_state(page, "connected")
        pitch = await page.evaluate(AUDIO_PITCH, 3)
        stats = await page.evaluate(AUDIO_STATS)
    record_figures("audio", {"pitchHz": pitch, **stats})
    assert stats["packets"] > 100 and stats["energy"] > 0, f"expected audio to play, got {stats}"
    assert abs(pitch - 440) < 5, f"expected a 440 Hz tone, got {pitch:.1f} Hz"
