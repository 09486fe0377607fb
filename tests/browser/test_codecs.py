"""The configured codecs are what Chromium decodes, VP9 (ours, on aiortc) among them."""

from __future__ import annotations

import pytest

from tests.browser.conftest import LaunchBrowser, open_page, record_figures, wait_state
from tests.browser.probes import AUDIO_PITCH, QUADRANT_PIXELS, VIDEO_RATE
from tests.conftest import MakeSystem, page_url
from tests.feeds import feeding_frames, feeding_tone
from tests.signals import QUADRANT_COLOURS, colours_match, quadrants

AUDIO_CODEC = """async () => {
  const stats = await window.avatarClient.pc.getStats();
  for (const r of stats.values())
    if (r.type === 'inbound-rtp' && r.kind === 'audio') return stats.get(r.codecId)?.mimeType;
  return null;
}"""


@pytest.mark.parametrize(("video_codec", "audio_codec"), [
    ("H264", "pcmu"), ("VP8", "pcma"), ("VP9", "opus"),
])
async def test_configured_codecs_are_negotiated_and_decoded(
        make_system: MakeSystem, launch_browser: LaunchBrowser, video_codec: str,
        audio_codec: str) -> None:
    system = await make_system({"videoCodec": video_codec, "audioCodec": audio_codec})
    browser = await launch_browser()
    async with feeding_frames(system, quadrants()), feeding_tone(system, 440.0):
        page = await open_page(browser, page_url(system))
        await wait_state(page, "connected")
        video = await page.evaluate(VIDEO_RATE, 2)
        audio = await page.evaluate(AUDIO_CODEC)
        pitch = await page.evaluate(AUDIO_PITCH, 2)
        pixels = [tuple(p) for p in await page.evaluate(QUADRANT_PIXELS)]
    record_figures(f"codecs-{video_codec}-{audio_codec}", {**video, "audio": audio,
                                                          "pitchHz": pitch})
    assert video["codec"] == f"video/{video_codec}"
    assert audio.lower() == f"audio/{audio_codec}"
    assert colours_match(pixels, QUADRANT_COLOURS), f"expected {QUADRANT_COLOURS}, got {pixels}"
    assert video["fps"] >= 25 and video["width"] == 512
    assert abs(pitch - 440) < 8, f"expected a 440 Hz tone through {audio_codec}, got {pitch}"
