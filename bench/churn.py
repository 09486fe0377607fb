"""Churn soak: connect, negotiate, disconnect, many times; nothing may pile up in the server.

The server (bench/serve.py, streaming the talking face) runs in a process of its
own; this process runs the clients: real aiortc peers over the real WebSocket,
ICE, DTLS and SRTP on 127.0.0.1 that connect, receive a frame and go, a few at a
time. The server counts its own asyncio tasks, threads, open descriptors and
sockets, RSS and live aiortc/our objects (a census, asked over its stdin):

- ``start``: before any client;
- ``baseline``: after ``--warmup`` cycles (first-use allocations: codecs, SSL
  contexts, caches, the allocator's arenas are not leaks);
- ``after``: after ``--cycles`` more, and a pause for the last peers to close.

``rss_growth_pct`` compares ``after`` with ``baseline``. Bounded by ``--max-seconds``.
Prints one JSON line.

    .venv/bin/python bench/churn.py [--cycles 1000] [--warmup 50] [--parallel 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from _common import ServerProcess

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.integration.client import RtcClient

SETTLE_S = 3.0
"""Pause before a census: the last peers' closing (and the server's 1 s grace) completes."""


async def cycle(url: str) -> None:
    client = RtcClient(url)
    try:
        await client.connect()
        await asyncio.wait_for((await client.track("video")).recv(), 10)
    finally:
        await client.close()


async def cycles(url: str, count: int, parallel: int, deadline: float) -> tuple[int, list[str]]:
    """Run ``count`` cycles, ``parallel`` at a time; (done, failures) by ``deadline``."""
    done, failures = 0, list[str]()
    while done + len(failures) < count and time.monotonic() < deadline:
        batch = min(parallel, count - done - len(failures))
        results = await asyncio.gather(*(cycle(url) for _ in range(batch)),
                                       return_exceptions=True)
        failures += [repr(r)[:200] for r in results if isinstance(r, BaseException)]
        done += sum(not isinstance(r, BaseException) for r in results)
    return done, failures


def brief(census: dict[str, Any]) -> dict[str, Any]:
    return {k: census[k] for k in ("tasks", "threads", "fds", "sockets", "rss_mib",
                                   "gc_objects", "objects", "errors_logged")} | {
        "peer_count": census["status"]["peerCount"]}


async def run(count: int, warmup: int, parallel: int, max_seconds: float,
              trace: bool) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + max_seconds
    async with ServerProcess() as server:
        url = f"ws://127.0.0.1:{server.port}/"
        await asyncio.sleep(SETTLE_S)
        start = await server.ask("census")
        warm_done, warm_failures = await cycles(url, warmup, parallel, deadline)
        await asyncio.sleep(SETTLE_S)
        baseline = await server.ask("census")
        if trace:
            await server.ask("trace-start")
        measured = time.monotonic()
        done, failures = await cycles(url, count, parallel, deadline)
        elapsed = time.monotonic() - measured
        await asyncio.sleep(SETTLE_S)
        after = await server.ask("census")
        top = (await server.ask("trace-top", 300))["top"] if trace else None
    return {
        "bench": "churn", "cycles": done, "failed": len(failures), "failures": failures[:5],
        "warmup_cycles": warm_done, "warmup_failed": len(warm_failures),
        "parallel": parallel, "seconds": round(elapsed, 1),
        "cycles_per_s": round(done / elapsed, 2) if elapsed else None,
        "server": {"start": brief(start), "baseline": brief(baseline), "after": brief(after)},
        "rss_growth_pct": round(100 * (after["rss_mib"] / baseline["rss_mib"] - 1), 2),
        "rss_growth_pct_from_start": round(100 * (after["rss_mib"] / start["rss_mib"] - 1), 2),
        "baseline_note": f"baseline taken after {warm_done} warm-up cycles: first-use "
                         "allocations (codecs, SSL, caches, allocator arenas) are not leaks",
        "last_errors": after["last_errors"],
        **({"tracemalloc_top": top} if trace else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--trace", action="store_true",
                        help="tracemalloc in the server from the baseline on; report the top "
                             "growth (slows the server down)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.cycles, args.warmup, args.parallel,
                                     args.max_seconds, args.trace))))


if __name__ == "__main__":
    main()
