from __future__ import annotations

import io

import av
import numpy as np
import pytest

from avatar_streaming import AudioChunk, ChunkError
from avatar_streaming.media.decode import ChunkDecoder
from tests.signals import dominant_frequency, tone


def opus_packets(samples: np.ndarray) -> list[bytes]:
    """Raw Opus packets of 20 ms each, at 48 kHz mono."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48000, "mono", "s16"
    packets = []
    for i in range(0, len(samples) - 959, 960):
        frame = av.AudioFrame.from_ndarray(samples[i:i + 960].reshape(1, -1), format="s16",
                                           layout="mono")
        frame.sample_rate, frame.pts = 48000, i
        packets += [bytes(p) for p in codec.encode(frame)]
    return packets


def mp3_file(samples: np.ndarray, rate: int) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.layout = "mono"
        for i in range(0, len(samples), 1152):
            frame = av.AudioFrame.from_ndarray(samples[i:i + 1152].reshape(1, -1),
                                               format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def test_raw_opus_packets_decode_across_chunks_with_their_pitch() -> None:
    decoder = ChunkDecoder()
    pcm = []
    for packet in opus_packets(tone(440, 1.0, 48000)[:, 0]):
        samples, rate = decoder.decode(AudioChunk(packet, 48000, 1, 0, "OPUS"))
        assert rate == 48000
        pcm.append(samples[:, 0])
    out = np.concatenate(pcm)
    assert abs(len(out) - 48000) <= 960
    assert dominant_frequency(out[4800:], 48000) == pytest.approx(440, abs=3)


def test_mp3_decodes_with_its_pitch_and_duration() -> None:
    samples, rate = ChunkDecoder().decode(
        AudioChunk(mp3_file(tone(330, 1.0, 24000)[:, 0], 24000), 24000, 1, 0, "MP3"))
    assert rate == 24000 and abs(len(samples) - 24000) < 3000
    assert dominant_frequency(samples[2400:-2400, 0], 24000) == pytest.approx(330, abs=3)


@pytest.mark.parametrize(("fmt", "data", "words"), [
    ("OPUS", b"\xff" * 3, ["Opus"]),
    ("MP3", b"definitely not an mp3 file" * 10, ["MP3"]),
    ("MP3", b"", ["MP3 bytes", "none"]),
])
def test_corrupt_chunks_raise_value_errors(fmt: str, data: bytes, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        ChunkDecoder().decode(AudioChunk(data, 48000, 1, 0, fmt))  # type: ignore[arg-type]
    assert isinstance(info.value, ChunkError)
    for word in words:
        assert word in str(info.value)
