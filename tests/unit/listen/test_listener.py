"""The listener: each peer's chunks to utterances to transcripts, and what it does with
recognizers that fail or hang, speech that never pauses and peers that leave."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from avatar_streaming import AudioChunk
from avatar_streaming.demo.speech import resample
from avatar_streaming.listen import EndpointSettings, EnergyDetector, Listener
from avatar_streaming.types import SpeechStartedEvent, TranscriptEvent, TranscriptFailedEvent
from tests.conftest import wait_until
from tests.speech import SENTENCES, needs_whisper, share_heard, speak

RATE = 16000
T0 = 2_000_000.0


def tone(seconds: float, freq: float = 300.0) -> np.ndarray:
    n = int(seconds * RATE)
    return (8000 * np.sin(2 * np.pi * freq * np.arange(n) / RATE)).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.int16)


def chunks(samples: np.ndarray, peer: str, room: str = "r", t0: float = T0,
           rate: int = RATE) -> Iterator[AudioChunk]:
    step = rate // 10
    for i in range(0, len(samples), step):
        yield AudioChunk(samples[i:i + step].tobytes(), rate, 1, t0 + i * 1000 / rate,
                         peer_id=peer, room=room)


class Durations:
    """Says how long each utterance was: enough to tell them apart."""

    def __init__(self) -> None:
        self.calls = 0

    def transcribe(self, samples: np.ndarray) -> str:
        self.calls += 1
        return f"{len(samples) / RATE:.1f} s"


class Events:
    def __init__(self, listener: Listener) -> None:
        self.started: list[SpeechStartedEvent] = []
        self.transcripts: list[TranscriptEvent] = []
        self.failed: list[TranscriptFailedEvent] = []
        listener.on("speech-started", self.started.append)
        listener.on("transcript", self.transcripts.append)
        listener.on("transcript-failed", self.failed.append)

    async def wait(self, count: int, timeout_s: float = 10) -> None:
        await wait_until(lambda: len(self.transcripts) + len(self.failed) >= count, timeout_s)


def listener_of(recognizer: object, **options: object) -> Listener:
    return Listener(recognizer, detector=EnergyDetector, **options)  # type: ignore[arg-type]


async def test_each_peer_is_heard_apart_with_its_room_and_times() -> None:
    listener = listener_of(Durations())
    events = Events(listener)
    a = np.concatenate([silence(0.5), tone(1.0), silence(1.0)])
    b = np.concatenate([silence(0.8), tone(2.0), silence(1.0)])
    for one, two in zip(chunks(a, "alice", "one"), chunks(b, "bob", "two"), strict=False):
        listener.hear(one)
        listener.hear(two)
    for rest in list(chunks(b, "bob", "two"))[len(list(chunks(a, "alice"))):]:
        listener.hear(rest)
    await events.wait(2)
    heard = {e.peer_id: e for e in events.transcripts}
    assert heard["alice"].room == "one" and heard["alice"].text == "1.4 s"
    assert heard["bob"].room == "two" and heard["bob"].text == "2.4 s"
    assert heard["bob"].start == pytest.approx(T0 + 600, abs=40)
    assert heard["bob"].end == pytest.approx(T0 + 3000, abs=40)
    assert {(e.peer_id, e.room) for e in events.started} == {("alice", "one"), ("bob", "two")}
    await listener.close()


async def test_48_khz_stereo_is_heard_as_16_khz_mono() -> None:
    listener = listener_of(Durations())
    events = Events(listener)
    mono = np.concatenate([silence(0.5), tone(1.0), silence(1.0)])
    up = np.repeat(resample(mono, RATE, 48000).reshape(-1, 1), 2, axis=1)
    for chunk in chunks(up.reshape(-1), "p", rate=48000 * 2):
        listener.hear(AudioChunk(chunk.data, 48000, 2, chunk.timestamp, peer_id="p", room="r"))
    await events.wait(1)
    assert events.transcripts[0].text == "1.4 s"
    await listener.close()


async def test_five_minutes_without_a_pause_come_out_in_bounded_pieces() -> None:
    recognizer = Durations()
    listener = listener_of(recognizer, settings=EndpointSettings(max_utterance_s=15.0),
                           backlog=30)
    events = Events(listener)
    speech = np.concatenate([tone(300.0), silence(1.0)])
    for chunk in chunks(speech, "talker"):
        listener.hear(chunk)
        if listener.pending > 1:
            await asyncio.sleep(0)
    await events.wait(21, timeout_s=30)
    pieces = events.transcripts
    assert len(pieces) == 21 and not events.failed
    assert [p.final for p in pieces] == [False] * 20 + [True]
    assert all(float(p.text.split()[0]) <= 15.0 for p in pieces), "each piece at most 15 s"
    assert sum(p.end - p.start for p in pieces) == pytest.approx(300_200, abs=100)
    await listener.close()


async def test_a_peer_that_leaves_mid_sentence_is_still_heard() -> None:
    listener = listener_of(Durations())
    events = Events(listener)
    for chunk in chunks(np.concatenate([silence(0.5), tone(1.5)]), "leaver"):
        listener.hear(chunk)
    assert events.started and not events.transcripts
    listener.peer_left("leaver")
    await events.wait(1)
    assert events.transcripts[0].final and events.transcripts[0].text == "1.7 s"
    listener.peer_left("leaver")  # twice, or never known: nothing happens
    listener.peer_left("stranger")
    await listener.close()


async def test_a_failing_recognizer_is_reported_and_the_next_utterance_heard() -> None:
    class FailsOnce(Durations):
        def transcribe(self, samples: np.ndarray) -> str:
            if self.calls == 0:
                self.calls += 1
                raise RuntimeError("out of memory")
            return super().transcribe(samples)

    listener = listener_of(FailsOnce())
    events = Events(listener)
    for chunk in chunks(np.concatenate([tone(1.0), silence(1.0), tone(2.0), silence(1.0)]),
                        "p"):
        listener.hear(chunk)
    await events.wait(2)
    assert events.failed[0].reason == "recognizer failed: RuntimeError: out of memory"
    assert events.failed[0].peer_id == "p"
    assert [e.text for e in events.transcripts] == ["2.4 s"]
    await listener.close()


async def test_a_hung_recognizer_drops_nothing_silently_and_blocks_nobody() -> None:
    release = threading.Event()

    class Hangs:
        def transcribe(self, samples: np.ndarray) -> str:
            release.wait(10)
            return "late"

    listener = listener_of(Hangs(), timeout_s=0.3, backlog=2, max_stuck=1)
    events = Events(listener)
    speech = np.concatenate([np.concatenate([tone(0.5), silence(0.8)]) for _ in range(5)])
    for chunk in chunks(speech, "p"):
        listener.hear(chunk)
        await asyncio.sleep(0)  # the first utterance is taken as soon as it ends
    await events.wait(5)
    assert not events.transcripts
    reasons = [e.reason.split(":")[0] for e in events.failed]
    assert reasons.count("backlog full") == 2, "5 utterances, 1 running, 2 waiting: 2 dropped"
    assert reasons.count("recognizer timeout") == 1
    assert reasons.count("recognizer stuck") == 2, "refused at once, not each timed out"
    release.set()
    await listener.close()
    assert listener.runner.running == 0


@needs_whisper
async def test_whisper_hears_a_spoken_sentence() -> None:
    from avatar_streaming.listen import WhisperRecognizer

    listener = Listener(WhisperRecognizer())
    events = Events(listener)
    said = SENTENCES[0]
    for chunk in chunks(np.concatenate([silence(1.0), speak(said), silence(1.0)]), "p"):
        listener.hear(chunk)
    await events.wait(1, timeout_s=30)
    assert len(events.started) == 1
    heard = events.transcripts[0]
    assert share_heard(said, heard.text) >= 0.7, f"said {said!r}, heard {heard.text!r}"
    assert heard.start == pytest.approx(T0 + 1000, abs=400)
    await listener.close()
