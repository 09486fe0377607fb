"""Tests for the parrot's per-peer utterance detector."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from avatar_streaming.demo.parrot import Parrot

Int16Array = npt.NDArray[np.int16]
RATE = 16000
CHUNK_BYTES = 3200  # 100 ms of 16 kHz int16 mono


def tone(ms: int, hz: float = 440.0, amplitude: float = 0.3) -> Int16Array:
    t = np.arange(RATE * ms // 1000) / RATE
    return np.rint(amplitude * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def silence(ms: int) -> Int16Array:
    return np.zeros(RATE * ms // 1000, dtype=np.int16)


def pcm_chunks(*parts: Int16Array, size: int = CHUNK_BYTES) -> list[bytes]:
    data = np.concatenate(parts).astype("<i2").tobytes()
    return [data[i : i + size] for i in range(0, len(data), size)]


def feed_all(parrot: Parrot, peer: str, chunks: list[bytes]) -> list[tuple[int, Int16Array]]:
    """(chunk index, utterance) for every utterance the parrot hands back."""
    found = []
    for index, chunk in enumerate(chunks):
        utterance = parrot.feed(peer, chunk)
        if utterance is not None:
            found.append((index, utterance))
    return found


def test_silence_yields_nothing() -> None:
    assert feed_all(Parrot(), "a", pcm_chunks(silence(5000))) == []


def test_quiet_noise_below_the_threshold_yields_nothing() -> None:
    rng = np.random.default_rng(1)
    hiss = np.rint(rng.normal(0, 0.002 * 32767, RATE * 3)).astype(np.int16)  # about -54 dBFS
    assert feed_all(Parrot(), "a", pcm_chunks(hiss)) == []


def test_burst_then_silence_yields_one_utterance_with_pre_roll() -> None:
    burst = tone(1000)
    found = feed_all(Parrot(), "a", pcm_chunks(silence(500), burst, silence(1000)))
    assert len(found) == 1
    index, utterance = found[0]
    # 5 silent chunks, 10 loud ones, then the 7th silent chunk completes 700 ms of silence
    assert index == 5 + 10 + 6
    assert utterance.dtype == np.int16
    pre_roll = RATE * 200 // 1000
    assert utterance.size == pytest.approx(RATE * 1.3, abs=RATE * 0.02)  # 0.2 + 1.0 + 0.1 s
    assert np.all(utterance[:pre_roll] == 0)
    assert np.array_equal(utterance[pre_roll : pre_roll + burst.size], burst)
    assert np.all(utterance[pre_roll + burst.size :] == 0)


def test_utterance_belongs_to_its_peer_only() -> None:
    parrot = Parrot()
    loud = pcm_chunks(silence(300), tone(1000), silence(1000))
    quiet = pcm_chunks(silence(2300))
    got_a, got_b = [], []
    for chunk_a, chunk_b in zip(loud, quiet, strict=True):
        got_a.append(parrot.feed("a", chunk_a))
        got_b.append(parrot.feed("b", chunk_b))
    assert sum(u is not None for u in got_a) == 1
    assert all(u is None for u in got_b)


def test_two_peers_do_not_mix() -> None:
    parrot = Parrot()
    voice_a, voice_b = tone(1000, hz=300.0), tone(600, hz=1200.0, amplitude=0.2)
    stream_a = pcm_chunks(silence(200), voice_a, silence(1000))
    stream_b = pcm_chunks(silence(600), voice_b, silence(1000))
    results: dict[str, list[Int16Array]] = {"a": [], "b": []}
    for chunk_a, chunk_b in zip(stream_a, stream_b, strict=False):
        for peer, chunk in (("a", chunk_a), ("b", chunk_b)):
            utterance = parrot.feed(peer, chunk)
            if utterance is not None:
                results[peer].append(utterance)
    assert len(results["a"]) == len(results["b"]) == 1
    (utterance_a,), (utterance_b,) = results["a"], results["b"]
    pre_roll = RATE * 200 // 1000
    assert np.array_equal(utterance_a[pre_roll : pre_roll + voice_a.size], voice_a)
    assert np.array_equal(utterance_b[pre_roll : pre_roll + voice_b.size], voice_b)
    assert utterance_b.size < utterance_a.size


def test_too_short_blip_is_ignored() -> None:
    chunks = pcm_chunks(silence(500), tone(100), silence(1500))
    assert feed_all(Parrot(), "a", chunks) == []


def test_blip_shorter_than_a_custom_minimum_is_ignored() -> None:
    chunks = pcm_chunks(silence(500), tone(500), silence(1500))
    assert feed_all(Parrot(min_utterance_ms=600), "a", chunks) == []
    assert len(feed_all(Parrot(min_utterance_ms=400), "a", chunks)) == 1


def test_short_pauses_do_not_split_an_utterance() -> None:
    chunks = pcm_chunks(tone(600), silence(400), tone(600), silence(1000))
    found = feed_all(Parrot(), "a", chunks)
    assert len(found) == 1
    assert found[0][1].size == pytest.approx(RATE * 1.7, abs=RATE * 0.02)


def test_long_speech_is_cut_at_the_maximum() -> None:
    parrot = Parrot(max_utterance_ms=3000)
    chunks = pcm_chunks(silence(500), tone(5000), silence(1000))
    found = feed_all(parrot, "a", chunks)
    assert len(found) == 2
    (first_at, first), (_, rest) = found
    assert first.size == 3 * RATE
    # 200 ms of pre-roll plus 2.8 s of tone fill the first 3 s: handed out at once
    assert first_at == 5 + 28 - 1
    assert rest.size == pytest.approx(RATE * 2.3, abs=RATE * 0.02)  # 2.2 s of tone + tail
    assert np.count_nonzero(first) > 0.9 * (first.size - RATE // 5)


def test_threshold_is_configurable() -> None:
    whisper = tone(1000, amplitude=0.0045)  # about -50 dBFS
    chunks = pcm_chunks(silence(300), whisper, silence(1000))
    assert feed_all(Parrot(), "a", chunks) == []
    assert len(feed_all(Parrot(threshold_dbfs=-55.0), "a", chunks)) == 1


def test_silence_duration_is_configurable() -> None:
    chunks = pcm_chunks(tone(1000), silence(400))
    assert feed_all(Parrot(), "a", chunks) == []
    assert len(feed_all(Parrot(silence_ms=300), "a", chunks)) == 1


def test_chunks_of_any_size_give_the_same_utterance() -> None:
    signal = (silence(500), tone(1000), silence(1000))
    expected = feed_all(Parrot(), "a", pcm_chunks(*signal))
    odd = feed_all(Parrot(), "a", pcm_chunks(*signal, size=333))
    assert len(expected) == len(odd) == 1
    assert np.array_equal(expected[0][1], odd[0][1])


def test_forget_drops_a_peers_state() -> None:
    parrot = Parrot()
    for chunk in pcm_chunks(tone(800)):
        assert parrot.feed("a", chunk) is None
    parrot.forget("a")
    parrot.forget("never-seen")
    assert feed_all(parrot, "a", pcm_chunks(silence(1500))) == []


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        Parrot(max_utterance_ms=100)
    with pytest.raises(ValueError):
        Parrot(silence_ms=-1)


def test_utterances_finished_in_one_chunk_come_out_in_order() -> None:
    parrot = Parrot()
    first, second = tone(500, hz=300.0), tone(800, hz=900.0)
    (everything,) = pcm_chunks(first, silence(1000), second, silence(1000), size=10**9)
    got_first = parrot.feed("a", everything)
    got_second = parrot.feed("a", b"")
    assert got_first is not None and got_second is not None
    assert np.array_equal(got_first[: first.size], first)
    pre_roll = RATE * 200 // 1000
    assert np.array_equal(got_second[pre_roll : pre_roll + second.size], second)
    assert parrot.feed("a", b"") is None
