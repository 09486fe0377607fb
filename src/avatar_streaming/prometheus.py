"""GET /metrics: the system's figures in Prometheus' text format.

Counters and gauges are read from the running system when Prometheus scrapes
(nothing is added to the media path); only the push latency is a histogram,
observed by the bridge as frames are pushed. Each system has its own registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .system import StreamingSystem

PREFIX = "avatar_streaming"
LATENCY_BUCKETS_MS = (1, 2, 5, 10, 20, 33, 50, 100, 200, 500, 1000)


class SystemMetrics(Collector):
    def __init__(self, system: StreamingSystem) -> None:
        self._system = system
        self.registry = CollectorRegistry()
        self.push_latency_ms = Histogram(
            f"{PREFIX}_video_push_latency_ms", "Frame latency at push: push time minus "
            "capture timestamp, ms", buckets=LATENCY_BUCKETS_MS, registry=self.registry)
        self.registry.register(self)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        system = self._system
        metrics = system.bridge.metrics
        yield GaugeMetricFamily(f"{PREFIX}_peers", "Connected peers",
                                value=system.server.peer_count)
        yield _counter("video_frames", "Video frames pushed", metrics.video_frames)
        yield _counter("dropped_frames", "Frames pushed later than 1.5 frame intervals",
                       metrics.dropped_frames)
        yield _counter("audio_chunks", "Audio chunks pushed", metrics.audio_chunks)
        yield _counter("incoming_audio_chunks", "Microphone chunks emitted",
                       system.incoming_audio_chunks)
        encoder = system.video_encoder
        yield _counter("video_frames_encoded", "Frames encoded (once for every viewer)",
                       encoder.frames_encoded)
        yield _counter("video_keyframes", "Keyframes encoded", encoder.keyframes)
        yield _counter("video_encode_seconds", "Time spent encoding video",
                       encoder.encode_seconds)
        for stream in (system.video_stream, system.audio_stream):
            labels = {"kind": stream.kind}
            for name, help_text, value in (
                    ("packets_sent", "RTP packets sent, all viewers", stream.packets_sent),
                    ("bytes_sent", "RTP payload bytes sent, all viewers", stream.bytes_sent),
                    ("nacks_received", "Packets viewers asked for again (NACK)",
                     stream.nacks_received),
                    ("keyframe_requests_received", "PLI and FIR received",
                     stream.keyframe_requests_received)):
                family = CounterMetricFamily(f"{PREFIX}_{name}", help_text, labels=["kind"])
                family.add_metric([labels["kind"]], value)
                yield family


def _counter(name: str, help_text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", help_text, value=value)
