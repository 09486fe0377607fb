"""Churn soak: connect, negotiate, disconnect, many times; nothing may pile up.

One system runs in this process; clients (real aiortc peers over the real
WebSocket, ICE, DTLS and SRTP on 127.0.0.1) connect, receive a frame and go,
a few at a time, for ``--cycles`` cycles (bounded in time by ``--max-seconds``).
Before and after, it counts asyncio tasks, threads, open file descriptors and
RSS. Prints one JSON line.

    .venv/bin/python bench/churn.py [--cycles 1000] [--parallel 4]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _common import LOOPBACK_WEBRTC, TalkingFace, feed
from avatar_streaming import create_streaming_system

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.integration.client import RtcClient


def census() -> dict[str, Any]:
    gc.collect()
    with open("/proc/self/statm") as f:
        rss_pages = int(f.read().split()[1])
    return {"tasks": len([t for t in asyncio.all_tasks() if not t.done()]),
            "threads": threading.active_count(),
            "fds": len(os.listdir("/proc/self/fd")),
            "rss_mib": rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20}


async def cycle(url: str) -> None:
    client = RtcClient(url)
    try:
        await client.connect()
        await asyncio.wait_for((await client.track("video")).recv(), 10)
    finally:
        await client.close()


async def run(cycles: int, parallel: int, max_seconds: float) -> dict[str, Any]:
    async with await create_streaming_system(
            {"webrtc": {**LOOPBACK_WEBRTC, "signalingPort": 0}}) as system:
        await system.start()
        TalkingFace()  # draw once before counting
        feeder = asyncio.create_task(feed(system))
        url = f"ws://127.0.0.1:{system.server.port}/"
        for _ in range(5):  # warm-up: first-use allocations are not leaks
            await cycle(url)
        await asyncio.sleep(1)
        before, started, done, failed = census(), time.monotonic(), 0, 0
        while done + failed < cycles and time.monotonic() - started < max_seconds:
            batch = min(parallel, cycles - done - failed)
            results = await asyncio.gather(*(cycle(url) for _ in range(batch)),
                                           return_exceptions=True)
            failed += sum(isinstance(r, BaseException) for r in results)
            done += sum(not isinstance(r, BaseException) for r in results)
        elapsed = time.monotonic() - started
        await asyncio.sleep(2)  # let closing peers finish
        after = census()
        peers_after = system.get_status()["peerCount"]
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)
    return {"bench": "churn", "cycles": done, "failed": failed, "seconds": elapsed,
            "before": before, "after": after, "peer_count_after": peers_after,
            "rss_growth_pct": 100 * (after["rss_mib"] / before["rss_mib"] - 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.cycles, args.parallel, args.max_seconds))))


if __name__ == "__main__":
    main()
