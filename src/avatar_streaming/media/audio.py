"""Pushed audio: validation, resampling to the track rate, and the bounded playback queue."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import av
import numpy as np

from ..errors import AudioQueueFullError, ChunkError
from ..types import AudioChunk
from .buffers import as_uint8

TRACK_RATE = 48000
"""Rate of the outgoing audio track; the Opus encoder works at 48 kHz."""
FRAME_MS = 20
FRAME_SAMPLES = TRACK_RATE * FRAME_MS // 1000
AUDIO_FORMATS = ("PCM", "OPUS", "MP3")
LAYOUTS = {1: "mono", 2: "stereo"}


def check_shape(chunk: AudioChunk) -> None:
    """The declared rate, channels and format are ones we take."""
    rate, channels = chunk.sample_rate, chunk.channels
    if isinstance(rate, bool) or not isinstance(rate, int) or not 8000 <= rate <= 192000:
        raise ChunkError(f"AudioChunk.sample_rate: expected an integer in [8000, 192000] Hz, "
                         f"got {rate!r}")
    if isinstance(channels, bool) or channels not in LAYOUTS:
        raise ChunkError(f"AudioChunk.channels: expected 1 or 2, got {channels!r}")
    if chunk.format not in AUDIO_FORMATS:
        raise ChunkError(f"AudioChunk.format: expected one of {', '.join(AUDIO_FORMATS)}, "
                         f"got {chunk.format!r}")


def pcm_samples(chunk: AudioChunk) -> np.ndarray:
    """Validate a PCM chunk and return its samples as int16 of shape (frames, channels)."""
    check_shape(chunk)
    if chunk.format != "PCM":
        raise ChunkError(f"AudioChunk.format: expected 'PCM', got {chunk.format!r}")
    channels = chunk.channels
    frame_bytes = 2 * channels
    data = chunk.data
    if isinstance(data, np.ndarray) and data.dtype == np.int16:
        raw = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    else:
        try:
            raw = as_uint8(data, "AudioChunk.data")
        except TypeError as exc:
            raise ChunkError(f"{exc} (or int16 samples)") from None
    if raw.size == 0 or raw.size % frame_bytes:
        raise ChunkError(
            f"AudioChunk.data: expected a non-empty multiple of {frame_bytes} bytes "
            f"(16-bit PCM, {channels} channel(s)), got {raw.size}"
        )
    return raw.view("<i2").reshape(-1, channels)


class Resampler:
    """Converts pushed PCM of any rate and channel count to mono s16 at ``rate``.

    One converter per input format, so a stream of chunks resamples without
    clicks at chunk boundaries.
    """

    def __init__(self, rate: int = TRACK_RATE, channels: int = 1) -> None:
        self._rate = rate
        self._layout = LAYOUTS[channels]
        self._channels = channels
        self._converters: dict[tuple[int, int], av.AudioResampler] = {}

    def convert(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """int16 (frames, channels) at ``rate`` -> int16 (frames, out channels)."""
        in_channels = samples.shape[1]
        if rate == self._rate and in_channels == self._channels:
            return samples
        key = (rate, in_channels)
        converter = self._converters.get(key)
        if converter is None:
            converter = av.AudioResampler(format="s16", layout=self._layout, rate=self._rate)
            self._converters[key] = converter
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples).reshape(1, -1), format="s16",
            layout=LAYOUTS[in_channels],
        )
        frame.sample_rate = rate
        out = [f.to_ndarray().reshape(-1, self._channels) for f in converter.resample(frame)]
        if not out:
            return np.zeros((0, self._channels), dtype=np.int16)
        return np.concatenate(out)


@dataclass
class _Part:
    samples: np.ndarray
    timestamp_ms: float
    """Capture time of the part's first sample, Unix ms."""


@dataclass(frozen=True)
class Read:
    """What one read took from the queue."""

    samples: np.ndarray
    """Exactly the samples asked for: queued ones first, then silence."""
    queued: int
    """How many came from the queue."""
    first_timestamp_ms: float | None
    """Capture time of the first queued sample read (None if all silence)."""
    last_timestamp_ms: float | None
    """Capture time just after the last queued sample read."""


UTTERANCE_GAP_MS = 60.0
"""A chunk stamped this much after the end of the audio before it starts a new timeline."""


class AudioQueue:
    """Mono int16 samples at the track rate waiting to play, bounded; reads pad with silence.

    Each queued part keeps the capture time of its first sample. A synthesizer pushes
    faster than real time, stamping chunks closer together than they last; such a chunk
    continues the timeline of the audio before it (its samples follow those), so the
    timestamps of one utterance advance with its samples. A chunk stamped well after the
    end of the audio before it starts a new timeline.
    """

    def __init__(self, max_samples: int) -> None:
        self.max_samples = max_samples
        self._parts: deque[_Part] = deque()
        self._size = 0
        self._timeline_end_ms: float | None = None

    def __len__(self) -> int:
        return self._size

    def push(self, samples: np.ndarray, timestamp_ms: float = 0.0) -> None:
        """Queue all of ``samples`` or, if they would overflow, none of them."""
        if self._size + samples.size > self.max_samples:
            raise AudioQueueFullError(
                f"audio queue: expected at most {self.max_samples - self._size} more samples "
                f"({(self.max_samples - self._size) / TRACK_RATE:.2f} s of room), "
                f"got {samples.size} ({samples.size / TRACK_RATE:.2f} s)"
            )
        if samples.size:
            end = self._timeline_end_ms
            if end is not None and timestamp_ms < end + UTTERANCE_GAP_MS:
                timestamp_ms = end  # continues the audio before it
            self._parts.append(_Part(samples.reshape(-1), timestamp_ms))
            self._size += samples.size
            self._timeline_end_ms = timestamp_ms + samples.size * 1000 / TRACK_RATE

    @property
    def head_timestamp_ms(self) -> float | None:
        """Capture time of the next sample to play (None when empty)."""
        return self._parts[0].timestamp_ms if self._parts else None

    def read(self, count: int) -> Read:
        """``count`` samples: queued ones first, then silence."""
        out = np.zeros(count, dtype=np.int16)
        filled = 0
        first = last = None
        while filled < count and self._parts:
            part = self._parts[0]
            take = min(count - filled, part.samples.size)
            out[filled:filled + take] = part.samples[:take]
            filled += take
            first = part.timestamp_ms if first is None else first
            last = part.timestamp_ms + take * 1000 / TRACK_RATE
            if take == part.samples.size:
                self._parts.popleft()
            else:
                self._parts[0] = _Part(part.samples[take:], last)
        self._size -= filled
        return Read(out, filled, first, last)

    def clear(self) -> int:
        """Drop everything; return how many samples were dropped."""
        dropped = self._size
        self._parts.clear()
        self._size = 0
        self._timeline_end_ms = None
        return dropped
