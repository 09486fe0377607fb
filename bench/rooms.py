"""Rooms benchmark: how many conversations one core holds, what each costs, and whether
they disturb each other.

For each N, a server (this file with ``--serve N``) runs pinned to core 0 with N rooms,
each fed like a renderer and a TTS would (the demo face talking, 512x512 RGBA at 30 fps,
and speech-like audio); N viewers, one per room, each a real aiortc peer in a process
of its own (bench/receivers.py, counting RTP instead of decoding), run pinned to core 1.
Over the same window it measures the server's CPU (utime + stime), the frames each
viewer receives, the server's RSS, and push -> last RTP packet of each frame (the
encode and fan-out) per room. It prints the largest N at which every viewer held
29 fps, the CPU and RSS per room, and the latency at that N.

``--burst`` adds one more room whose renderer bursts (30 frames at once, once a second)
and reports the other rooms' fps and latency beside a run without it, at the same N.
``--gil`` measures whether PyAV lets two threads encode (VP8) and convert (RGBA to
yuv420p) at once: the time of 2 x K operations on one thread against two threads.
``--churn`` runs 400 cycles of open-on-demand / join / leave / idle-close against the
server in its own process and reports its RSS after 200 and after 400.

    .venv/bin/python bench/rooms.py [--counts 1,2,4,6,8,10] [--seconds 10] [--burst] [--gil]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from _children import ask, start, stop

from _common import FPS, LOOPBACK_WEBRTC, SIZE, TalkingFace, process_cpu_seconds
from avatar_streaming import (
    AudioChunk,
    FrameSentEvent,
    Room,
    VideoFrame,
    create_streaming_system,
)

HERE = Path(__file__).parent


# ---- the server (``--serve N``), in a process of its own --------------------------------

class PushLatency:
    """Push -> last RTP packet of each fresh frame, per room (the bridge's "frame-sent")."""

    def __init__(self, room: Room) -> None:
        self.samples: list[float] = []
        room.bridge.on("frame-sent", self._sent)

    def _sent(self, event: FrameSentEvent) -> None:
        if not event.repeat and event.pushed_at is not None:
            self.samples.append(event.sent_at - event.pushed_at)


async def feed_room(room: Room, frames: list[np.ndarray], offset: int, burst: bool) -> None:
    """Like a renderer and a TTS: frames at 30 fps (or, with ``burst``, 30 at once every
    second), and 100 ms of speech-like audio kept 300 ms ahead."""
    t = np.arange(1600) / 16000
    speech = (0.2 * 32767 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
              ).astype("<i2").tobytes()
    start, n, audio_pushed = time.monotonic(), 0, 0.0
    while True:
        for _ in range(FPS if burst else 1):
            await room.bridge.push_video_frame(VideoFrame(
                frames[(offset + n) % len(frames)], SIZE, SIZE, time.time() * 1000))
            n += 1
        while audio_pushed < time.monotonic() - start + 0.3:
            await room.bridge.push_audio_chunk(AudioChunk(speech, 16000, 1, time.time() * 1000))
            audio_pushed += 0.1
        await asyncio.sleep(max(0.0, start + n / FPS - time.monotonic()))


async def serve(count: int, burst: bool, on_demand: bool) -> None:
    """N rooms ("r0".."r{N-1}"; with ``burst``, also "burst"), fed; "ready PORT" on stdout;
    then each stdin line "stats" answers one JSON line."""
    webrtc = {**LOOPBACK_WEBRTC, "signalingPort": 0, "maxClients": 1000,
              "rooms": {"onDemand": on_demand, "maxRooms": 1000, "idleCloseS": 0.05}}
    system = await create_streaming_system({"webrtc": webrtc})
    await system.start()
    frames = TalkingFace()._frames  # drawn once, shared: the renderer's memory is not ours
    names = [f"r{i}" for i in range(count)] + (["burst"] if burst else [])
    latencies: dict[str, PushLatency] = {}
    feeders = []
    for i, name in enumerate(names):
        room = await system.open_room(name)
        latencies[name] = PushLatency(room)
        feeders.append(asyncio.create_task(feed_room(room, frames, i * 7, name == "burst")))
    print(f"ready {system.server.port}", flush=True)
    stdin = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    while line := (await stdin.readline()).decode().strip():
        if line == "reset":
            for latency in latencies.values():
                latency.samples.clear()
            print("{}", flush=True)
        elif line == "stats":
            print(json.dumps({
                "rss_mib": rss_mib(os.getpid()), "rooms_open": len(system.rooms),
                "threads": threading.active_count(),
                "push_to_packet_ms": {name: percentiles(lat.samples)
                                      for name, lat in latencies.items()},
                "fresh_frames_sent": {name: len(lat.samples)
                                      for name, lat in latencies.items()}}), flush=True)
    for task in feeders:
        task.cancel()
    await asyncio.gather(*feeders, return_exceptions=True)
    await system.stop()


def percentiles(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p90": None, "n": 0}
    return {"p50": round(float(np.percentile(samples, 50)), 2),
            "p90": round(float(np.percentile(samples, 90)), 2), "n": len(samples)}


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return round(kib / 1024, 1)


# ---- the measuring side ----------------------------------------------------------------

def measure(count: int, seconds: float, warmup: float, burst: bool = False) -> dict[str, Any]:
    server = start([__file__, "--serve", str(count), *(["--burst"] if burst else [])], core=0)
    viewers: list[subprocess.Popen[str]] = []
    try:
        ready = server.stdout.readline().split()  # type: ignore[union-attr]
        assert ready and ready[0] == "ready", f"server did not start: {ready}"
        rooms = [f"r{i}" for i in range(count)] + (["burst"] if burst else [])
        for room in rooms:
            viewers.append(start(["receivers.py", "--url",
                                  f"ws://127.0.0.1:{ready[1]}/?room={room}", "--count", "1"],
                                 core=1))
        connected = sum(json.loads(v.stdout.readline())["connected"]  # type: ignore[union-attr]
                        for v in viewers)
        time.sleep(warmup)
        ask(server, "reset")
        for viewer in viewers:
            viewer.stdin.write("start\n")  # type: ignore[union-attr]
            viewer.stdin.flush()  # type: ignore[union-attr]
        cpu0, t0 = process_cpu_seconds(server.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = process_cpu_seconds(server.pid), time.monotonic()
        for viewer in viewers:
            viewer.stdin.write("stop\n")  # type: ignore[union-attr]
            viewer.stdin.flush()  # type: ignore[union-attr]
        results = [json.loads(v.stdout.readline()) for v in viewers]  # type: ignore[union-attr]
        stats = ask(server, "stats")
    finally:
        for viewer in viewers:
            stop(viewer)
        stop(server)
    fps = {room: r["video-frames"][0] if r["video-frames"] else 0.0
           for room, r in zip(rooms, results, strict=True)}
    steady = [f for room, f in fps.items() if room != "burst"]
    cpu_pct = 100 * (cpu1 - cpu0) / (t1 - t0)
    latency = [v["p50"] for room, v in stats["push_to_packet_ms"].items()
               if room != "burst" and v["p50"] is not None]
    return {"rooms": count, "burst_room": burst, "connected": connected,
            "server_cpu_pct_of_core": round(cpu_pct, 1),
            "cpu_pct_per_room": round(cpu_pct / len(rooms), 1),
            "fps_min": round(min(steady), 1) if steady else 0.0,
            "sent_fps_min": round(min(n for room, n in stats["fresh_frames_sent"].items()
                                      if room != "burst") / (t1 - t0), 1),
            "fps_mean": round(float(np.mean(steady)), 1) if steady else 0.0,
            "all_at_29fps": bool(steady) and min(steady) >= 29,
            "push_to_packet_p50_ms_median_over_rooms":
                round(float(np.median(latency)), 2) if latency else None,
            "push_to_packet_p50_ms_worst_room": max(latency) if latency else None,
            "burst_room_fps": round(fps["burst"], 1) if burst else None,
            "rss_mib": stats["rss_mib"], "threads": stats["threads"]}


def gil(operations: int = 120) -> dict[str, Any]:
    """2 x ``operations`` encodes (and conversions) on one thread, then on two at once."""
    import av

    from avatar_streaming.media.encoder import VIDEO_TIME_BASE, codec_encoder

    def rgba_to_yuv420p(rgba: np.ndarray) -> av.VideoFrame:
        return av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuv420p")

    frames = TalkingFace()._frames
    out: dict[str, Any] = {}

    def convert(n: int) -> None:
        for i in range(n):
            rgba_to_yuv420p(frames[i % len(frames)])

    def encode(n: int) -> None:
        encoder = codec_encoder("VP8", 90000)
        for i in range(n):
            frame = rgba_to_yuv420p(frames[i % len(frames)])
            frame.pts, frame.time_base = i * 3000, VIDEO_TIME_BASE
            encoder.encode(frame, False)

    for name, work in (("rgba_to_yuv420p", convert), ("vp8_encode_with_conversion", encode)):
        started = time.perf_counter()
        work(2 * operations)
        one = time.perf_counter() - started
        with ThreadPoolExecutor(2) as pool:
            started = time.perf_counter()
            list(pool.map(work, (operations, operations)))
            two = time.perf_counter() - started
        out[name] = {"one_thread_s": round(one, 3), "two_threads_s": round(two, 3),
                     "speedup": round(one / two, 2),
                     "ms_per_operation": round(1000 * one / (2 * operations), 2)}
    return out


async def churn(cycles: int = 400) -> dict[str, Any]:
    """Open-on-demand / join / leave / idle-close against a server of its own."""
    sys.path.insert(0, str(HERE.parent))
    from tests.integration.client import RtcClient, SignalingClient

    server = start([__file__, "--serve", "0", "--on-demand"], core=0)
    samples: dict[int, float] = {}
    try:
        port = server.stdout.readline().split()[1]  # type: ignore[union-attr]
        for cycle in range(1, cycles + 1):
            url = f"ws://127.0.0.1:{port}/?room=churn-{cycle % 7}"
            if cycle % 20 == 10:
                client: SignalingClient = RtcClient(url)
                await client.connect()  # type: ignore[attr-defined]
                await asyncio.wait_for((await client.track("video")).recv(), 10)  # type: ignore[attr-defined]
            else:
                client = SignalingClient(url)
                await client.open()
                await client.expect("config")
            await client.close()
            await asyncio.sleep(0.05)
            if cycle in (cycles // 2, cycles):
                await asyncio.sleep(0.5)
                samples[cycle] = ask(server, "stats")["rss_mib"]
    finally:
        stop(server)
    first, last = samples[cycles // 2], samples[cycles]
    return {"cycles": cycles, "rss_mib_after_half": first, "rss_mib_at_end": last,
            "rss_growth_pct": round(100 * (last - first) / first, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--on-demand", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--counts", default="1,2,4,6,8,10")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--burst", action="store_true",
                        help="also run the largest N held with a bursting room beside it")
    parser.add_argument("--gil", action="store_true", help="also measure PyAV and the GIL")
    parser.add_argument("--churn", action="store_true", help="also run the churn soak")
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve, args.burst, args.on_demand))
        return
    rows = []
    for count in (int(c) for c in args.counts.split(",")):
        rows.append(measure(count, args.seconds, args.warmup))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    held = [r for r in rows if r["all_at_29fps"]]
    best = max(held, key=lambda r: r["rooms"]) if held else None
    report: dict[str, Any] = {
        "bench": "rooms", "seconds": args.seconds, "server_cores": 1, "runs": rows,
        "max_rooms_at_29fps_on_one_core": best["rooms"] if best else 0,
        "cpu_pct_of_core_per_room_at_max": best["cpu_pct_per_room"] if best else None,
        "push_to_packet_p50_ms_at_max":
            best["push_to_packet_p50_ms_median_over_rooms"] if best else None,
    }
    if len(rows) >= 2:
        xs = [r["rooms"] for r in rows]
        report["rss_mib_per_room_slope"] = round(float(np.polyfit(
            xs, [r["rss_mib"] for r in rows], 1)[0]), 2)
        report["cpu_pct_per_room_slope"] = round(float(np.polyfit(
            xs, [r["server_cpu_pct_of_core"] for r in rows], 1)[0]), 2)
    if args.burst and best is not None:
        report["with_a_bursting_room"] = measure(best["rooms"], args.seconds, args.warmup,
                                                 burst=True)
    if args.gil:
        report["gil"] = gil()
    if args.churn:
        report["churn"] = asyncio.run(churn())
    print(json.dumps(report))


if __name__ == "__main__":
    main()
