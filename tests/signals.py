"""Test signals: tones, colour patterns, and measuring what arrived."""

from __future__ import annotations

import fractions

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

QUADRANT_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0))


def tone(freq_hz: float, seconds: float, rate: int, channels: int = 1,
         amplitude: float = 0.5) -> np.ndarray:
    """int16 samples of shape (frames, channels)."""
    t = np.arange(int(seconds * rate)) / rate
    mono = (amplitude * 32767 * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)
    return np.repeat(mono[:, None], channels, axis=1)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency of a mono signal, to within a fraction of a bin."""
    x = samples.astype(np.float64).reshape(-1)
    x = (x - x.mean()) * np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x))
    k = int(np.argmax(spectrum[1:]) + 1)
    if 0 < k < len(spectrum) - 1:  # parabolic interpolation between bins
        a, b, c = spectrum[k - 1], spectrum[k], spectrum[k + 1]
        k = k + 0.5 * (a - c) / (a - 2 * b + c)
    return float(k * rate / len(x))


def quadrants(width: int = 512, height: int = 512,
              colours: tuple[tuple[int, int, int], ...] = QUADRANT_COLOURS) -> np.ndarray:
    """An RGBA frame of four coloured quadrants."""
    img = np.zeros((height, width, 4), dtype=np.uint8)
    img[..., 3] = 255
    h, w = height // 2, width // 2
    for i, (y, x) in enumerate(((0, 0), (0, w), (h, 0), (h, w))):
        img[y:y + h, x:x + w, :3] = colours[i]
    return img


def quadrant_centres(rgb: np.ndarray) -> list[tuple[int, int, int]]:
    """The colour at the centre of each quadrant of a decoded RGB frame."""
    h, w = rgb.shape[0] // 4, rgb.shape[1] // 4
    return [tuple(int(v) for v in rgb[y, x]) for y, x in
            ((h, w), (h, 3 * w), (3 * h, w), (3 * h, 3 * w))]


def colours_match(got: list[tuple[int, int, int]],
                  want: tuple[tuple[int, int, int], ...], tolerance: int = 40) -> bool:
    return all(max(abs(a - b) for a, b in zip(g, w, strict=True)) <= tolerance
               for g, w in zip(got, want, strict=True))


async def first_quadrant_frame(track: MediaStreamTrack, max_frames: int = 300,
                               timeout_s: float = 10,
                               colours: tuple[tuple[int, int, int], ...] = QUADRANT_COLOURS,
                               ) -> av.VideoFrame:
    """The first received frame that shows the pushed quadrants (the first ones may be the
    placeholder shown before any push)."""
    import asyncio

    for _ in range(max_frames):
        frame = await asyncio.wait_for(track.recv(), timeout_s)
        if colours_match(quadrant_centres(frame.to_ndarray(format="rgb24")), colours):
            return frame
    raise AssertionError(f"no frame showed the pushed quadrants in {max_frames} frames")


class ToneTrack(MediaStreamTrack):  # type: ignore[misc]
    """A microphone that plays a sine tone in real time, 20 ms frames at 48 kHz.

    With ``window_s=(a, b)`` the tone sounds only from a to b seconds; silence otherwise.
    """

    kind = "audio"

    def __init__(self, freq_hz: float, rate: int = 48000,
                 window_s: tuple[float, float] | None = None) -> None:
        super().__init__()
        self._window = window_s
        self._samples = tone(freq_hz, 1.0, rate)[:, 0]
        self._rate = rate
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        import asyncio
        import time

        count = self._rate // 50
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._pts / self._rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        idx = np.arange(self._pts, self._pts + count) % len(self._samples)
        samples = self._samples[idx]
        if self._window and not self._window[0] <= self._pts / self._rate < self._window[1]:
            samples = np.zeros_like(samples)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self._rate
        frame.pts, frame.time_base = self._pts, fractions.Fraction(1, self._rate)
        self._pts += count
        return frame
