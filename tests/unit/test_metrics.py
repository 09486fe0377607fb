from __future__ import annotations

import pytest

from avatar_streaming.metrics import StreamMetrics


class Clock:
    def __init__(self) -> None:
        self.wall_ms = 1_000_000.0
        self.mono_s = 100.0

    def advance(self, seconds: float) -> None:
        self.wall_ms += seconds * 1000
        self.mono_s += seconds


def metrics(clock: Clock, fps: float = 30) -> StreamMetrics:
    return StreamMetrics(fps_target=fps, wall_clock=lambda: clock.wall_ms,
                         monotonic=lambda: clock.mono_s)


def test_latency_ema_with_weight_point_one() -> None:
    clock = Clock()
    m = metrics(clock)
    assert m.record_video_frame(clock.wall_ms - 10) == 10
    assert m.avg_latency_ms == 10  # seeded by the first frame
    m.record_video_frame(clock.wall_ms - 30)
    assert m.avg_latency_ms == pytest.approx(10 + 0.1 * (30 - 10))
    m.record_video_frame(clock.wall_ms - 30)
    assert m.avg_latency_ms == pytest.approx(12 + 0.1 * (30 - 12))


def test_frames_later_than_one_and_a_half_intervals_count_as_dropped() -> None:
    clock = Clock()
    m = metrics(clock, fps=30)  # threshold 50 ms
    assert m.drop_threshold_ms == pytest.approx(50)
    m.record_video_frame(clock.wall_ms - 49.9)
    m.record_video_frame(clock.wall_ms - 50)
    m.record_video_frame(clock.wall_ms - 50.1)
    m.record_video_frame(clock.wall_ms - 500)
    snap = m.snapshot()
    assert (snap["videoFrames"], snap["droppedFrames"]) == (4, 2)


def test_fps_is_the_rate_of_the_last_second() -> None:
    clock = Clock()
    m = metrics(clock)
    for _ in range(30):
        m.record_video_frame(clock.wall_ms)
        clock.advance(1 / 30)
    assert m.fps == pytest.approx(30, abs=1)
    for _ in range(10):
        m.record_video_frame(clock.wall_ms)
        clock.advance(0.1)
    assert m.fps == pytest.approx(10, abs=1)
    clock.advance(2)
    assert m.fps == 0


def test_snapshot_has_the_contracts_keys() -> None:
    clock = Clock()
    m = metrics(clock)
    m.is_streaming = True
    m.record_audio_chunk()
    m.record_video_frame(clock.wall_ms - 5)
    assert m.snapshot() == {"videoFrames": 1, "audioChunks": 1, "droppedFrames": 0,
                            "avgLatency": 5.0, "lastFrameTime": clock.wall_ms, "fps": 1.0,
                            "isStreaming": True}
