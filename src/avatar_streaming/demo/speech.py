"""What the demo avatar says, and how its mouth follows the sound.

Why: the demo must talk without network services or model weights. It uses
the espeak-ng speech synthesiser when the machine has it and otherwise plays
a short, pleasant tone melody, so the demo always produces audio.

What: :func:`synthesize` turns text into int16 mono samples,
:func:`mouth_envelope` turns samples into one mouth opening per video frame,
and :func:`chunks` cuts samples into PCM byte chunks for streaming.
"""

from __future__ import annotations

import io
import logging
import math
import shutil
import subprocess
import wave

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]

ESPEAK_BINARY = "espeak-ng"
ESPEAK_TIMEOUT_S = 30.0

MELODY_NOTES_HZ: tuple[float, ...] = (523.25, 659.25, 783.99, 1046.50)  # C5 E5 G5 C6
NOTE_SECONDS = 0.25
MELODY_AMPLITUDE = 0.3
_ATTACK_S = 0.02
_RELEASE_S = 0.06

_SILENCE_DBFS = -50.0  # frames quieter than this close the mouth
_DYNAMIC_RANGE_DB = 24.0  # loudness span mapped onto the mouth's travel
_ATTACK = 0.7  # per-frame smoothing while the mouth opens (1 = instant)
_RELEASE = 0.45  # per-frame smoothing while the mouth closes
_SNAP_TO_ZERO = 0.02


def synthesize(text: str, sample_rate: int = 24000, *, prefer_espeak: bool = True) -> Int16Array:
    """Speak ``text`` as int16 mono samples at ``sample_rate``.

    Uses espeak-ng when it is on PATH and succeeds; otherwise returns
    :func:`melody`. ``prefer_espeak=False`` forces the melody.
    """
    if sample_rate <= 0:
        raise ValueError("sample_rate must be positive")
    binary = _find_espeak() if prefer_espeak else None
    if binary is not None:
        spoken = _espeak(binary, text)
        if spoken is not None:
            samples, source_rate = spoken
            logger.info("synthesized %d chars with espeak-ng", len(text))
            return resample(samples, source_rate, sample_rate)
    logger.info("synthesized a tone melody instead of speech (espeak-ng unavailable)")
    return melody(sample_rate)


def _find_espeak() -> str | None:
    return shutil.which(ESPEAK_BINARY)


def _espeak(binary: str, text: str) -> tuple[Int16Array, int] | None:
    """Run espeak-ng; the samples and their rate, or None if it failed."""
    try:
        result = subprocess.run(
            [binary, "--stdout", "--stdin"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=ESPEAK_TIMEOUT_S,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("espeak-ng failed: %s", exc)
        return None
    try:
        samples, rate = parse_wav(result.stdout)
    except (wave.Error, EOFError, ValueError) as exc:
        logger.warning("espeak-ng wrote unreadable audio: %s", exc)
        return None
    if not np.any(samples):
        logger.warning("espeak-ng produced silence for %d chars", len(text))
        return None
    return samples, rate


def parse_wav(data: bytes) -> tuple[Int16Array, int]:
    """16-bit PCM WAV bytes to (mono int16 samples, sample rate).

    Tolerates the bogus length fields espeak-ng writes when streaming to stdout.
    """
    with wave.open(io.BytesIO(data), "rb") as reader:
        if reader.getsampwidth() != 2:
            raise ValueError(f"expected 16-bit samples, got {reader.getsampwidth() * 8}-bit")
        channels = reader.getnchannels()
        rate = reader.getframerate()
        raw = reader.readframes(reader.getnframes())
    usable = len(raw) - len(raw) % (2 * channels)
    samples = np.frombuffer(raw[:usable], dtype="<i2").astype(np.int16)
    if channels > 1:
        mixed = samples.reshape(-1, channels).astype(np.float64).mean(axis=1)
        samples = np.rint(mixed).astype(np.int16)
    return samples, rate


def resample(samples: Int16Array, source_rate: int, target_rate: int) -> Int16Array:
    """Linear-interpolation resampling of int16 mono samples."""
    if source_rate == target_rate or samples.size == 0:
        return samples.astype(np.int16, copy=True)
    count = round(samples.size * target_rate / source_rate)
    positions = np.arange(count, dtype=np.float64) * (source_rate / target_rate)
    values = np.interp(positions, np.arange(samples.size, dtype=np.float64), samples)
    return _to_int16(values)


def melody(sample_rate: int) -> Int16Array:
    """The fallback utterance: a rising arpeggio of soft sine notes."""
    if sample_rate <= 0:
        raise ValueError("sample_rate must be positive")
    length = round(NOTE_SECONDS * sample_rate)
    time = np.arange(length, dtype=np.float64) / sample_rate
    envelope = _note_envelope(length, sample_rate)
    notes = [
        envelope * (np.sin(2 * np.pi * hz * time) + 0.12 * np.sin(4 * np.pi * hz * time)) / 1.12
        for hz in MELODY_NOTES_HZ
    ]
    return _to_int16(np.concatenate(notes) * MELODY_AMPLITUDE * 32767.0)


def _note_envelope(length: int, sample_rate: int) -> FloatArray:
    """Raised-cosine attack and release so notes start and stop without clicks."""
    envelope = np.ones(length, dtype=np.float64)
    attack = min(int(_ATTACK_S * sample_rate), length // 2)
    release = min(int(_RELEASE_S * sample_rate), length - attack)
    if attack > 0:
        envelope[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    if release > 0:
        envelope[length - release :] = 0.5 + 0.5 * np.cos(
            np.pi * np.arange(1, release + 1) / release
        )
    return envelope


def _to_int16(values: FloatArray) -> Int16Array:
    return np.clip(np.rint(values), -32768, 32767).astype(np.int16)


def mouth_envelope(
    samples: npt.NDArray[np.generic], sample_rate: int, fps: float
) -> npt.NDArray[np.float32]:
    """One mouth opening in [0, 1] per video frame of ``samples``.

    Frame ``i`` covers the audio from ``i / fps`` to ``(i + 1) / fps`` seconds;
    there are ``ceil(duration * fps)`` frames. Loudness (RMS, in dB) is
    normalised to the clip's loud parts, so quiet and loud voices both move the
    mouth, then smoothed: opening fast, closing a little slower. Silence is 0.
    """
    if sample_rate <= 0 or fps <= 0:
        raise ValueError("sample_rate and fps must be positive")
    levels = _frame_levels_dbfs(_as_unit_float(samples), sample_rate, fps)
    if levels.size == 0:
        return np.zeros(0, dtype=np.float32)
    return _smooth(_normalise(levels))


def _as_unit_float(samples: npt.NDArray[np.generic]) -> FloatArray:
    values = np.asarray(samples)
    if values.ndim != 1:
        raise ValueError("samples must be mono (1-D)")
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(np.float64) / 32768.0
    return values.astype(np.float64)


def _frame_levels_dbfs(values: FloatArray, sample_rate: int, fps: float) -> FloatArray:
    """RMS level of each video frame's window, in dB relative to full scale."""
    count = math.ceil(values.size * fps / sample_rate - 1e-9)
    if count <= 0:
        return np.zeros(0, dtype=np.float64)
    energy = np.concatenate(([0.0], np.cumsum(values * values)))
    edges = np.minimum(np.floor(np.arange(count + 1) * sample_rate / fps), values.size)
    edges = edges.astype(np.int64)
    sizes = np.maximum(np.diff(edges), 1)
    mean_square = np.diff(energy[edges]) / sizes
    return np.asarray(10.0 * np.log10(np.maximum(mean_square, 1e-12)), dtype=np.float64)


def _normalise(levels: FloatArray) -> FloatArray:
    """Map dB levels to [0, 1]: the clip's loud frames reach about 1, silence 0."""
    voiced = levels[levels > _SILENCE_DBFS]
    if voiced.size == 0:
        return np.zeros_like(levels)
    loud = float(np.percentile(voiced, 90))
    floor = max(loud - _DYNAMIC_RANGE_DB, _SILENCE_DBFS)
    scaled = np.clip((levels - floor) / max(loud - floor, 1e-6), 0.0, 1.0)
    scaled[levels <= _SILENCE_DBFS] = 0.0
    return np.asarray(scaled, dtype=np.float64)


def _smooth(targets: FloatArray) -> npt.NDArray[np.float32]:
    out = np.empty(targets.size, dtype=np.float32)
    current = 0.0
    for i, target in enumerate(targets.tolist()):
        rate = _ATTACK if target > current else _RELEASE
        current += (target - current) * rate
        if current < _SNAP_TO_ZERO:
            current = 0.0
        out[i] = current
    return out


def chunks(samples: npt.NDArray[np.generic], sample_rate: int, chunk_ms: int = 100) -> list[bytes]:
    """Cut samples into int16 little-endian PCM chunks of ``chunk_ms`` (last may be shorter)."""
    per_chunk = sample_rate * chunk_ms // 1000
    if per_chunk <= 0:
        raise ValueError("sample_rate * chunk_ms is too small for one sample per chunk")
    values = np.asarray(samples)
    if values.dtype != np.int16:
        values = _to_int16(values.astype(np.float64))
    data = values.astype("<i2").tobytes()
    step = per_chunk * 2
    return [data[i : i + step] for i in range(0, len(data), step)]
