"""Tests for the demo avatar's voice: synthesis, mouth envelope and PCM chunks."""

from __future__ import annotations

import io
import logging
import math
import shutil
import struct
import wave

import numpy as np
import numpy.typing as npt
import pytest

from avatar_streaming.demo import speech
from avatar_streaming.demo.speech import chunks, melody, mouth_envelope, synthesize

Int16Array = npt.NDArray[np.int16]

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"
)


def rms(samples: Int16Array) -> float:
    return float(np.sqrt(np.mean((samples.astype(np.float64) / 32768.0) ** 2)))


def dominant_hz(samples: Int16Array, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64), n=sample_rate * 4))
    return float(np.argmax(spectrum)) / 4


def sine(hz: float, seconds: float, sample_rate: int, amplitude: float = 0.5) -> Int16Array:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return np.rint(amplitude * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def wav_bytes(samples: Int16Array, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


# -- synthesize ----------------------------------------------------------


@needs_espeak
def test_espeak_speech_is_audible_and_plausibly_long(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="avatar_streaming.demo.speech"):
        audio = synthesize("Hello there, I am your friendly avatar.", 24000)
    assert audio.dtype == np.int16
    assert audio.ndim == 1
    assert 1.0 < audio.size / 24000 < 6.0
    assert rms(audio) > 0.01
    assert not np.array_equal(audio, melody(24000))
    assert "espeak-ng" in caplog.text and "melody" not in caplog.text


@needs_espeak
def test_espeak_speech_is_resampled_to_the_requested_rate() -> None:
    at_16k = synthesize("Testing one two three.", 16000)
    at_48k = synthesize("Testing one two three.", 48000)
    assert at_16k.size / 16000 == pytest.approx(at_48k.size / 48000, rel=0.01)


def test_melody_when_espeak_is_not_wanted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="avatar_streaming.demo.speech"):
        audio = synthesize("Hello", 16000, prefer_espeak=False)
    assert np.array_equal(audio, melody(16000))
    assert "melody" in caplog.text


def test_melody_when_espeak_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech, "_find_espeak", lambda: None)
    audio = synthesize("Hello", 24000)
    assert np.array_equal(audio, melody(24000))
    assert rms(audio) > 0.05


def test_melody_when_espeak_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech, "_find_espeak", lambda: "/nonexistent/bin/espeak-ng")
    assert np.array_equal(synthesize("Hello", 24000), melody(24000))


def test_melody_when_espeak_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = shutil.which("false")
    if failing is None:
        pytest.skip("no 'false' command")
    monkeypatch.setattr(speech, "_find_espeak", lambda: failing)
    assert np.array_equal(synthesize("Hello", 24000), melody(24000))


# -- melody -----------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", [16000, 24000, 48000])
def test_melody_plays_its_notes_in_order(sample_rate: int) -> None:
    audio = melody(sample_rate)
    note = round(0.25 * sample_rate)
    assert audio.dtype == np.int16
    assert audio.size == 4 * note
    found = [dominant_hz(audio[i * note : (i + 1) * note], sample_rate) for i in range(4)]
    assert found == pytest.approx([523.25, 659.25, 783.99, 1046.5], abs=1.0)


def test_melody_is_moderately_loud_and_click_free() -> None:
    audio = melody(24000)
    peak = float(np.abs(audio.astype(np.int32)).max()) / 32767
    assert 0.25 <= peak <= 0.31
    note = audio.size // 4
    for start in range(0, audio.size, note):
        # the envelope starts and ends every note at (almost) zero
        assert abs(int(audio[start])) < 0.01 * 32767
        assert abs(int(audio[start + note - 1])) < 0.01 * 32767


# -- wav parsing and resampling ---------------------------------------------


def test_parse_wav_reads_a_streamed_wav_with_bogus_sizes() -> None:
    tone = sine(1000, 0.5, 22050)
    data = bytearray(wav_bytes(tone, 22050))
    struct.pack_into("<I", data, 4, 0x7FFFF024)  # what espeak-ng --stdout writes
    struct.pack_into("<I", data, 40, 0x7FFFF000)
    samples, rate = speech.parse_wav(bytes(data))
    assert rate == 22050
    assert np.array_equal(samples, tone)


def test_resample_keeps_duration_and_pitch() -> None:
    tone = sine(1000, 1.0, 22050)
    out = speech.resample(tone, 22050, 24000)
    assert out.dtype == np.int16
    assert out.size == 24000
    assert dominant_hz(out, 24000) == pytest.approx(1000, abs=1)
    assert rms(out) == pytest.approx(rms(tone), rel=0.02)


# -- mouth envelope -----------------------------------------------------------


def test_envelope_has_one_value_per_video_frame() -> None:
    for seconds, fps, frames in ((1.0, 30, 30), (1.01, 30, 31), (0.5, 25, 13), (0.0, 30, 0)):
        samples = sine(200, seconds, 16000)
        assert mouth_envelope(samples, 16000, fps).size == frames == math.ceil(seconds * fps)


def test_envelope_is_closed_in_silence() -> None:
    envelope = mouth_envelope(np.zeros(24000 * 2, dtype=np.int16), 24000, 30.0)
    assert envelope.size == 60
    assert np.all(envelope == 0.0)


def test_envelope_opens_on_sound_and_closes_after_it() -> None:
    rate = 24000
    gap = np.zeros(rate // 2, dtype=np.int16)
    audio = np.concatenate([gap, sine(220, 1.0, rate), gap])
    envelope = mouth_envelope(audio, rate, 30.0)
    assert envelope.dtype == np.float32
    assert envelope.size == 60
    assert np.all((envelope >= 0.0) & (envelope <= 1.0))
    assert np.all(envelope[:15] == 0.0)  # before the sound
    assert np.all(envelope[18:44] > 0.8)  # during the sound
    assert 0.0 < envelope[45] < envelope[43]  # closes smoothly, not at once
    assert np.all(envelope[55:] == 0.0)  # well after it


def test_envelope_is_normalised_for_quiet_voices() -> None:
    rate = 16000
    quiet = sine(220, 1.0, rate, amplitude=0.01)
    assert np.all(mouth_envelope(quiet, rate, 30.0)[5:25] > 0.8)


def test_envelope_follows_syllables() -> None:
    rate = 16000
    t = np.arange(2 * rate) / rate
    syllables = np.clip(np.sin(2 * np.pi * 3 * t), 0, None)  # 3 bursts a second
    audio = np.rint(0.5 * 32767 * syllables * np.sin(2 * np.pi * 180 * t)).astype(np.int16)
    envelope = mouth_envelope(audio, rate, 30.0)
    assert envelope.max() > 0.8
    assert envelope.min() < 0.2
    opens = np.count_nonzero((envelope[1:] > 0.5) & (envelope[:-1] <= 0.5))
    assert opens == 6


def test_envelope_rejects_bad_rates() -> None:
    with pytest.raises(ValueError):
        mouth_envelope(np.zeros(10, dtype=np.int16), 16000, 0.0)


# -- chunks -----------------------------------------------------------------


def test_chunks_are_100_ms_of_16_khz_pcm() -> None:
    audio = sine(440, 1.05, 16000)
    parts = chunks(audio, 16000)
    assert [len(part) for part in parts] == [3200] * 10 + [1600]
    assert np.array_equal(np.frombuffer(b"".join(parts), dtype="<i2"), audio)


def test_chunks_respect_chunk_ms_and_byte_order() -> None:
    assert [len(part) for part in chunks(np.zeros(2400, dtype=np.int16), 24000, 20)] == [960] * 5
    assert chunks(np.array([1, -2], dtype=np.int16), 16000) == [b"\x01\x00\xfe\xff"]
    assert chunks(np.zeros(0, dtype=np.int16), 16000) == []
