"""Per-frame records into figures: latencies, the decode check, the server's share, getStats.

Pure functions of what the pages and the feeds logged, so the figures can be checked
without a browser.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .feeds import FPS, PushLog, ServerLog
from .page_js import Samples

# (name, numerator counter, denominator counter): delta(num) / delta(den) * 1000 ms.
STAT_RATIOS = [
    ("video_jitter_buffer_ms", "video", "jitterBufferDelay", "jitterBufferEmittedCount"),
    ("video_jitter_buffer_target_ms", "video", "jitterBufferTargetDelay",
     "jitterBufferEmittedCount"),
    ("video_jitter_buffer_minimum_ms", "video", "jitterBufferMinimumDelay",
     "jitterBufferEmittedCount"),
    ("video_decode_ms", "video", "totalDecodeTime", "framesDecoded"),
    ("video_processing_ms", "video", "totalProcessingDelay", "framesDecoded"),
    ("video_assembly_ms", "video", "totalAssemblyTime", "framesAssembledFromMultiplePackets"),
    ("audio_jitter_buffer_ms", "audio", "jitterBufferDelay", "jitterBufferEmittedCount"),
    ("audio_jitter_buffer_target_ms", "audio", "jitterBufferTargetDelay",
     "jitterBufferEmittedCount"),
    ("audio_jitter_buffer_minimum_ms", "audio", "jitterBufferMinimumDelay",
     "jitterBufferEmittedCount"),
    ("audio_playout_delay_ms", "playout", "totalPlayoutDelay", "totalSamplesCount"),
]
STAT_COUNTS = [("video_frames_received", "video", "framesReceived"),
               ("video_frames_decoded", "video", "framesDecoded"),
               ("video_keyframes_decoded", "video", "keyFramesDecoded"),
               ("video_frames_dropped", "video", "framesDropped"),
               ("video_packets_lost", "video", "packetsLost"),
               ("video_nacks_sent", "video", "nackCount"),
               ("video_plis_sent", "video", "pliCount"),
               ("video_freezes", "video", "freezeCount")]


def stat_deltas(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float | None]:
    """Per-frame averages (ms) and counts over the window, from two getStats reads."""
    def delta(kind: str, key: str) -> float | None:
        a, b = before.get(kind, {}).get(key), after.get(kind, {}).get(key)
        return None if a is None or b is None else b - a

    out: dict[str, float | None] = {}
    for name, kind, num, den in STAT_RATIOS:
        n, d = delta(kind, num), delta(kind, den)
        out[name] = None if n is None or not d else round(n / d * 1000, 2)
    for name, kind, key in STAT_COUNTS:
        out[name] = delta(kind, key)
    return out


def summary(values: Iterable[float]) -> dict[str, float | int | None]:
    """p50, p90 (ms, to 0.1) and the number of values."""
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return {"p50": None, "p90": None, "n": 0}
    p50, p90 = np.percentile(data, [50, 90])
    return {"p50": round(float(p50), 1), "p90": round(float(p90), 1), "n": int(data.size)}


@dataclass
class PageFigures:
    """One page's latencies (ms), one per counter shown, and its decode check counts."""

    display: list[float] = field(default_factory=list)
    receive: list[float] = field(default_factory=list)
    receive_to_display: list[float] = field(default_factory=list)
    check: dict[str, int] = field(default_factory=dict)


def page_figures(samples: Samples, pushes: PushLog) -> PageFigures:
    """Latencies of each counter's first presentation, and the decode check."""
    figures = PageFigures()
    check = {"callbacks": len(samples), "undecodable": 0, "not_pushed": 0, "repeats": 0,
             "backwards": 0, "skipped": 0, "missed_callbacks": 0, "no_receive_time": 0,
             "rtp_timestamp_mismatch": 0}
    previous, presented, seen = -1, None, set()
    last_rtp: tuple[int, int] | None = None
    for value, shown, received, presented_frames, rtp in samples:
        if presented is not None and presented_frames is not None:
            check["missed_callbacks"] += max(0, presented_frames - presented - 1)
        presented = presented_frames
        if value < 0:
            check["undecodable"] += 1
            continue
        check_order(check, previous, value)
        previous = value
        if rtp is not None:
            check["rtp_timestamp_mismatch"] += not rtp_agrees(last_rtp, value, rtp)
            last_rtp = (value, rtp)
        pushed = pushes.pushed_ms.get(value)
        if pushed is None:
            check["not_pushed"] += 1
        elif value not in seen:
            seen.add(value)
            add_latencies(figures, check, pushed, shown, received)
    figures.check = check
    return figures


def check_order(check: dict[str, int], previous: int, value: int) -> None:
    """Count a counter shown again, going back, or jumping over others."""
    if previous < 0:
        return
    if value == previous:
        check["repeats"] += 1
    elif value < previous:
        check["backwards"] += 1
    else:
        check["skipped"] += value - previous - 1


def rtp_agrees(last: tuple[int, int] | None, value: int, rtp: int) -> bool:
    """The frame drawn (counter) is the frame presented (RTP timestamp): their steps agree.

    The encoder stamps RTP time when it takes a frame, 90 kHz / FPS per frame on average
    with a few ms of scheduling jitter: half a frame interval of slack.
    """
    if last is None:
        return True
    frames = value - last[0]
    ticks = (rtp - last[1]) & 0xFFFFFFFF
    return abs(ticks - frames * 90000 / FPS) < 0.5 * 90000 / FPS


def add_latencies(figures: PageFigures, check: dict[str, int], pushed: float, shown: float,
                  received: float | None) -> None:
    """Push -> display, and, where Chromium gave a receive time, the two halves of it."""
    figures.display.append(shown - pushed)
    if received is None:
        check["no_receive_time"] += 1
        return
    figures.receive.append(received - pushed)
    figures.receive_to_display.append(shown - received)


def server_figures(server: ServerLog | None, pushes: PushLog,
                   window: tuple[float, float]) -> dict[str, Any] | None:
    """push -> encode start -> sent, for the frames pushed inside ``window`` (Unix ms)."""
    if server is None:
        return None
    rows = [(pushes.pushed_ms[c], s, e) for c, (s, e) in server.encoded.items()
            if c in pushes.pushed_ms and window[0] <= pushes.pushed_ms[c] <= window[1]]
    return {
        "push_to_encode_start_ms": summary(s - p for p, s, _ in rows),
        "encode_ms": summary(e - s for _, s, e in rows),
        "push_to_sent_ms": summary(e - p for p, _, e in rows),
        "repeat_encodes": sum(window[0] <= t <= window[1] for t in server.repeats),
    }


def median_stats(per_page: list[dict[str, float | None]]) -> dict[str, float | None]:
    """The median over pages of each getStats figure."""
    out: dict[str, float | None] = {}
    for key in per_page[0] if per_page else []:
        values = [v for v in (s[key] for s in per_page) if v is not None]
        out[key] = round(float(np.median(values)), 2) if values else None
    return out


def viewer_report(samples: list[Samples], stats: list[dict[str, float | None]],
                  pushes: PushLog, server: dict[str, Any] | None,
                  offset: tuple[float, float]) -> dict[str, Any]:
    """A viewer phase's figures: every page's samples pooled, getStats as a median."""
    per_page = [page_figures(s, pushes) for s in samples]
    pooled = PageFigures()
    check: dict[str, int] = {}
    for figures in per_page:
        pooled.display += figures.display
        pooled.receive += figures.receive
        pooled.receive_to_display += figures.receive_to_display
        for key, value in figures.check.items():
            check[key] = check.get(key, 0) + value
    return {
        "measured_in": (f"all {len(samples)} pages, samples pooled" if len(samples) > 1
                        else "the only page"),
        "push_to_display_ms": summary(pooled.display),
        "push_to_receive_ms": summary(pooled.receive),
        "receive_to_display_ms": summary(pooled.receive_to_display),
        "per_page_push_to_display_p50_ms": [summary(f.display)["p50"] for f in per_page],
        "decode_check": check,
        "chrome_stats_median_over_pages": median_stats(stats),
        "server": server,
        "clock_offset_ms": {"browser_minus_python": round(offset[0], 2),
                            "uncertainty": round(offset[1], 2), "read_in": "the first page"},
    }
