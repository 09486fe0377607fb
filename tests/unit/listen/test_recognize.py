"""The recognizer runs in a thread of its own: its failures and hangs come back as clear
errors within the timeout, and the event loop keeps turning meanwhile."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from avatar_streaming.listen import RecognitionError, RecognizerRunner

SAMPLES = np.zeros(16000, np.float32)


class Counting:
    def __init__(self) -> None:
        self.threads: set[str] = set()

    def transcribe(self, samples: np.ndarray) -> str:
        self.threads.add(threading.current_thread().name)
        return f"{len(samples)} samples"


class Raising:
    def transcribe(self, samples: np.ndarray) -> str:
        raise OSError("model file unreadable")


class Hanging:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def transcribe(self, samples: np.ndarray) -> str:
        self.calls += 1
        self.release.wait(10)
        return "late"


async def test_the_transcript_comes_from_another_thread() -> None:
    recognizer = Counting()
    assert await RecognizerRunner(recognizer).transcribe(SAMPLES) == "16000 samples"
    assert recognizer.threads == {"recognizer"}


async def test_a_recognizer_that_raises_is_reported_with_its_error() -> None:
    with pytest.raises(RecognitionError, match="recognizer failed: OSError: model file"):
        await RecognizerRunner(Raising()).transcribe(SAMPLES)


async def test_a_hung_recognizer_times_out_and_is_refused_once_stuck() -> None:
    recognizer = Hanging()
    runner = RecognizerRunner(recognizer, timeout_s=0.2, max_stuck=2)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    for _ in range(2):
        with pytest.raises(RecognitionError, match=r"expected a transcript within 0\.2 s"):
            await runner.transcribe(SAMPLES)
    assert time.monotonic() - started < 5.0, "each call gave up at its timeout"
    assert ticks >= 10, "the event loop kept turning while the recognizer hung"
    with pytest.raises(RecognitionError, match=r"recognizer stuck: .* 2 are still running"):
        await runner.transcribe(SAMPLES)
    assert recognizer.calls == 2, "no third thread was started into a stuck recognizer"
    recognizer.release.set()
    assert await runner.drain(5) == 0, "the hung calls' threads end once they return"
    await asyncio.sleep(0)  # the late results settle
    assert runner.stuck == 0
    assert await runner.transcribe(SAMPLES) == "late"
    ticker.cancel()
