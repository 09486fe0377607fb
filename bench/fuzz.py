"""Fuzz soak: many generated messages into a live server while a viewer keeps watching.

The longer run of tests/integration/test_fuzz.py. The messages come from the
same Hypothesis strategies (tests/fuzzing.py), ``--messages`` of them drawn
before anything connects (about 1.5 ms each), and are sent ``--repeat`` times.
Three processes: the server (bench/serve.py, streaming the talking face; its
message rate limit lifted unless ``--rate-limit``, so that every message is
parsed); a viewer (bench/receivers.py: a real aiortc peer counting the frames
it receives); and this one, the fuzzing clients, ``--parallel`` at a time, each
sending ``--per-connection`` messages over its own WebSocket and then leaving:
cleanly, or every other one by dropping the TCP connection without a close
frame. Each fuzzing client ends with a sentinel message whose error reply
shows every earlier reply has arrived.

The server counts what it logged at ERROR or above (a bug of ours caught by the
session, an exception no one retrieved, a failed request): it must stay 0, as
must "internal error" replies. The sending phase stops after ``--seconds``.
Prints one JSON line.

    .venv/bin/python bench/fuzz.py [--messages 100000] [--repeat 10] [--seconds 600]
    .venv/bin/python bench/fuzz.py --structured 10000

With ``--structured CASES``, the clients send structured cases instead (the longer run of
the structured test in tests/integration/test_fuzz.py): mutations of a real Chromium offer
and its candidates, wrong-shaped messages, WHEP offers and PATCHes; every message's reply
is judged by tests/fuzz_oracle.py, and the cases answered wrongly are counted and the
first one shown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from _children import Child

from _common import ServerProcess, process_cpu_seconds

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.fuzz_oracle import Verdict, run_signaling_case, run_whep_case, with_deadline
from tests.fuzzing import WhepCase, client_messages, draw_all, signaling_cases, whep_cases

INTERNAL_ERROR = "internal error"
SETTLE_S = 3.0


class Fuzzer:
    """One fuzzing connection: sends what it is given, counts the error replies."""

    def __init__(self, url: str, number: int) -> None:
        self.url, self.number = url, number
        self.errors = self.internal_errors = self.sent = 0
        self.other_replies: Counter[str] = Counter()
        self.closed_by_server = self.unanswered = False
        self._sentinel = f"fuzz-end-{number}"
        self._done = asyncio.Event()

    async def run(self, messages: list[str], deadline: float) -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(self.url)
            reader = asyncio.create_task(self._read(ws))
            for text in messages:
                if ws.closed or time.monotonic() > deadline:
                    break
                await ws.send_str(text)
                self.sent += 1
                if self.sent % 200 == 0:
                    await asyncio.sleep(0)  # a fast client, not one that blocks its loop
            answered_by = time.monotonic() + 60
            while not ws.closed and not self._done.is_set():
                if time.monotonic() > answered_by:
                    self.unanswered = True
                    break
                # again every half second: under a rate limit, one may be dropped
                await ws.send_str(json.dumps({"type": self._sentinel}))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._done.wait(), 0.5)
            if self.number % 2 == 0:
                await ws.close()
            # else: the session closes the TCP connection underneath, no close frame
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            body = json.loads(msg.data)
            if body.get("type") == "ping":
                await ws.send_str(json.dumps({"type": "pong"}))
            elif body.get("type") == "error":
                if self._sentinel in body["error"]:
                    self._done.set()
                    continue
                self.errors += 1
                self.internal_errors += body["error"].startswith(INTERNAL_ERROR)
            elif body.get("type") != "config":
                self.other_replies[str(body.get("type"))] += 1
        self.closed_by_server = not self._done.is_set()
        self._done.set()


class Viewer:
    """bench/receivers.py with one viewer, in a process of its own: what the server
    delivers is measured, not how much CPU the fuzzing clients leave this process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._child = Child(["receivers.py", "--url", url, "--count", "1"])

    async def __aenter__(self) -> Viewer:
        await self._child.start()
        connected = json.loads(await self._child.line())["connected"]
        if connected != 1:
            await self.__aexit__()
            raise RuntimeError("receivers.py: the viewer did not connect")
        return self

    async def tell(self, command: str) -> None:
        await self._child.tell(command)

    async def window(self) -> dict[str, Any]:
        """After "start" and "stop": frames (RTP marker bits) and packets per second."""
        body = json.loads(await self._child.line())
        return {"fps": round(body["video-frames"][0], 1),
                "video_packets_per_s": round(body["video-packets"][0], 1),
                "audio_packets_per_s": round(body["audio-packets"][0], 1)}

    async def __aexit__(self, *_exc: object) -> None:
        await self._child.stop(grace_s=15)  # receivers.py: the end of stdin ends the viewers


async def fuzz(url: str, messages: list[str], per_connection: int, parallel: int,
               deadline: float) -> list[Fuzzer]:
    chunks = [messages[i:i + per_connection] for i in range(0, len(messages), per_connection)]
    fuzzers: list[Fuzzer] = []
    for start in range(0, len(chunks), parallel):
        if time.monotonic() > deadline:
            break
        batch = [Fuzzer(url, len(fuzzers) + i) for i in range(len(chunks[start:start + parallel]))]
        fuzzers += batch
        await asyncio.gather(*(f.run(c, deadline) for f, c in zip(batch, chunks[start:],
                                                                  strict=False)))
    return fuzzers


def brief(census: dict[str, Any]) -> dict[str, Any]:
    return {k: census[k] for k in ("tasks", "threads", "fds", "sockets", "rss_mib",
                                   "errors_logged")} | {
        "peer_count": census["status"]["peerCount"]}


async def run(count: int, repeat: int, seconds: float, per_connection: int,
              parallel: int, rate_limit: bool) -> dict[str, Any]:
    drawn_at = time.monotonic()
    drawn: list[str] = draw_all(client_messages, count)
    draw_s = time.monotonic() - drawn_at
    messages = drawn * repeat
    unlimited = {"messageRateLimit": 1e6, "messageBurst": 10**9}
    async with ServerProcess({"maxClients": parallel + 5,
                              **({} if rate_limit else unlimited)}) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        async with Viewer(url) as viewer:
            await asyncio.sleep(SETTLE_S)
            before = await server.ask("census")
            await viewer.tell("start")
            started, cpu0 = time.monotonic(), process_cpu_seconds(server.pid)
            counters0 = await server.ask("counters")
            fuzzers = await fuzz(url, messages, per_connection, parallel, started + seconds)
            counters1 = await server.ask("counters")
            elapsed, cpu1 = time.monotonic() - started, process_cpu_seconds(server.pid)
            await viewer.tell("stop")
            fps = await viewer.window()
            await asyncio.sleep(SETTLE_S)
            after = await server.ask("census")
    sent = sum(f.sent for f in fuzzers)
    return {
        "bench": "fuzz", "messages_drawn": len(drawn), "repeat": repeat,
        "rate_limit": "default" if rate_limit else "lifted",
        "draw_seconds": round(draw_s, 1),
        "messages_sent": sent, "seconds": round(elapsed, 1),
        "messages_per_s": round(sent / elapsed), "connections": len(fuzzers),
        "connections_closed_by_server": sum(f.closed_by_server for f in fuzzers),
        "sentinel_unanswered": sum(f.unanswered for f in fuzzers),
        "errors_answered": sum(f.errors for f in fuzzers),
        "other_replies": dict(sum((f.other_replies for f in fuzzers), Counter[str]())),
        "internal_error_replies": sum(f.internal_errors for f in fuzzers),
        "server_exceptions": after["errors_logged"], "last_errors": after["last_errors"],
        "server_cpu_pct_of_core": round(100 * (cpu1 - cpu0) / elapsed, 1),
        "viewer": fps,
        "server_frames_per_s": {
            k: round((counters1[k] - counters0[k]) / (counters1["time"] - counters0["time"]), 1)
            for k in ("pushed", "encoded")} | {
            "keyframes": counters1["keyframes"] - counters0["keyframes"]},
        "server": {"before": brief(before), "after": brief(after)},
        "rss_growth_pct": round(100 * (after["rss_mib"] / before["rss_mib"] - 1), 2),
    }


async def run_structured(count: int, seconds: float, parallel: int) -> dict[str, Any]:
    """``count`` structured cases (tests/fuzzing.py): three in four over the WebSocket, one
    in four over WHEP, each judged by tests/fuzz_oracle.py, ``parallel`` at a time."""
    drawn_at = time.monotonic()
    cases: list[Any] = draw_all(signaling_cases, count - count // 4)
    cases += draw_all(whep_cases, count // 4)
    random.Random(0).shuffle(cases)
    draw_s = time.monotonic() - drawn_at
    verdicts: list[Verdict] = []
    async with ServerProcess({"maxClients": parallel + 5, "messageRateLimit": 1e6,
                              "messageBurst": 10**9}) as server:
        url = f"ws://127.0.0.1:{server.port}/"
        base = f"http://127.0.0.1:{server.port}"
        async with Viewer(url) as viewer, aiohttp.ClientSession() as http:
            await asyncio.sleep(SETTLE_S)
            before = await server.ask("census")
            await viewer.tell("start")
            started, cpu0 = time.monotonic(), process_cpu_seconds(server.pid)
            queue = list(reversed(cases))

            async def worker() -> None:
                while queue and time.monotonic() < started + seconds:
                    case = queue.pop()
                    verdicts.append(await with_deadline(
                        run_whep_case(http, base, case) if isinstance(case, WhepCase)
                        else run_signaling_case(http, url, case)))

            await asyncio.gather(*(worker() for _ in range(parallel)))
            elapsed, cpu1 = time.monotonic() - started, process_cpu_seconds(server.pid)
            await viewer.tell("stop")
            fps = await viewer.window()
            await asyncio.sleep(SETTLE_S)
            after = await server.ask("census")
    wrong = [v for v in verdicts if v.problems]
    problems = Counter(problem[:80] for v in wrong for problem in v.problems)
    return {
        "bench": "fuzz", "mode": "structured", "cases_drawn": len(cases),
        "draw_seconds": round(draw_s, 1), "cases_run": len(verdicts),
        "whep_cases": sum(isinstance(c, WhepCase) for c in cases[:len(verdicts)]),
        "messages_judged": sum(len(v.outcomes) for v in verdicts),
        "seconds": round(elapsed, 1), "cases_per_s": round(len(verdicts) / elapsed, 1),
        "outcomes": dict(Counter(o for v in verdicts for o in v.outcomes)),
        "cases_answered_wrongly": len(wrong), "problems": dict(problems.most_common(10)),
        "first_wrong": wrong[0].describe()[:2000] if wrong else None,
        "slowest_reply_s": round(max((v.slowest_reply_s for v in verdicts), default=0), 3),
        "server_exceptions": after["errors_logged"], "last_errors": after["last_errors"],
        "server_cpu_pct_of_core": round(100 * (cpu1 - cpu0) / elapsed, 1),
        "viewer": fps,
        "server": {"before": brief(before), "after": brief(after)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10,
                        help="send the drawn messages this many times (a longer soak "
                             "without drawing more)")
    parser.add_argument("--seconds", type=float, default=600, help="cap on the sending phase")
    parser.add_argument("--per-connection", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--structured", type=int, metavar="CASES",
                        help="instead of the flood: this many structured cases (mutated "
                             "browser offers and candidates, wrong shapes, WHEP), each "
                             "judged by tests/fuzz_oracle.py")
    parser.add_argument("--rate-limit", action="store_true",
                        help="keep the server's default message rate limit (most messages are "
                             "then dropped unparsed, as a flooding client's would be)")
    args = parser.parse_args()
    if args.structured:
        print(json.dumps(asyncio.run(run_structured(args.structured, args.seconds,
                                                    args.parallel))))
        return
    print(json.dumps(asyncio.run(run(args.messages, args.repeat, args.seconds,
                                     args.per_connection, args.parallel, args.rate_limit))))


if __name__ == "__main__":
    main()
