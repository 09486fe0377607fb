"""Janus fan-out: what one Janus costs per subscriber when our system publishes into it.

Our system runs in SFU mode (its own process) and publishes the demo face, 512x512 at
30 fps, and a tone into a Janus VideoRoom; Janus is started as the integration tests
start it (tests/integration/janus_server.py). Subscribers to our feed are then added
through Janus in steps (0, 1, 10, 50, 100 by default). They are real aiortc peers
(ICE, DTLS, SRTP) in one process of their own that count RTP packets, payload bytes
and frames (marker bits) instead of decoding. At each step, after a warm-up, each
window measures from /proc the CPU time of Janus, of our process and of the
subscribers' process separately (% of one core), Janus's RSS and threads, and how
busy the whole host was (others share it); and what every subscriber received.

Janus and our process are pinned to core 0, the subscribers to core 1 (on a machine
with two cores or more). Janus refuses loopback for media, so as root the script
re-runs itself in a network namespace of its own, with an address on an interface
there (``janus_server.setup_network``). Bounded by ``--max-seconds``; prints one
JSON line.

    .venv/bin/python bench/janus_fanout.py                       # about 3 minutes
    .venv/bin/python bench/janus_fanout.py --counts 1,10 --seconds 5 --windows 1  # quick
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from _children import Child
from _netns import in_netns, reexec_in_netns
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from _common import feed, process_cpu_seconds
from avatar_streaming import create_streaming_system
from avatar_streaming.rtc.ice import gathering_on
from avatar_streaming.sfu import RelayState
from avatar_streaming.sfu.janus import JanusSession
from avatar_streaming.sfu.videoroom import PLUGIN

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.integration import janus_server

HERE = Path(__file__)
ROOM = 4343


# --- the subscribers' process --------------------------------------------------------

COUNTS: Counter[tuple[int, str]] = Counter()
"""(id of the receiver, "video-frames" | "video-packets" | "video-bytes" | "audio-...")."""


async def _count(self: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int) -> None:
    kind = self._RTCRtpReceiver__kind  # type: ignore[attr-defined]
    COUNTS[(id(self), f"{kind}-packets")] += 1
    COUNTS[(id(self), f"{kind}-bytes")] += len(packet.payload)
    if kind == "video" and packet.marker:
        COUNTS[(id(self), "video-frames")] += 1


KEYS = ("video-frames", "video-packets", "video-bytes", "audio-packets", "audio-bytes")


class Subscriber:
    """Watches our feed through Janus: a subscriber handle, answering Janus's offer."""

    def __init__(self, session: JanusSession) -> None:
        self.session = session
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

    async def connect(self, feed_id: int) -> None:
        handle = await self.session.attach(PLUGIN)
        reply = await handle.send({"request": "join", "ptype": "subscriber", "room": ROOM,
                                   "streams": [{"feed": feed_id}]})
        assert reply.jsep is not None, reply
        await self.pc.setRemoteDescription(
            RTCSessionDescription(sdp=reply.jsep["sdp"], type=reply.jsep["type"]))
        with gathering_on([janus_server.ADDRESS]):
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        await handle.send({"request": "start"}, {"type": "answer", "trickle": False,
                                                 "sdp": self.pc.localDescription.sdp})

    def counts(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for receiver in self.pc.getReceivers():
            for key in KEYS:
                out[key] += COUNTS[(id(receiver), key)]
        return dict(out)


async def run_subscribers(feed_id: int, url: str) -> None:
    """Commands on stdin: "add N", "start", "stop" (rates since "start"); EOF ends."""
    RTCRtpReceiver._handle_rtp_packet = _count  # type: ignore[method-assign]
    session = JanusSession(url)
    await session.open()
    subscribers: list[Subscriber] = []
    limit = asyncio.Semaphore(10)
    failed = 0

    async def connect(subscriber: Subscriber) -> None:
        nonlocal failed
        async with limit:
            try:
                await asyncio.wait_for(subscriber.connect(feed_id), 30)
                subscribers.append(subscriber)
            except Exception as exc:  # report, don't stop the others
                failed += 1
                print(f"subscribe failed: {exc!r}", file=sys.stderr)
                await subscriber.pc.close()

    stdin = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    before: list[dict[str, int]] = []
    started = time.monotonic()
    while line := (await stdin.readline()).decode().split():
        reply: dict[str, Any]
        if line[0] == "add":
            t0 = time.monotonic()
            await asyncio.gather(*(connect(Subscriber(session)) for _ in range(int(line[1]))))
            reply = {"connected": len(subscribers), "failed": failed,
                     "connect_s": round(time.monotonic() - t0, 1)}
        elif line[0] == "start":
            before, started = [s.counts() for s in subscribers], time.monotonic()
            reply = {"started": len(before)}
        else:  # "stop"
            elapsed = time.monotonic() - started
            after = [s.counts() for s in subscribers[:len(before)]]
            reply = {"seconds": elapsed, **{key: [(a.get(key, 0) - b.get(key, 0)) / elapsed
                                                  for a, b in zip(after, before, strict=True)]
                                            for key in KEYS}}
        print(json.dumps(reply), flush=True)
    await asyncio.gather(*(s.pc.close() for s in subscribers), return_exceptions=True)
    await session.destroy()


# --- our process: the avatar, publishing into Janus ------------------------------------

async def run_publisher() -> None:
    """Publish into the room; print "published FEED_ID"; "status" answers get_status()."""
    async with await create_streaming_system({
            "webrtc": {"signalingPort": 0, "signalingHost": "127.0.0.1", "iceServers": [],
                       "iceHostAddresses": [janus_server.ADDRESS],
                       "sfu": {"type": "janus", "url": janus_server.URL, "room": ROOM,
                               "display": "avatar"}},
            "media": {"videoWidth": 512, "videoHeight": 512, "videoFps": 30}}) as system:
        await system.start()
        feeder = asyncio.create_task(feed(system))
        relay = system.sfu
        assert relay is not None
        deadline = time.monotonic() + 20
        while relay.state is not RelayState.PUBLISHED or relay.feed_id is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"not published into Janus: {relay.state}")
            await asyncio.sleep(0.05)
        print(f"published {relay.feed_id}", flush=True)
        stdin = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
        while await stdin.readline():
            print(json.dumps(system.get_status()), flush=True)
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)


# --- the bench -------------------------------------------------------------------------

def rss_mib_and_threads(pid: int) -> tuple[float, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def host_busy_cores() -> tuple[float, float]:
    """(busy, total) jiffies of the whole host, from /proc/stat, in seconds."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    ticks = os.sysconf("SC_CLK_TCK")
    return (total - idle) / ticks, total / ticks


def spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"mean": round(float(np.mean(values)), 2), "min": round(float(np.min(values)), 2),
            "max": round(float(np.max(values)), 2)}


async def window(janus_pids: dict[str, int], publisher: Child, subscribers: Child,
                 seconds: float) -> dict[str, Any]:
    pids = {**janus_pids, "ours": publisher.pid, "subscribers": subscribers.pid}
    await subscribers.ask("start")
    cpu0 = {k: process_cpu_seconds(p) for k, p in pids.items()}
    host0, t0 = host_busy_cores(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu1 = {k: process_cpu_seconds(p) for k, p in pids.items()}
    host1, t1 = host_busy_cores(), time.monotonic()
    got = await subscribers.ask("stop")
    rss, threads = rss_mib_and_threads(janus_pids["janus"])
    edge: dict[str, Any] = {}
    if "edge" in janus_pids:
        edge_rss, edge_threads = rss_mib_and_threads(janus_pids["edge"])
        edge = {"edge_rss_mib": round(edge_rss, 1), "edge_threads": edge_threads}
    elapsed = t1 - t0
    fps = got["video-frames"]
    return {**edge,
        "cpu_pct_of_core": {k: round(100 * (cpu1[k] - cpu0[k]) / elapsed, 1) for k in pids},
        "host_busy_pct": round(100 * (host1[0] - host0[0]) / elapsed, 1),
        "host_of_pct": round(100 * (host1[1] - host0[1]) / elapsed),
        "janus_rss_mib": round(rss, 1), "janus_threads": threads,
        "per_subscriber": {
            "fps": spread(fps), "at_29fps": int(sum(f >= 29 for f in fps)),
            "video_packets_per_s": spread(got["video-packets"]),
            "video_payload_kbps": spread([8 * b / 1000 for b in got["video-bytes"]]),
            "audio_packets_per_s": spread(got["audio-packets"]),
            "audio_payload_kbps": spread([8 * b / 1000 for b in got["audio-bytes"]])},
    }


def summary(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the windows of one step."""
    def median(get: Any) -> float:
        return round(statistics.median(get(w) for w in windows), 1)
    edge = {"edge_cpu_pct": median(lambda w: w["cpu_pct_of_core"]["edge"])
            } if "edge" in windows[0]["cpu_pct_of_core"] else {}
    return {"janus_cpu_pct": median(lambda w: w["cpu_pct_of_core"]["janus"]), **edge,
            "ours_cpu_pct": median(lambda w: w["cpu_pct_of_core"]["ours"]),
            "subscribers_cpu_pct": median(lambda w: w["cpu_pct_of_core"]["subscribers"]),
            "host_busy_pct": median(lambda w: w["host_busy_pct"]),
            "janus_rss_mib": median(lambda w: w["janus_rss_mib"]),
            "fps_mean": median(lambda w: w["per_subscriber"]["fps"].get("mean", 0.0)),
            "fps_min": median(lambda w: w["per_subscriber"]["fps"].get("min", 0.0))}


def slope(steps: list[dict[str, Any]], key: str) -> float | None:
    xs = [s["subscribers"] for s in steps]
    if len(set(xs)) < 2:
        return None
    return round(float(np.polyfit(xs, [s["median"][key] for s in steps], 1)[0]), 4)


async def sweep(args: argparse.Namespace, janus_pids: dict[str, int],
                out: dict[str, Any]) -> None:
    pin = (os.cpu_count() or 1) >= 2 and not args.no_pin
    publisher = Child([str(HERE), "--role", "publisher"], {0} if pin else None)
    subscribers: Child | None = None
    try:
        await publisher.start()
        published = (await publisher.line(30)).split()
        assert published[0] == "published", published
        out["feed_id"] = watched = int(published[1])
        url = janus_server.URL
        if args.cascade:
            out["cascade"] = await cascade(watched)
            watched, url = out["cascade"]["edge_feed_id"], EDGE_URL
        subscribers = Child([str(HERE), "--role", "subscribers", "--feed", str(watched),
                             "--janus-url", url], {1} if pin else None)
        await subscribers.start()
        have = 0
        for count in [0, *args.counts]:
            added = await subscribers.ask(f"add {count - have}", timeout_s=120)
            have = count
            await asyncio.sleep(args.warmup)
            windows = [await window(janus_pids, publisher, subscribers, args.seconds)
                       for _ in range(args.windows)]
            sfu = (await publisher.ask("status"))["sfu"]
            out["steps"].append({"subscribers": count, **added, "median": summary(windows),
                                 "publications": sfu["publications"], "windows": windows})
        out["ours_status"] = (await publisher.ask("status"))["metrics"]
    finally:
        if subscribers is not None:
            await subscribers.stop()
        await publisher.stop()


EDGE_ADDRESS = "10.77.0.2"
EDGE_URL = f"http://{EDGE_ADDRESS}:8089/janus"


def start_edge(folder: Path) -> janus_server.JanusProcess:
    """A second Janus on EDGE_ADDRESS (same interface), its own HTTP and RTP ports."""
    subprocess.run(["ip", "addr", "add", f"{EDGE_ADDRESS}/24", "dev", janus_server.INTERFACE],
                   check=True)
    janus_server.write_config(folder)
    for name, old, new in (
            ("janus.jcfg", f'interface = "{janus_server.ADDRESS}"',
             f'interface = "{EDGE_ADDRESS}"'),
            ("janus.jcfg", '"20000-40000"', '"40001-60000"'),
            ("janus.transport.http.jcfg", f'ip = "{janus_server.ADDRESS}"',
             f'ip = "{EDGE_ADDRESS}"'),
            ("janus.transport.http.jcfg", f"port = {janus_server.HTTP_PORT}", "port = 8089")):
        config = folder / name
        config.write_text(config.read_text().replace(old, new))
    edge = janus_server.JanusProcess(folder)
    edge.start()  # it waits for the first Janus's URL; wait for this one's too
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"{EDGE_URL}/info", timeout=1):
                return edge
        except OSError:
            if time.monotonic() > deadline:
                edge.stop()
                raise
            time.sleep(0.1)


async def cascade(feed_id: int) -> dict[str, Any]:
    """Make our feed on the first Janus a remote publisher in the same room on the edge.

    The edge's ``add_remote_publisher`` gives the address and ports to send to; the
    origin's ``publish_remotely`` starts plain RTP forwarding there. Returns the id
    viewers subscribe to on the edge.
    """
    origin, edge = JanusSession(janus_server.URL), JanusSession(EDGE_URL)
    await origin.open()
    await edge.open()
    try:
        probe = await origin.attach(PLUGIN)  # a participant that publishes nothing
        joined = await probe.send({"request": "join", "ptype": "publisher", "room": ROOM,
                                   "display": "cascade-probe"})
        ours = next(p for p in joined.data["publishers"] if int(p["id"]) == feed_id)
        streams = [{k: s[k] for k in ("type", "mindex", "mid", "codec") if k in s}
                   for s in ours["streams"]]
        await probe.detach()
        handle = await edge.attach(PLUGIN)
        await handle.send({"request": "create", "room": ROOM, "permanent": False,
                           "publishers": 10, "videocodec": "vp8", "audiocodec": "opus"})
        remote = await handle.send({"request": "add_remote_publisher", "room": ROOM,
                                    "display": "avatar (remote)", "iface": EDGE_ADDRESS,
                                    "streams": streams})
        handle = await origin.attach(PLUGIN)
        await handle.send({"request": "publish_remotely", "room": ROOM, "publisher_id": feed_id,
                           "remote_id": "edge-1", "host": remote.data["ip"],
                           "port": remote.data["port"], "rtcp_port": remote.data["rtcp_port"]})
        return {"edge_feed_id": int(remote.data["id"]), "streams": streams,
                "edge_ports": [remote.data["port"], remote.data["rtcp_port"]]}
    finally:  # the rooms, the remote publisher and the forward outlive these sessions
        await origin.destroy()
        await edge.destroy()


def janus_config(folder: Path, event_loops: int) -> Path:
    """The tests' Janus configuration; with ``event_loops`` > 0, that many shared loops."""
    janus_server.write_config(folder)
    if event_loops:
        config = folder / "janus.jcfg"
        config.write_text(config.read_text().replace(
            "session_timeout = 60", f"session_timeout = 60\n    event_loops = {event_loops}"))
    return folder


def janus_log_summary(folder: Path) -> dict[str, int]:
    """Lines of Janus's log that say a PeerConnection went away or Janus fell behind."""
    text = (folder / "janus-1.log").read_text(errors="replace").lower()
    return {"hangups": text.count("hanging up"), "ice_failed": text.count("ice failed"),
            "too_old_dropped": text.count("discarding too old outgoing packet"),
            "warnings": text.count("[warn]"), "errors": text.count("[err]")}


def bench(args: argparse.Namespace) -> dict[str, Any]:
    janus_server.setup_network()
    version = subprocess.run(["janus", "--version"], capture_output=True, text=True,
                             check=False).stdout.split("\n", 1)[0]
    out: dict[str, Any] = {"bench": "janus_fanout", "cores": os.cpu_count(), "netns": in_netns(),
                           "janus": version, "event_loops": args.event_loops,
                           "seconds": args.seconds, "windows": args.windows, "steps": []}
    if (os.cpu_count() or 1) >= 2 and not args.no_pin:
        os.sched_setaffinity(0, {0})  # Janus, started from here, inherits core 0
    with tempfile.TemporaryDirectory(prefix="janus-fanout-") as temp:
        janus = janus_server.JanusProcess(janus_config(Path(temp), args.event_loops))
        edge: janus_server.JanusProcess | None = None
        try:
            janus.start()
            assert janus.process is not None
            pids = {"janus": janus.process.pid}
            if args.cascade:
                edge = start_edge(Path(temp) / "edge")
                assert edge.process is not None
                pids["edge"] = edge.process.pid
            with contextlib.suppress(TimeoutError):  # the steps done so far still report
                asyncio.run(asyncio.wait_for(sweep(args, pids, out), args.max_seconds))
            if len(out["steps"]) < len(args.counts) + 1:
                out["error"] = f"stopped after {args.max_seconds} s (--max-seconds)"
        finally:
            if edge is not None:
                edge.stop()
            janus.stop()
            out["janus_log"] = janus_log_summary(Path(temp))
            if args.janus_log is not None:
                shutil.copy(Path(temp) / "janus-1.log", args.janus_log)
    steps = out["steps"]
    if args.cascade:
        out["per_subscriber_at_the_edge"] = {"edge_cpu_pct": slope(steps, "edge_cpu_pct")}
    out["per_subscriber"] = {
        "janus_cpu_pct": slope(steps, "janus_cpu_pct"),
        "janus_rss_mib": slope(steps, "janus_rss_mib"),
        "subscribers_cpu_pct": slope(steps, "subscribers_cpu_pct"),
        "ours_cpu_pct": slope(steps, "ours_cpu_pct")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=lambda s: [int(c) for c in s.split(",")],
                        default=[1, 10, 50, 100], help="subscribers at each step (rising)")
    parser.add_argument("--seconds", type=float, default=10, help="one measuring window")
    parser.add_argument("--windows", type=int, default=2, help="windows at each step")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--event-loops", type=int, default=0,
                        help="Janus event_loops (0: its default, a thread per handle)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to cores 0 and 1")
    parser.add_argument("--max-seconds", type=float, default=400)
    parser.add_argument("--janus-log", type=Path, help="keep a copy of Janus's log here")
    parser.add_argument("--role", choices=["bench", "publisher", "subscribers"],
                        default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--feed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--janus-url", default=janus_server.URL, help=argparse.SUPPRESS)
    parser.add_argument("--cascade", action="store_true",
                        help="subscribers watch through a second (edge) Janus that the first "
                        "feeds with a VideoRoom remote publisher")
    args = parser.parse_args()
    if args.role == "publisher":
        asyncio.run(run_publisher())
        return
    if args.role == "subscribers":
        asyncio.run(run_subscribers(args.feed, args.janus_url))
        return
    if os.geteuid() != 0:
        sys.exit("janus_fanout: needs root, for a network namespace (Janus refuses loopback)")
    reexec_in_netns(str(HERE), sys.argv[1:])
    if not in_netns():
        sys.exit("janus_fanout: could not enter a network namespace of its own")
    print(json.dumps(bench(args)))


if __name__ == "__main__":
    main()
