"""Talking to the demo from Chromium: the fake microphone says a sentence, Whisper hears
it, the page shows it as the user's caption, and the avatar answers aloud and in a
caption of its own; the captions can be hidden."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import numpy as np
import pytest

from avatar_streaming import StreamingSystem
from avatar_streaming.demo.runner import run_demo
from tests.browser.conftest import LaunchBrowser, open_page, record_figures, wait_state
from tests.browser.probes import AUDIO_LEVELS
from tests.speech import SENTENCES, needs_whisper, share_heard, speak, write_wav

LEAD_S = 7.0
"""Silence before the sentence: the greeting has played by then."""
RATE = 48000

CAPTIONS = """() => Array.from(document.querySelectorAll('#captions .caption')).map(line => ({
  role: line.classList.contains('caption-user') ? 'user' : 'avatar',
  pending: line.hasAttribute('data-pending'),
  text: line.childNodes[1] ? line.childNodes[1].textContent : '',
  speaker: line.querySelector('.caption-speaker').textContent,
}))"""


@needs_whisper
@pytest.mark.timeout(120)
async def test_the_page_shows_what_whisper_heard_and_the_avatar_answers(
        launch_browser: LaunchBrowser, tmp_path: Path) -> None:
    said = SENTENCES[0]  # no keyword of the demo's rules: answered with "You said"
    speech = speak(said, RATE)
    wav = write_wav(tmp_path / "said.wav",
                    np.concatenate([np.zeros(int(LEAD_S * RATE), np.int16), speech,
                                    np.zeros(RATE * 4, np.int16)]), RATE)
    ready: asyncio.Future[StreamingSystem] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    demo = asyncio.create_task(run_demo("127.0.0.1", 0, out=io.StringIO(), stop=stop,
                                        on_ready=ready.set_result, transcribe=True))
    try:
        system = await asyncio.wait_for(ready, 20)
        browser = await launch_browser(mic_wav=wav)
        page = await open_page(browser, f"http://127.0.0.1:{system.server.port}/?room=chat")
        await wait_state(page, "connected")
        spoken_end = time.monotonic() + LEAD_S + len(speech) / RATE  # about: capture starts now
        await page.wait_for_function(
            """() => window.avatarClient.captions.some(c => c.role === 'user' && c.final
                                                             && c.text)""",
            timeout=(LEAD_S + len(speech) / RATE + 15) * 1000)
        heard_after_s = time.monotonic() - spoken_end
        lines = await page.evaluate(CAPTIONS)
        user = [line for line in lines if line["role"] == "user"]
        assert len(user) == 1 and user[0]["speaker"] == "You" and not user[0]["pending"]
        assert share_heard(said, user[0]["text"]) >= 0.7, f"heard {user[0]['text']!r}"
        assert lines[0]["role"] == "avatar" and "Hello" in lines[0]["text"], "the greeting"
        await page.wait_for_function(
            """() => Array.from(document.querySelectorAll('#captions .caption-avatar'))
                 .some(line => line.textContent.includes('You said'))""", timeout=10_000)
        levels = await page.evaluate(AUDIO_LEVELS, 2.0)
        assert max(rms for _, rms in levels) > 0.02, "expected to hear the avatar's answer"
        await page.click("#captions-toggle")
        assert await page.evaluate("document.getElementById('captions').hidden")
        assert await page.text_content("#captions-toggle") == "Show captions"
        await page.reload()
        await wait_state(page, "connected")
        assert await page.evaluate("document.getElementById('captions').hidden"), \
            "hidden stays hidden across visits"
        record_figures("captions", {"heard": user[0]["text"],
                                    "captionAfterSpeechEndS": round(heard_after_s, 2)})
        assert heard_after_s < 6, "the caption comes within a few seconds of the speech"
    finally:
        stop.set()
        await asyncio.wait_for(demo, 10)
