"""Latency over a long session: does the delay from push to the viewer build up?

A synthesizer pushes speech a little faster than real time (as XTTS does) for
``--minutes``, with a beep every 2 s; a real aiortc viewer decodes the audio and
notes when each beep arrives. Push-to-arrival per beep, for the first and the
last minute, shows whether anything accumulates (the audio queue, the jitter of
the playout clock). Frames are pushed at 30 fps alongside. Prints one JSON line.

    .venv/bin/python bench/latency_drift.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import LOOPBACK_WEBRTC, TalkingFace
from avatar_streaming import AudioChunk, StreamingSystem, VideoFrame, create_streaming_system

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.integration.client import RtcClient

BEEP_EVERY_S = 2.0
RATE = 24000


async def speak(system: StreamingSystem, seconds: float, beeps: list[float]) -> None:
    """100 ms chunks, 10% faster than real time; a 1 kHz beep opens every 2nd second."""
    t = np.arange(RATE // 10) / RATE
    hum = (0.02 * 32767 * np.sin(2 * np.pi * 200 * t)).astype("<i2").tobytes()
    beep = (0.5 * 32767 * np.sin(2 * np.pi * 1000 * t)).astype("<i2").tobytes()
    start, pushed = time.monotonic(), 0
    while pushed * 0.1 < seconds:
        ahead = pushed * 0.1 - (time.monotonic() - start)
        if ahead > 0.3:  # keep ~300 ms queued, as a streaming synthesizer would
            await asyncio.sleep(0.09)
            continue
        is_beep = pushed % int(BEEP_EVERY_S * 10) == 0
        if is_beep:
            beeps.append(time.time() * 1000 + max(0.0, ahead) * 1000)  # when it is due
        await system.bridge.push_audio_chunk(
            AudioChunk(beep if is_beep else hum, RATE, 1, time.time() * 1000))
        pushed += 1


async def frames(system: StreamingSystem, stop: asyncio.Event) -> None:
    face, start, n = TalkingFace(), time.monotonic(), 0
    while not stop.is_set():
        await system.bridge.push_video_frame(VideoFrame(face.frame(), 512, 512,
                                                        time.time() * 1000))
        n += 1
        await asyncio.sleep(max(0.0, start + n / 30 - time.monotonic()))


async def listen(client: RtcClient, arrivals: list[float], stop: asyncio.Event) -> None:
    track = await client.track("audio")
    loud = False
    while not stop.is_set():
        frame = await asyncio.wait_for(track.recv(), 5)
        level = float(np.abs(frame.to_ndarray().astype(np.int32)).mean())
        if level > 5000 and not loud:
            arrivals.append(time.time() * 1000)
        loud = level > 5000


def window(delays: list[tuple[float, float]], start_s: float, end_s: float) -> dict[str, float]:
    values = [d for t, d in delays if start_s <= t < end_s]
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_ms": float(np.median(values)),
            "p90_ms": float(np.percentile(values, 90))}


async def run(minutes: float) -> dict[str, Any]:
    seconds = minutes * 60
    beeps: list[float] = []
    arrivals: list[float] = []
    stop = asyncio.Event()
    async with await create_streaming_system(
            {"webrtc": {**LOOPBACK_WEBRTC, "signalingPort": 0}}) as system:
        await system.start()
        client = RtcClient(f"ws://127.0.0.1:{system.server.port}/")
        await client.connect()
        started = time.time() * 1000
        tasks = [asyncio.create_task(frames(system, stop)),
                 asyncio.create_task(listen(client, arrivals, stop))]
        await speak(system, seconds, beeps)
        await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()
    delays = []
    for due in beeps:
        after = [a for a in arrivals if due - 50 <= a <= due + 1000]
        if after:
            delays.append(((due - started) / 1000, after[0] - due))
    return {"bench": "latency_drift", "minutes": minutes, "beeps": len(beeps),
            "heard": len(delays),
            "first_minute": window(delays, 0, 60),
            "last_minute": window(delays, seconds - 60, seconds + 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.minutes))))


if __name__ == "__main__":
    main()
