"""Voice activity: the probability that each 32 ms window of a user's audio holds speech.

A detector is per user: it remembers what came before the windows it is given (Silero
needs the context). ``EnergyDetector`` is a level gate, with no model: for tests and for
use without the ``[whisper]`` extra. The Silero one, which faster-whisper brings, is in
whisper.py.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16000
"""What the listener works at (Whisper's and Silero's rate); other rates are resampled."""
WINDOW = 512
"""Samples per detector window: 32 ms at 16 kHz."""
WINDOW_MS = WINDOW * 1000 / SAMPLE_RATE

Samples = npt.NDArray[np.float32]


class VoiceDetector(Protocol):
    """One user's voice activity detector."""

    def speech_probability(self, windows: Samples) -> npt.NDArray[np.float32]:
        """For each row of ``windows`` (n x 512 samples, 16 kHz, in [-1, 1], following the
        rows of the last call), the probability that it holds speech."""


class EnergyDetector:
    """Speech is whatever is louder than ``threshold_dbfs``: no model, no context."""

    def __init__(self, threshold_dbfs: float = -40.0) -> None:
        self.threshold_dbfs = threshold_dbfs

    def speech_probability(self, windows: Samples) -> npt.NDArray[np.float32]:
        rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=1))
        level = 20 * np.log10(np.maximum(rms, 1e-9))
        return np.asarray(level > self.threshold_dbfs, dtype=np.float32)
