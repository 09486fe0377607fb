"""Streaming metrics, as the contract defines them. Pure; time is injected."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EMA_WEIGHT = 0.1
FPS_WINDOW_S = 1.0


@dataclass
class StreamMetrics:
    """Counters of pushed media.

    ``wall_clock`` gives Unix milliseconds (latency is measured against the
    frames' Unix-ms timestamps); ``monotonic`` gives seconds for the fps window.
    """

    fps_target: float
    wall_clock: Callable[[], float] = field(default=lambda: time.time() * 1000)
    monotonic: Callable[[], float] = time.monotonic
    video_frames: int = 0
    audio_chunks: int = 0
    dropped_frames: int = 0
    avg_latency_ms: float = 0.0
    last_frame_time_ms: float = 0.0
    is_streaming: bool = False
    latency_observer: Callable[[float], None] | None = None
    """Also given each frame's latency (the /metrics histogram)."""
    _frame_times: deque[float] = field(default_factory=deque)

    @property
    def drop_threshold_ms(self) -> float:
        """A frame later than this counts as dropped (but is still sent)."""
        return 1000.0 / self.fps_target * 1.5

    def record_video_frame(self, timestamp_ms: float) -> float:
        """Count one pushed frame; return its latency in ms."""
        now_ms = self.wall_clock()
        latency = now_ms - timestamp_ms
        if self.video_frames == 0:
            self.avg_latency_ms = latency
        else:
            self.avg_latency_ms += EMA_WEIGHT * (latency - self.avg_latency_ms)
        self.video_frames += 1
        if latency > self.drop_threshold_ms:
            self.dropped_frames += 1
        self.last_frame_time_ms = now_ms
        self._frame_times.append(self.monotonic())
        if self.latency_observer is not None:
            self.latency_observer(latency)
        return latency

    def record_audio_chunk(self) -> None:
        self.audio_chunks += 1

    @property
    def fps(self) -> float:
        """Frames pushed in the last second."""
        now = self.monotonic()
        times = self._frame_times
        while times and now - times[0] > FPS_WINDOW_S:
            times.popleft()
        return float(len(times)) / FPS_WINDOW_S

    def snapshot(self) -> dict[str, Any]:
        """The contract's ``metrics`` object, camelCase keys."""
        return {
            "videoFrames": self.video_frames,
            "audioChunks": self.audio_chunks,
            "droppedFrames": self.dropped_frames,
            "avgLatency": self.avg_latency_ms,
            "lastFrameTime": self.last_frame_time_ms,
            "fps": self.fps,
            "isStreaming": self.is_streaming,
        }
