"""A browser's microphone as the recognizer gets it: decoded frames in, fixed PCM chunks out."""

from __future__ import annotations

import asyncio
import fractions

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError

from avatar_streaming import AudioChunk
from avatar_streaming.media.incoming import IncomingAudio
from tests.conftest import wait_until
from tests.signals import dominant_frequency


class OpusTrack:
    """What aiortc's Opus decoder gives: 20 ms of 48 kHz stereo s16, ``frames`` of them."""

    kind = "audio"

    def __init__(self, frames: int, hz: float = 440.0) -> None:
        self._left, self._hz, self._sent = frames, hz, 0

    async def recv(self) -> av.AudioFrame:
        if not self._left:
            raise MediaStreamError
        self._left -= 1
        t = (np.arange(960) + self._sent) / 48000
        self._sent += 960
        wave = (np.sin(2 * np.pi * self._hz * t) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(wave, 2).reshape(1, -1), format="s16",
                                           layout="stereo")
        frame.sample_rate, frame.pts = 48000, self._sent - 960
        frame.time_base = fractions.Fraction(1, 48000)
        await asyncio.sleep(0)
        return frame


async def test_the_microphone_comes_out_as_16khz_mono_chunks_of_exactly_100ms() -> None:
    chunks: list[AudioChunk] = []
    incoming = IncomingAudio(OpusTrack(frames=52), "p1", sample_rate=16000, channels=1,
                             chunk_ms=100, emit=chunks.append, room="bob")
    await wait_until(lambda: incoming._task.done())
    assert len(chunks) == 10, "1.04 s of frames: ten whole chunks, the rest kept back"
    assert all(len(c.data) == 3200 for c in chunks), "100 ms at 16 kHz mono: 3,200 bytes"
    assert {(c.sample_rate, c.channels, c.peer_id, c.room, c.format) for c in chunks} == {
        (16000, 1, "p1", "bob", "PCM")}
    samples = np.frombuffer(b"".join(c.data for c in chunks), np.int16)
    assert abs(dominant_frequency(samples, 16000) - 440) < 5
    await incoming.stop()
