"""GET /metrics: the system's figures in Prometheus' text format, a series per room.

Counters and gauges are read from the rooms when Prometheus scrapes (nothing is
added to the media path); the push latency and push-to-sent time are histograms,
observed by each room's bridge as frames are pushed and by its encoder as they
leave. Every series is labelled ``room``; a room's series go when it closes, so
there are at most ``maxRooms`` of each. Each system has its own registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .media.fanout import Broadcast
    from .metrics import StreamMetrics
    from .types import FrameSentEvent

PREFIX = "avatar_streaming"
LATENCY_BUCKETS_MS = (1, 2, 5, 10, 20, 33, 50, 100, 200, 500, 1000)
LABELS = ["room", "kind"]
"""Every series has the room; the RTP ones also the stream's kind."""


class EncoderFigures(Protocol):
    frames_encoded: int
    keyframes: int
    encode_seconds: float


class BridgeFigures(Protocol):
    @property
    def metrics(self) -> StreamMetrics: ...


class MeteredRoom(Protocol):
    """What /metrics reads of a room (rooms.py's Room is one), and the one hook it sets."""

    name: str
    incoming_audio_chunks: int
    frame_sent_observer: Callable[[FrameSentEvent], None] | None

    @property
    def bridge(self) -> BridgeFigures: ...
    @property
    def video_encoder(self) -> EncoderFigures: ...
    @property
    def video_stream(self) -> Broadcast: ...
    @property
    def audio_stream(self) -> Broadcast: ...


class SystemMetrics(Collector):
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.push_latency_ms = Histogram(
            f"{PREFIX}_video_push_latency_ms", "Frame latency at push: push time minus "
            "capture timestamp, ms", labelnames=["room"], buckets=LATENCY_BUCKETS_MS,
            registry=self.registry)
        self.push_to_sent_ms = Histogram(
            f"{PREFIX}_video_push_to_sent_ms", "A pushed frame's time from its push to its "
            "last packet going out, ms", labelnames=["room"], buckets=LATENCY_BUCKETS_MS,
            registry=self.registry)
        self._rooms: Callable[[], Iterable[MeteredRoom]] = tuple
        self._peers: Callable[[str], int] = lambda room: 0
        self.registry.register(self)

    def watch(self, rooms: Callable[[], Iterable[MeteredRoom]],
              peers: Callable[[str], int]) -> None:
        """Where the figures come from: the open rooms, and each room's connected peers."""
        self._rooms, self._peers = rooms, peers

    def add_room(self, room: MeteredRoom) -> None:
        room.bridge.metrics.latency_observer = self.push_latency_ms.labels(room=room.name).observe
        observe = self.push_to_sent_ms.labels(room=room.name).observe

        def sent(event: FrameSentEvent) -> None:
            if not event.repeat and event.pushed_at is not None:
                observe(event.sent_at - event.pushed_at)

        room.frame_sent_observer = sent

    def remove_room(self, room: MeteredRoom) -> None:
        room.bridge.metrics.latency_observer = None
        room.frame_sent_observer = None
        for histogram in (self.push_latency_ms, self.push_to_sent_ms):
            try:
                histogram.remove(room.name)
            except KeyError:  # it never saw a frame
                pass

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        rooms = list(self._rooms())
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}

        def add(kind: type[CounterMetricFamily | GaugeMetricFamily], name: str, help_text: str,
                labels: list[str], value: float) -> None:
            family = families.get(name)
            if family is None:
                family = families[name] = kind(f"{PREFIX}_{name}", help_text,
                                               labels=LABELS[:len(labels)])
            family.add_metric(labels, value)

        for room in rooms:
            name = room.name
            metrics = room.bridge.metrics
            encoder = room.video_encoder
            add(GaugeMetricFamily, "peers", "Connected peers", [name], self._peers(name))
            for key, help_text, value in (
                    ("video_frames", "Video frames pushed", metrics.video_frames),
                    ("dropped_frames", "Frames pushed later than 1.5 frame intervals",
                     metrics.dropped_frames),
                    ("audio_chunks", "Audio chunks pushed", metrics.audio_chunks),
                    ("incoming_audio_chunks", "Microphone chunks emitted",
                     room.incoming_audio_chunks),
                    ("video_frames_encoded", "Frames encoded (once for every viewer)",
                     encoder.frames_encoded),
                    ("video_keyframes", "Keyframes encoded", encoder.keyframes),
                    ("video_encode_seconds", "Time spent encoding video",
                     encoder.encode_seconds)):
                add(CounterMetricFamily, key, help_text, [name], value)
            for stream in (room.video_stream, room.audio_stream):
                for key, help_text, value in (
                        ("packets_sent", "RTP packets sent, all viewers", stream.packets_sent),
                        ("bytes_sent", "RTP payload bytes sent, all viewers",
                         stream.bytes_sent),
                        ("nacks_received", "Packets viewers asked for again (NACK)",
                         stream.nacks_received),
                        ("plis_received", "Keyframes viewers asked for (PLI: Picture "
                         "Loss Indication)", stream.plis_received),
                        ("firs_received", "Keyframes viewers asked for (FIR: Full Intra "
                         "Request)", stream.firs_received),
                        ("keyframe_requests_received", "PLI and FIR received",
                         stream.keyframe_requests_received)):
                    add(CounterMetricFamily, key, help_text, [name, stream.kind], value)
        yield from families.values()

