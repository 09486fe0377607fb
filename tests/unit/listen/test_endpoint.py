"""Endpointing on a level gate, with known loud and quiet stretches: where speech starts,
when an utterance ends, how long ones are cut."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from avatar_streaming.listen import Endpointer, EndpointSettings, EnergyDetector, SpeechBegan
from avatar_streaming.listen import Utterance as Heard

RATE = 16000
T0 = 1_000_000.0


def sound(seconds: float, loud: bool) -> np.ndarray:
    n = int(seconds * RATE)
    if not loud:
        return np.zeros(n, np.float32)
    return (0.3 * np.sin(2 * np.pi * 300 * np.arange(n) / RATE)).astype(np.float32)


def run(endpointer: Endpointer, *pieces: tuple[float, bool],
        chunk_s: float = 0.1) -> list[SpeechBegan | Heard]:
    """Feed the pieces in ``chunk_s`` chunks timed from T0; every event."""
    audio = np.concatenate([sound(s, loud) for s, loud in pieces])
    step = int(chunk_s * RATE)
    events = []
    for i in range(0, len(audio), step):
        events += endpointer.feed(audio[i:i + step], T0 + i * 1000 / RATE)
    return events


def test_an_utterance_starts_at_its_sound_and_ends_after_the_pause() -> None:
    events = run(Endpointer(EnergyDetector()), (1.0, False), (2.0, True), (1.0, False))
    began = [e for e in events if isinstance(e, SpeechBegan)]
    heard = [e for e in events if isinstance(e, Heard)]
    assert len(began) == 1 and len(heard) == 1
    assert began[0].start_ms == pytest.approx(T0 + 1000, abs=33)
    utterance = heard[0]
    assert utterance.final
    assert utterance.start_ms == pytest.approx(T0 + 1000 - 200, abs=33), "with 200 ms pre-roll"
    assert utterance.end_ms == pytest.approx(T0 + 3000 + 200, abs=33), "and 200 ms after"
    assert len(utterance.samples) / RATE == pytest.approx(2.4, abs=0.04)
    assert utterance.voiced_ms == pytest.approx(2000, abs=33)


def test_the_end_waits_for_the_configured_silence() -> None:
    settings = EndpointSettings(end_silence_ms=800)
    short_pause = run(Endpointer(EnergyDetector(), settings),
                      (0.5, True), (0.6, False), (0.5, True), (1.0, False))
    assert [type(e) for e in short_pause] == [SpeechBegan, Heard], \
        "a 600 ms pause is inside one utterance when 800 ms end it"
    assert len(run(Endpointer(EnergyDetector(), settings),
                   (0.5, True), (0.9, False), (0.5, True), (1.0, False))) == 4


def test_a_click_is_not_speech() -> None:
    assert run(Endpointer(EnergyDetector()), (0.5, False), (0.1, True), (1.0, False)) == []


def test_a_long_utterance_is_cut_at_the_cap_without_losing_a_sample() -> None:
    settings = EndpointSettings(max_utterance_s=3.0)
    events = run(Endpointer(EnergyDetector(), settings), (0.5, False), (10.0, True),
                 (1.0, False))
    heard = [e for e in events if isinstance(e, Heard)]
    assert [e for e in events if isinstance(e, SpeechBegan)] == [events[0]], "one start"
    assert [u.final for u in heard] == [False, False, False, True]
    assert all(len(u.samples) / RATE <= 3.0 for u in heard)
    for before, after in itertools.pairwise(heard):
        assert after.start_ms == pytest.approx(before.end_ms), "each piece follows the last"
    assert sum(u.voiced_ms for u in heard) == pytest.approx(10_000, abs=64)
    samples = sum(len(u.samples) for u in heard)
    assert samples * 1000 / RATE == pytest.approx(heard[-1].end_ms - heard[0].start_ms)


def test_flush_ends_the_utterance_under_way() -> None:
    endpointer = Endpointer(EnergyDetector())
    events = run(endpointer, (0.3, False), (1.5, True))
    assert [type(e) for e in events] == [SpeechBegan]
    utterance = endpointer.flush()
    assert utterance is not None and utterance.final
    assert utterance.voiced_ms == pytest.approx(1500, abs=33)
    assert endpointer.flush() is None


def test_settings_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="end_threshold"):
        EndpointSettings(start_threshold=0.3, end_threshold=0.5)
    with pytest.raises(ValueError, match="max_utterance_s"):
        EndpointSettings(max_utterance_s=0.1)
