"""Viewers benchmark: server CPU and delivered fps for N viewers, ours against per-peer encoding.

For each server (ours; a baseline of plain aiortc that encodes per peer) and
each N, the server runs pinned to core 0 and N lightweight receivers
(bench/receivers.py) run in one process pinned to core 1. After a warm-up,
the server's CPU time (utime + stime from /proc) and the frames each viewer
receives are measured over the same window. The marginal CPU per viewer is the
least-squares slope of CPU against N. Prints one JSON line.

    .venv/bin/python bench/viewers.py [--counts 1,5,10,20,50,100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np
from _children import start, stop

from _common import process_cpu_seconds


def measure(kind: str, count: int, seconds: float, warmup: float) -> dict[str, Any]:
    server = start(["serve.py", "--kind", kind], core=0)
    receivers = None
    try:
        ready = server.stdout.readline().split()  # type: ignore[union-attr]
        assert ready and ready[0] == "ready", f"server did not start: {ready}"
        receivers = start(["receivers.py", "--url", f"ws://127.0.0.1:{ready[1]}/",
                           "--count", str(count)], core=1)
        connected = json.loads(receivers.stdout.readline())["connected"]  # type: ignore[union-attr]
        time.sleep(warmup)
        receivers.stdin.write("start\n")  # type: ignore[union-attr]
        receivers.stdin.flush()  # type: ignore[union-attr]
        cpu0, t0 = process_cpu_seconds(server.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = process_cpu_seconds(server.pid), time.monotonic()
        receivers.stdin.write("stop\n")  # type: ignore[union-attr]
        receivers.stdin.flush()  # type: ignore[union-attr]
        result = json.loads(receivers.stdout.readline())  # type: ignore[union-attr]
    finally:
        if receivers is not None:
            stop(receivers)
        stop(server, grace_s=0)
    fps = result["video-frames"]
    return {"viewers": count, "connected": connected,
            "server_cpu_pct_of_core": 100 * (cpu1 - cpu0) / (t1 - t0),
            "fps_mean": float(np.mean(fps)) if fps else 0.0,
            "fps_min": float(np.min(fps)) if fps else 0.0,
            "viewers_at_29fps": int(sum(f >= 29 for f in fps)),
            "audio_packets_per_s_mean": float(np.mean(result["audio-packets"])) if fps else 0.0}


def slope(rows: list[dict[str, Any]]) -> float | None:
    xs = [r["viewers"] for r in rows]
    if len(set(xs)) < 2:
        return None
    return float(np.polyfit(xs, [r["server_cpu_pct_of_core"] for r in rows], 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", default="1,5,10,20,50,100")
    parser.add_argument("--baseline-counts", default="1,2,4,6,8",
                        help="the baseline saturates early; its N stop where it falls over")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    baseline_counts = [int(c) for c in args.baseline_counts.split(",")]
    ours = [measure("ours", n, args.seconds, args.warmup) for n in counts]
    baseline = [measure("baseline", n, args.seconds, args.warmup) for n in baseline_counts]
    # the slope of the baseline is taken where it still keeps up (>= 29 fps for everyone)
    kept_up = [r for r in baseline if r["fps_min"] >= 29] or baseline[:2]
    ours_slope, base_slope = slope(ours), slope(kept_up)
    print(json.dumps({
        "bench": "viewers", "seconds": args.seconds, "cores": os.cpu_count(),
        "ours": ours, "baseline": baseline,
        "marginal_cpu_pct_per_viewer": {"ours": ours_slope, "baseline": base_slope},
        "ratio_ours_to_baseline": (ours_slope / base_slope
                                   if ours_slope is not None and base_slope else None),
    }))


if __name__ == "__main__":
    main()
