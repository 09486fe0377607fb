from __future__ import annotations

import numpy as np
import pytest
from aiortc.codecs.opus import OpusDecoder
from aiortc.jitterbuffer import JitterFrame

from avatar_streaming.media.audio import TRACK_RATE
from avatar_streaming.media.encoder import AudioEncoder
from avatar_streaming.media.fanout import Broadcast, Payload
from tests.signals import dominant_frequency

FRAME = TRACK_RATE // 50


class Recorder:
    def __init__(self) -> None:
        self.payloads: list[Payload] = []

    def send_frame(self, payloads: list[Payload], send_time_ntp: int, media_ntp: int) -> None:
        self.payloads += payloads


def speech_like(seconds: float) -> np.ndarray:
    """A 440 Hz voice with harmonics under a little noise: enough detail to use any bitrate."""
    t = np.arange(int(seconds * TRACK_RATE)) / TRACK_RATE
    voice = sum(np.sin(2 * np.pi * 440 * k * t) / k for k in range(1, 8))
    noise = np.random.default_rng(3).normal(0, 0.05, t.size)
    return (np.clip(0.3 * voice + noise, -1, 1) * 20000).astype(np.int16)


def encode(bitrate_bps: int | None, samples: np.ndarray) -> list[Payload]:
    broadcast, viewer = Broadcast("audio", TRACK_RATE), Recorder()
    broadcast.join(viewer)
    encoder = AudioEncoder("opus", broadcast, bitrate_bps)
    for start in range(0, samples.size - FRAME + 1, FRAME):
        encoder.encode(samples[start:start + FRAME], start)
    return viewer.payloads


@pytest.mark.parametrize("bitrate_bps", [16_000, 32_000, 64_000])
def test_opus_follows_the_configured_bitrate_in_mono(bitrate_bps: int) -> None:
    seconds = 4.0
    payloads = encode(bitrate_bps, speech_like(seconds))
    rate = sum(len(p.data) for p in payloads) * 8 / seconds
    assert len(payloads) == 200, "one packet per 20 ms"
    assert 0.7 * bitrate_bps <= rate <= 1.15 * bitrate_bps, \
        f"expected ~{bitrate_bps} bit/s of payload, got {rate:.0f}"
    assert all(not p.data[0] & 0x04 for p in payloads), "expected mono packets (TOC s=0)"
    decoder, pcm = OpusDecoder(), []
    for p in payloads:
        for frame in decoder.decode(JitterFrame(p.data, p.timestamp)):
            pcm.append(frame.to_ndarray().reshape(-1, 2)[:, 0])  # stereo out, both alike
    decoded = np.concatenate(pcm)
    assert decoded.size == pytest.approx(seconds * TRACK_RATE, abs=FRAME)
    assert dominant_frequency(decoded[TRACK_RATE:], TRACK_RATE) == pytest.approx(440, abs=5)


def test_without_a_bitrate_opus_is_aiortcs_96_kbits() -> None:
    payloads = encode(None, speech_like(2.0))
    rate = sum(len(p.data) for p in payloads) * 8 / 2.0
    assert rate > 64_000, f"expected aiortc's 96 kbit/s stereo, got {rate:.0f}"
