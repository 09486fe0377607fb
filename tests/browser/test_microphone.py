"""Chromium's fake microphone plays a file we make; the bridge must hand the recognizer the same."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from avatar_streaming import AudioChunk
from tests.browser.conftest import LaunchBrowser, open_page, record_figures, wait_state
from tests.browser.probes import MIC_SETTINGS
from tests.conftest import MakeSystem, page_url
from tests.signals import dominant_frequency, tone

LEAD_S = 2.0
"""Silence before the sound: the fake device starts playing before the connection is up."""


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def padded(samples: np.ndarray, rate: int) -> np.ndarray:
    return np.concatenate([np.zeros(int(LEAD_S * rate), np.int16), samples,
                           np.zeros(rate, np.int16)])


def envelope(samples: np.ndarray, rate: int, frame_ms: int = 20) -> np.ndarray:
    """RMS per frame, in dBFS, floored at -60 (digital silence and codec noise alike)."""
    n = rate * frame_ms // 1000
    frames = samples[: len(samples) // n * n].astype(np.float64).reshape(-1, n) / 32768
    return np.maximum(20 * np.log10(np.sqrt((frames ** 2).mean(axis=1)) + 1e-9), -60.0)


def active_span_s(samples: np.ndarray, rate: int, threshold_dbfs: float = -40) -> float:
    loud = np.flatnonzero(envelope(samples, rate) > threshold_dbfs)
    return 0.0 if loud.size == 0 else (loud[-1] - loud[0] + 1) * 0.02


async def hear(make_system: MakeSystem, launch_browser: LaunchBrowser, wav: Path,
               seconds: float) -> tuple[np.ndarray, dict[str, bool]]:
    """Play ``wav`` into the page's microphone; return what "incoming-audio" delivered."""
    system = await make_system()
    chunks: list[AudioChunk] = []
    system.bridge.on("incoming-audio", chunks.append)
    browser = await launch_browser(mic_wav=wav)
    page = await open_page(browser, page_url(system))
    await wait_state(page, "connected")
    settings = await page.evaluate(MIC_SETTINGS)
    await asyncio.sleep(seconds)
    assert chunks, "expected microphone audio from the page"
    assert {(c.sample_rate, c.channels, c.format) for c in chunks} == {(16000, 1, "PCM")}
    assert {len(bytes(c.data)) for c in chunks} == {3200}
    pcm = np.frombuffer(b"".join(bytes(c.data) for c in chunks), dtype="<i2")
    peer = await page.evaluate("window.avatarClient.peerId")
    assert {c.peer_id for c in chunks} == {peer}
    return pcm, settings


async def test_a_tone_into_the_microphone_arrives_with_its_pitch_and_duration(
        tmp_path: Path, make_system: MakeSystem, launch_browser: LaunchBrowser) -> None:
    wav = write_wav(tmp_path / "tone.wav", padded(tone(523.0, 1.5, 48000)[:, 0], 48000), 48000)
    pcm, settings = await hear(make_system, launch_browser, wav, LEAD_S + 3.5)
    assert settings == {"echoCancellation": False, "noiseSuppression": False,
                        "autoGainControl": False}, "the page sends the raw signal by default"
    duration = active_span_s(pcm, 16000)
    loud = np.flatnonzero(envelope(pcm, 16000) > -40)
    pitch = dominant_frequency(pcm[(loud[0] + 5) * 320:(loud[-1] - 5) * 320], 16000)
    record_figures("microphone-tone", {"pitchHz": pitch, "durationS": duration,
                                       "fileDurationS": 1.5})
    assert abs(pitch - 523) < 5, f"expected 523 Hz, got {pitch:.1f} Hz"
    assert abs(duration - 1.5) <= 0.1, f"expected 1.5 s of tone, got {duration:.2f} s"


@pytest.fixture
def spoken_phrase(tmp_path: Path) -> tuple[np.ndarray, int]:
    """A phrase spoken by espeak-ng: samples and rate."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/test installs it)")
    raw = tmp_path / "raw.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), "The quick brown fox jumps over the lazy dog"],
                   check=True)
    with wave.open(str(raw)) as f:
        return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2"), f.getframerate()


async def test_a_spoken_phrase_arrives_with_its_shape_and_duration(
        tmp_path: Path, spoken_phrase: tuple[np.ndarray, int], make_system: MakeSystem,
        launch_browser: LaunchBrowser) -> None:
    speech, rate = spoken_phrase
    wav = write_wav(tmp_path / "phrase.wav", padded(speech, rate), rate)
    pcm, _ = await hear(make_system, launch_browser, wav, LEAD_S + len(speech) / rate + 1.5)
    sent = envelope(speech, rate)
    got = envelope(pcm, 16000)
    # align the received envelope on the sent one, then compare their shapes
    scores = [np.corrcoef(sent, got[i:i + len(sent)])[0, 1]
              for i in range(len(got) - len(sent))]
    best = float(np.max(scores))
    duration, expected = active_span_s(pcm, 16000), active_span_s(speech, rate)
    record_figures("microphone-phrase", {"envelopeCorrelation": best, "durationS": duration,
                                         "fileDurationS": expected})
    assert best > 0.9, f"expected the phrase's loudness contour back, correlation {best:.2f}"
    assert abs(duration - expected) <= 0.1, f"expected {expected:.2f} s, got {duration:.2f} s"


async def test_the_page_option_turns_voice_processing_on(
        tmp_path: Path, make_system: MakeSystem, launch_browser: LaunchBrowser) -> None:
    wav = write_wav(tmp_path / "tone.wav", tone(523.0, 1.0, 48000)[:, 0], 48000)
    system = await make_system()
    browser = await launch_browser(mic_wav=wav)
    page = await open_page(browser, page_url(system) + "?processing=1")
    await wait_state(page, "connected")
    assert await page.evaluate(MIC_SETTINGS) == {
        "echoCancellation": True, "noiseSuppression": True, "autoGainControl": True}
