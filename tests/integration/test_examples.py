"""The examples run as a user runs them, each as its own process: the Whisper listener
prints what a real peer said; the Piper speaker is heard, and understood, by one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avatar_streaming.demo.speech import resample
from tests.integration.client import RtcClient
from tests.speech import SENTENCES, SpeechTrack, needs_whisper, share_heard, speak

EXAMPLES = Path(__file__).parents[2] / "examples"


class Example:
    """One example's process and the JSON lines it prints."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, timeout_s: float = 30) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout_s)
        assert raw, "the example ended early"
        line: dict[str, Any] = json.loads(raw)
        return line

    async def until(self, event: str, timeout_s: float = 30) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while (line := await self.line()).get("event") != event:
                pass
        return line


@contextlib.asynccontextmanager
async def running(script: str, *args: str) -> AsyncIterator[Example]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / script), "--port", "0", "--seconds", "90", *args,
        stdout=asyncio.subprocess.PIPE)
    try:
        yield Example(process)
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 10)


@needs_whisper
@pytest.mark.timeout(90)
async def test_the_whisper_listener_prints_what_a_user_said() -> None:
    said = SENTENCES[0]
    async with running("whisper_listener.py") as example:
        url = (await example.until("listening"))["url"]
        client = RtcClient(url, mic=SpeechTrack(resample(speak(said), 16000, 48000), 1.0))
        try:
            await client.connect()
            started = await example.until("speech-started")
            heard = await example.until("transcript")
        finally:
            await client.close()
    assert started["peer"] == heard["peer"] == client.config["peerId"]
    assert heard["final"] and share_heard(said, heard["text"]) >= 0.7, heard


@needs_whisper
@pytest.mark.timeout(90)
async def test_the_piper_speaker_is_heard_and_understood() -> None:
    pytest.importorskip("piper", reason="needs the [piper] extra: scripts/test installs it")
    from avatar_streaming.listen import WhisperRecognizer

    said = "The red boat sails across the quiet lake every evening."
    async with running("piper_speaker.py", "--text", said) as example:
        url = (await example.until("serving"))["url"]
        client = RtcClient(url)
        try:
            await client.connect()
            audio = await client.track("audio")
            started = await example.until("playback-started")
            received = []
            finished = asyncio.create_task(example.until("playback-finished"))
            tail = 15  # 300 ms after the last sample left: it has arrived
            while tail:
                frame = await asyncio.wait_for(audio.recv(), 5)
                received.append(frame.to_ndarray().reshape(-1, 2)[:, 0])
                tail -= finished.done()
            ended = await finished
        finally:
            await client.close()
    assert ended["timestamp"] > started["timestamp"]
    pcm = resample(np.concatenate(received), 48000, 16000).astype(np.float32) / 32768
    heard = WhisperRecognizer().transcribe(pcm)
    assert share_heard(said, heard) >= 0.7, f"Piper said {said!r}; Whisper heard {heard!r}"
