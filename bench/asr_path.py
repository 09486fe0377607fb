"""Does the trip to the server cost Whisper words? The same sentences transcribed straight
from their WAV and after the whole path: Chromium's microphone, Opus, our decoder and
resampler, the listener's endpointing.

How: each sentence is spoken by espeak-ng (en-us, 150 words a minute), transcribed by
Whisper tiny.en from the 16 kHz samples directly, then played into the shipped page by
Chromium's fake microphone (``--use-file-for-fake-audio-capture``, in a network namespace
with only loopback when run as root) and transcribed from what "incoming-audio" brought,
endpointed by ``Listener`` as an application would. Word error rate: word-level edit
distance over the sentence's word count, after lower-casing and dropping punctuation.

    .venv/bin/python bench/asr_path.py [--sentences 5]        # about 60 s

Prints one JSON object: per sentence both transcripts and word errors, and the totals.
Target: the trip adds at most one word error per 10-word sentence.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).parents[1]))
from _netns import in_netns, reexec_in_netns

from avatar_streaming import create_streaming_system
from avatar_streaming.listen import Listener, WhisperRecognizer
from avatar_streaming.types import TranscriptEvent
from tests.browser.conftest import CHROMIUM_FLAGS
from tests.speech import SENTENCES, speak, write_wav

log = logging.getLogger("bench.asr_path")
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
MORE_SENTENCES = (
    "The children played football in the garden until it was dark",
    "She bought fresh bread and cheese at the market this morning",
)
LEAD_S = 1.5
RATE = 48000


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_errors(reference: str, hypothesis: str) -> int:
    """Substitutions, insertions and deletions between the two word sequences."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1]


async def through_the_browser(text: str, recognizer: WhisperRecognizer,
                              folder: Path) -> str:
    """What the listener heard of ``text`` said into the page's microphone."""
    speech = speak(text, RATE)
    wav = write_wav(folder / "said.wav", np.concatenate(
        [np.zeros(int(LEAD_S * RATE), np.int16), speech, np.zeros(2 * RATE, np.int16)]), RATE)
    config = {"webrtc": {"signalingPort": 0, "iceServers": [],
                         "iceHostAddresses": ["127.0.0.1"]}}
    async with await create_streaming_system(config) as system:
        await system.start()
        heard: asyncio.Future[TranscriptEvent] = asyncio.get_running_loop().create_future()
        async with Listener(recognizer).attach(system, captions=False) as listener:
            listener.on("transcript", lambda e: heard.done() or heard.set_result(e))
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}%noloop"])
                try:
                    page = await browser.new_page()
                    await page.goto(f"http://127.0.0.1:{system.server.port}/")
                    event = await asyncio.wait_for(heard, LEAD_S + len(speech) / RATE + 20)
                finally:
                    await browser.close()
    return event.text


async def run(count: int) -> dict[str, Any]:
    recognizer = await asyncio.to_thread(WhisperRecognizer)
    sentences = [*SENTENCES, *MORE_SENTENCES][:count]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for text in sentences:
            direct = await asyncio.to_thread(
                recognizer.transcribe, speak(text, 16000).astype(np.float32) / 32768)
            trip = await through_the_browser(text, recognizer, Path(folder))
            rows.append({"said": text, "words": len(words(text)),
                         "direct": direct, "directErrors": word_errors(text, direct),
                         "browser": trip, "browserErrors": word_errors(text, trip)})
            log.info("%s", rows[-1])
    total_words = sum(r["words"] for r in rows)
    direct_errors = sum(r["directErrors"] for r in rows)
    browser_errors = sum(r["browserErrors"] for r in rows)
    return {"bench": "asr_path", "netns": in_netns(), "model": "whisper tiny.en int8, beam 5",
            "voice": "espeak-ng en-us 150 wpm", "sentences": rows, "words": total_words,
            "directWer": round(direct_errors / total_words, 3),
            "browserWer": round(browser_errors / total_words, 3),
            "addedErrorsPerSentenceMax": max(r["browserErrors"] - r["directErrors"]
                                             for r in rows),
            "target": "the trip adds at most 1 word error per 10-word sentence"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=5,
                        help=f"how many (at most {len(SENTENCES) + len(MORE_SENTENCES)})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    reexec_in_netns(str(Path(__file__).resolve()), argv)
    print(json.dumps(asyncio.run(run(args.sentences)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
