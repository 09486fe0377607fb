"""Pushed audio in every format the contract names, decoded to int16 PCM.

- PCM: signed 16-bit little-endian, interleaved, at the chunk's sample_rate.
- OPUS: each chunk is one raw Opus packet (as RTP or a streaming TTS carries
  them; not an Ogg file), decoded by one libopus decoder kept across chunks.
- MP3: each chunk holds whole MP3 frames (a complete file, or a stream cut at
  frame boundaries), decoded by PyAV.

The decoded rate and channels are the stream's own; the chunk's declared ones
are checked for range only. A chunk that does not decode raises ChunkError.
"""

from __future__ import annotations

import io

import av
import numpy as np

from ..errors import ChunkError
from ..types import AudioChunk
from .audio import LAYOUTS, check_shape, pcm_samples
from .buffers import as_uint8

OPUS_RATE = 48000


class ChunkDecoder:
    def __init__(self) -> None:
        self._opus: av.AudioCodecContext | None = None
        self._to_s16: dict[tuple[str, str, int], av.AudioResampler] = {}

    def reset(self) -> None:
        """Forget decoder state (after a barge-in, the next chunk starts a new stream)."""
        self._opus = None

    def decode(self, chunk: AudioChunk) -> tuple[np.ndarray, int]:
        """int16 samples of shape (frames, channels), and their rate."""
        check_shape(chunk)
        if chunk.format == "PCM":
            return pcm_samples(chunk), chunk.sample_rate
        data = self._bytes(chunk)
        frames = self._decode_opus(chunk, data) if chunk.format == "OPUS" else _decode_mp3(data)
        if not frames:
            raise ChunkError(f"AudioChunk.data: expected {chunk.format} audio, got {len(data)} "
                             f"bytes that decode to nothing")
        return self._pcm(frames), frames[0].sample_rate

    def _bytes(self, chunk: AudioChunk) -> bytes:
        try:
            data = as_uint8(chunk.data, "AudioChunk.data").tobytes()
        except TypeError as exc:
            raise ChunkError(str(exc)) from None
        if not data:
            raise ChunkError(f"AudioChunk.data: expected {chunk.format} bytes, got none")
        return data

    def _decode_opus(self, chunk: AudioChunk, data: bytes) -> list[av.AudioFrame]:
        if self._opus is None:
            codec = av.CodecContext.create("libopus", "r")
            assert isinstance(codec, av.AudioCodecContext)
            codec.sample_rate = OPUS_RATE
            codec.layout = LAYOUTS[chunk.channels]
            self._opus = codec
        try:
            return [f for f in self._opus.decode(av.Packet(data)) if isinstance(f, av.AudioFrame)]
        except (av.FFmpegError, ValueError) as exc:
            raise ChunkError(f"AudioChunk.data: expected a raw Opus packet, got {len(data)} "
                             f"bytes that do not decode ({exc})") from None

    def _pcm(self, frames: list[av.AudioFrame]) -> np.ndarray:
        channels = len(frames[0].layout.channels)
        parts = []
        for frame in frames:
            if frame.format.name == "s16":
                parts.append(frame.to_ndarray().reshape(-1, channels))
                continue
            key = (frame.format.name, frame.layout.name, frame.sample_rate)
            converter = self._to_s16.setdefault(key, av.AudioResampler(format="s16"))
            for s16 in converter.resample(frame):
                parts.append(s16.to_ndarray().reshape(-1, channels))
        return np.concatenate(parts) if parts else np.zeros((0, channels), np.int16)


def _decode_mp3(data: bytes) -> list[av.AudioFrame]:
    try:
        with av.open(io.BytesIO(data), mode="r", format="mp3") as container:
            return list(container.decode(audio=0))
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise ChunkError(f"AudioChunk.data: expected whole MP3 frames, got {len(data)} bytes "
                         f"that do not decode ({exc})") from None
