"""The browser's microphone, decoded, resampled and cut into fixed-length PCM chunks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ..types import AudioChunk
from .audio import Resampler

log = logging.getLogger(__name__)


class ChunkAssembler:
    """Collects samples and yields chunks of exactly ``chunk_samples`` frames. Pure."""

    def __init__(self, chunk_samples: int, channels: int) -> None:
        self.chunk_samples = chunk_samples
        self._pending = np.zeros((0, channels), dtype=np.int16)

    def add(self, samples: np.ndarray) -> list[np.ndarray]:
        self._pending = np.concatenate([self._pending, samples])
        chunks = []
        while len(self._pending) >= self.chunk_samples:
            chunks.append(self._pending[:self.chunk_samples])
            self._pending = self._pending[self.chunk_samples:]
        return chunks


class IncomingAudio:
    """Reads one peer's remote audio track and emits AudioChunks of ``chunk_ms``."""

    def __init__(self, track: MediaStreamTrack, peer_id: str, *, sample_rate: int,
                 channels: int, chunk_ms: int, emit: Callable[[AudioChunk], None],
                 room: str | None = None) -> None:
        self._track = track
        self._peer_id = peer_id
        self._room = room
        self._rate = sample_rate
        self._channels = channels
        self._emit = emit
        self._resampler = Resampler(sample_rate, channels)
        self._to_s16 = av.AudioResampler(format="s16")
        self._chunks = ChunkAssembler(sample_rate * chunk_ms // 1000, channels)
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"incoming-audio-{peer_id}")

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                frame = await self._track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            for samples in self._chunks.add(self._convert(frame)):
                self._emit(AudioChunk(
                    data=samples.tobytes(), sample_rate=self._rate, channels=self._channels,
                    timestamp=time.time() * 1000, format="PCM", peer_id=self._peer_id,
                    room=self._room,
                ))

    def _convert(self, frame: av.AudioFrame) -> np.ndarray:
        """A decoded frame (any rate and layout) to int16 (frames, channels) at our rate."""
        if frame.format.name != "s16":  # aiortc's decoders give s16; others may not
            (frame,) = self._to_s16.resample(frame)
        channels = len(frame.layout.channels)
        samples = frame.to_ndarray().reshape(-1, channels)
        return self._resampler.convert(samples, frame.sample_rate)
