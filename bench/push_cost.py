"""Push cost: how long push_video_frame and push_audio_chunk take in the caller.

A renderer at 30 fps and a synthesizer push from their own loops; every
microsecond a push holds them is theirs. The system runs as in production (its
encoder working on the pushed frames, one viewer connected), the face is
rendered beforehand so only the push is timed, and the floor is timed in the same
run: a 1 MiB copy of a frame not touched since it was drawn (as a fresh frame is not)
into a buffer already mapped, as the first thing after the same sleep (every other
frame is timed one way, the others the other way). Of the pushes timed, every other one
hands its frame over (a read-only array: no copy), the rest push a writable array, which
the bridge copies. Prints one JSON line.

    .venv/bin/python bench/push_cost.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np

from _common import FPS, LOOPBACK_WEBRTC, SIZE, TalkingFace
from avatar_streaming import AudioChunk, VideoFrame, create_streaming_system

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.integration.client import RtcClient


def summary(samples_s: list[float]) -> dict[str, float]:
    us = np.array(samples_s) * 1e6
    return {"median_us": float(np.median(us)), "p99_us": float(np.percentile(us, 99)),
            "n": len(us)}


async def run(seconds: float, audio_lead_ms: float | None) -> dict[str, object]:
    face = TalkingFace(1.0)
    faces = [face.frame() for _ in range(30)]
    handed = [f.copy() for f in faces]  # the same frames, handed over: read-only, not copied
    for f in handed:
        f.setflags(write=False)
    t = np.arange(1600) / 16000
    chunk = (0.2 * 32767 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes()
    video_s: list[float] = []
    handed_s: list[float] = []
    audio_s: list[float] = []
    copy_s: list[float] = []
    media = {} if audio_lead_ms is None else {"audioLeadMs": audio_lead_ms}
    async with await create_streaming_system(
            {"webrtc": {**LOOPBACK_WEBRTC, "signalingPort": 0}, "media": media}) as system:
        await system.start()
        viewer = RtcClient(f"ws://127.0.0.1:{system.server.port}/")
        if "--no-viewer" not in sys.argv:
            await viewer.connect()
        start, n = time.monotonic(), 0
        floor = np.empty_like(faces[0])
        while time.monotonic() - start < seconds:
            pixels = (handed if n % 4 == 2 else faces)[n % len(faces)]
            if n % 2:  # the floor: the same copy, as the first thing after the same sleep
                t0 = time.perf_counter()
                np.copyto(floor, faces[(n + len(faces) // 2) % len(faces)])
                copy_s.append(time.perf_counter() - t0)
            frame = VideoFrame(pixels, SIZE, SIZE, time.time() * 1000)
            t0 = time.perf_counter()
            await system.bridge.push_video_frame(frame)
            if not n % 2:
                (handed_s if n % 4 == 2 else video_s).append(time.perf_counter() - t0)
            if n % 3 == 0:  # 100 ms of audio every 100 ms
                t0 = time.perf_counter()
                await system.bridge.push_audio_chunk(
                    AudioChunk(chunk, 16000, 1, time.time() * 1000))
                audio_s.append(time.perf_counter() - t0)
            n += 1
            await asyncio.sleep(max(0.0, start + n / FPS - time.monotonic()))
        await viewer.close()
    return {"bench": "push_cost", "seconds": seconds,
            "push_video_frame": summary(video_s),
            "push_video_frame_handed_over": summary(handed_s),
            "push_audio_chunk_100ms_16k": summary(audio_s),
            "baseline_copy_1MiB_after_wake": summary(copy_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--audio-lead-ms", type=float, default=None,
                        help="media.audioLeadMs (default: the system's)")
    args, _ = parser.parse_known_args()
    print(json.dumps(asyncio.run(run(args.seconds, args.audio_lead_ms))))


if __name__ == "__main__":
    main()
