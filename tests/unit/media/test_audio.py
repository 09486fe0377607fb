from __future__ import annotations

import numpy as np
import pytest

from avatar_streaming import AudioChunk, AudioQueueFullError, ChunkError
from avatar_streaming.media.audio import TRACK_RATE, AudioQueue, Resampler, pcm_samples
from avatar_streaming.media.incoming import ChunkAssembler
from tests.signals import dominant_frequency, tone


def test_pcm_is_16_bit_and_100ms_at_16khz_mono_is_3200_bytes() -> None:
    samples = pcm_samples(AudioChunk(b"\x01\x00" * 1600, 16000, 1, 0))
    assert samples.shape == (1600, 1) and samples.dtype == np.int16 and samples[0, 0] == 1


def test_pcm_accepts_every_buffer_type_and_int16_arrays() -> None:
    raw = tone(100, 0.01, 16000, 2)
    for data in (raw.tobytes(), bytearray(raw.tobytes()), memoryview(raw.tobytes()),
                 np.frombuffer(raw.tobytes(), np.uint8), raw):
        assert np.array_equal(pcm_samples(AudioChunk(data, 16000, 2, 0)), raw)


@pytest.mark.parametrize(("chunk", "words"), [
    (AudioChunk(b"\0" * 1601, 16000, 1, 0), ["multiple of 2 bytes", "1601"]),
    (AudioChunk(b"\0" * 6, 16000, 2, 0), ["multiple of 4 bytes", "got 6"]),
    (AudioChunk(b"", 16000, 1, 0), ["non-empty", "got 0"]),
    (AudioChunk(b"\0" * 4, 0, 1, 0), ["sample_rate", "got 0"]),
    (AudioChunk(b"\0" * 4, 16000, 3, 0), ["channels", "1 or 2", "got 3"]),
    (AudioChunk(b"\0" * 4, 16000, 1, 0, "WAV"), ["PCM, OPUS, MP3", "'WAV'"]),  # type: ignore[arg-type]

    (AudioChunk([1, 2], 16000, 1, 0), ["bytes", "list"]),  # type: ignore[arg-type]
])
def test_bad_chunks_say_what_was_expected(chunk: AudioChunk, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        pcm_samples(chunk)
    assert isinstance(info.value, ChunkError)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (24000, 1), (44100, 2), (48000, 2)])
def test_resampler_keeps_pitch_and_duration(rate: int, channels: int) -> None:
    resampler = Resampler(TRACK_RATE, 1)
    src = tone(440, 1.0, rate, channels)
    step = rate // 10
    out = np.concatenate([resampler.convert(src[i:i + step], rate)
                          for i in range(0, len(src), step)])
    assert out.shape[1] == 1
    assert abs(len(out) - TRACK_RATE) < 0.01 * TRACK_RATE  # the converter may hold a few ms
    assert dominant_frequency(out[:, 0], TRACK_RATE) == pytest.approx(440, abs=2)


def test_queue_plays_in_order_pads_with_silence_and_refuses_overflow_whole() -> None:
    queue = AudioQueue(max_samples=10)
    queue.push(np.arange(1, 7, dtype=np.int16), timestamp_ms=1000.0)
    with pytest.raises(AudioQueueFullError, match="at most 4 more samples"):
        queue.push(np.ones(5, dtype=np.int16))
    assert len(queue) == 6  # nothing of the refused push was queued
    read = queue.read(4)
    assert list(read.samples) == [1, 2, 3, 4] and read.queued == 4
    assert read.first_timestamp_ms == 1000.0
    assert read.last_timestamp_ms == pytest.approx(1000.0 + 4 * 1000 / TRACK_RATE)
    read = queue.read(4)
    assert list(read.samples) == [5, 6, 0, 0] and read.queued == 2
    assert read.first_timestamp_ms == pytest.approx(1000.0 + 4 * 1000 / TRACK_RATE)
    assert queue.read(2).first_timestamp_ms is None
    queue.push(np.ones(10, dtype=np.int16))
    assert queue.clear() == 10 and len(queue) == 0


def test_chunk_assembler_cuts_exact_chunks_and_keeps_the_rest() -> None:
    assembler = ChunkAssembler(chunk_samples=4, channels=1)
    assert assembler.add(np.arange(3, dtype=np.int16).reshape(-1, 1)) == []
    chunks = assembler.add(np.arange(3, 11, dtype=np.int16).reshape(-1, 1))
    assert [list(c[:, 0]) for c in chunks] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [list(c[:, 0]) for c in assembler.add(np.array([[11]], np.int16))] == [
        [8, 9, 10, 11]]


def test_a_burst_of_chunks_keeps_one_timeline_and_a_later_chunk_starts_another() -> None:
    queue = AudioQueue(max_samples=TRACK_RATE * 10)
    hundred_ms = np.ones(TRACK_RATE // 10, np.int16)
    for i in range(3):  # pushed 4 ms apart, each 100 ms long
        queue.push(hundred_ms, timestamp_ms=1000.0 + 4 * i)
    queue.push(hundred_ms, timestamp_ms=5000.0)  # a new sentence, seconds later
    starts = [queue.read(TRACK_RATE // 10).first_timestamp_ms for _ in range(4)]
    assert starts == [1000.0, 1100.0, 1200.0, 5000.0]
