"""A server for the benchmarks: ours, or a per-peer-encoding baseline of plain aiortc.

Prints "ready PORT" once it listens, then streams until killed (SIGTERM).
With ``--control``, it also answers lines on stdin, one JSON line each on
stdout (see ``Control``): what this process holds, counted from inside it.

The baseline is what aiortc gives without this package: each peer gets its own
video and audio tracks, so aiortc runs one encoder per sender. Frames are
rendered once and shared; only the encoding is per peer.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import gc
import json
import logging
import os
import signal
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiohttp import WSMsgType, web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from plain_aiortc import open_session

from _common import FPS, LOOPBACK_WEBRTC, SIZE, TalkingFace, feed
from avatar_streaming import StreamingSystem, create_streaming_system
from avatar_streaming.rtc.ice import gathering_on

WATCHED = ("RTCPeerConnection", "RTCDtlsTransport", "RTCIceTransport", "RTCSctpTransport",
           "RTCRtpSender", "RTCRtpReceiver", "Peer", "Session", "RtpOut", "ParkedTrack",
           "WebSocketResponse", "Connection")
"""Classes whose live instances a census counts: what a connection leaves behind, if anything."""


class ErrorCount(logging.Handler):
    """Counts records at ERROR and above: a bug of ours (logged by the session), an
    exception no one retrieved (asyncio), a failed request (aiohttp)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.last: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.last = [*self.last[-4:], f"{record.name}: {record.getMessage()[:200]}"]


ERRORS = ErrorCount()


class Control:
    """Commands on stdin, one JSON line back on stdout for each.

    "census": asyncio tasks, threads, open file descriptors and sockets, RSS (MiB), live
    instances of WATCHED classes, errors logged, the server's status (its peer count).
    "counters": frames pushed and encoded, keyframes, errors logged (cheap: no collection).
    "trace-start": start tracemalloc and remember a snapshot. "trace-top": the 15 places
    (file:line) whose allocations grew most since that snapshot.
    """

    def __init__(self, system: StreamingSystem) -> None:
        self._system = system
        self._snapshot: tracemalloc.Snapshot | None = None
        self._commands: dict[str, Callable[[], dict[str, Any]]] = {
            "census": self.census, "counters": self.counters, "trace-start": self.trace_start,
            "trace-top": self.trace_top}

    async def run(self, stop: asyncio.Event) -> None:
        """Answer until stdin closes, then stop the server: it does not outlive its bench."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while raw := await reader.readline():
            line = raw.decode().strip()
            command = self._commands.get(line)
            body = command() if command else {"error": f"unknown command {line!r}"}
            print(json.dumps(body), flush=True)
        stop.set()

    def census(self) -> dict[str, Any]:
        gc.collect()
        with open("/proc/self/statm") as f:
            rss_pages = int(f.read().split()[1])
        fds = os.listdir("/proc/self/fd")
        sockets = 0
        for fd in fds:
            try:
                sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
            except OSError:  # the listing's own descriptor, closed by now
                pass
        names = Counter(type(o).__name__ for o in gc.get_objects())
        return {"tasks": len([t for t in asyncio.all_tasks() if not t.done()]),
                "threads": threading.active_count(), "fds": len(fds), "sockets": sockets,
                "rss_mib": round(rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 2),
                "gc_objects": sum(names.values()),
                "objects": {name: names[name] for name in WATCHED},
                "errors_logged": ERRORS.count, "last_errors": ERRORS.last,
                "status": self._system.get_status()}

    def counters(self) -> dict[str, Any]:
        encoder = self._system.video_encoder
        return {"time": time.monotonic(), "pushed": self._system.bridge.metrics.video_frames,
                "encoded": encoder.frames_encoded, "keyframes": encoder.keyframes,
                "errors_logged": ERRORS.count}

    def trace_start(self) -> dict[str, Any]:
        tracemalloc.start(5)
        gc.collect()
        self._snapshot = tracemalloc.take_snapshot()
        return {"tracing": True}

    def trace_top(self) -> dict[str, Any]:
        if self._snapshot is None:
            return {"error": "expected trace-start first"}
        gc.collect()
        diff = tracemalloc.take_snapshot().compare_to(self._snapshot, "traceback")
        return {"top": [{"kib": round(d.size_diff / 1024, 1), "count": d.count_diff,
                         "where": [f"{f.filename}:{f.lineno}" for f in d.traceback]}
                        for d in diff[:15]]}


async def serve_ours(stop: asyncio.Event, webrtc: dict[str, Any], control: bool) -> None:
    async with await create_streaming_system(
            {"webrtc": {**LOOPBACK_WEBRTC, "signalingPort": 0, "maxClients": 1000,
                        **webrtc}}) as system:
        await system.start()
        print(f"ready {system.server.port}", flush=True)
        controller = (asyncio.create_task(Control(system).run(stop))
                      if control else None)
        feeder = asyncio.create_task(feed(system))
        await stop.wait()
        feeder.cancel()
        if controller is not None:
            controller.cancel()
        await asyncio.gather(feeder, *([controller] if controller else []),
                             return_exceptions=True)


class SharedFrames:
    """The latest rendered frame, drawn once at 30 fps for every baseline track."""

    def __init__(self) -> None:
        self.latest = av.VideoFrame.from_ndarray(np.zeros((SIZE, SIZE, 3), np.uint8),
                                                 format="rgb24")

    async def run(self) -> None:
        face, start, n = TalkingFace(), time.monotonic(), 0
        while True:
            self.latest = av.VideoFrame.from_ndarray(face.frame(), format="rgba")
            n += 1
            await asyncio.sleep(max(0.0, start + n / FPS - time.monotonic()))


class BaselineVideo(MediaStreamTrack):
    kind = "video"

    def __init__(self, frames: SharedFrames) -> None:
        super().__init__()
        self._frames, self._start, self._n = frames, time.monotonic(), 0

    async def recv(self) -> av.VideoFrame:
        self._n += 1
        await asyncio.sleep(max(0.0, self._start + self._n / FPS - time.monotonic()))
        frame = self._frames.latest.reformat(format="yuv420p")  # a frame of its own
        frame.pts, frame.time_base = self._n * 3000, fractions.Fraction(1, 90000)
        return frame


class BaselineAudio(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start, self._n = time.monotonic(), 0
        t = np.arange(960) / 48000
        self._tone = (0.2 * 32767 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)

    async def recv(self) -> av.AudioFrame:
        self._n += 1
        await asyncio.sleep(max(0.0, self._start + self._n * 0.02 - time.monotonic()))
        frame = av.AudioFrame.from_ndarray(self._tone.reshape(1, -1), format="s16",
                                           layout="mono")
        frame.sample_rate, frame.pts = 48000, self._n * 960
        frame.time_base = fractions.Fraction(1, 48000)
        return frame


async def serve_baseline(stop: asyncio.Event, _webrtc: dict[str, Any], _control: bool) -> None:
    frames = SharedFrames()
    pcs: set[RTCPeerConnection] = set()

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws, peer_id, pc = await open_session(request, pcs)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            body = json.loads(msg.data)
            if body["type"] == "offer":
                await pc.setRemoteDescription(RTCSessionDescription(**body["data"]))
                pc.addTrack(BaselineVideo(frames))
                pc.addTrack(BaselineAudio())
                with gathering_on(["127.0.0.1"]):
                    await pc.setLocalDescription(await pc.createAnswer())
                await ws.send_json({"type": "answer", "peerId": peer_id,
                                    "data": {"type": "answer", "sdp": pc.localDescription.sdp}})
        await pc.close()
        pcs.discard(pc)
        return ws

    app = web.Application()
    app.router.add_get("/", websocket)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"ready {port}", flush=True)
    producer = asyncio.create_task(frames.run())
    await stop.wait()
    producer.cancel()
    for pc in list(pcs):
        await pc.close()
    await runner.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["ours", "baseline"], required=True)
    parser.add_argument("--webrtc", type=json.loads, default={},
                        help="JSON merged into the webrtc configuration (ours only)")
    parser.add_argument("--control", action="store_true",
                        help="answer census commands on stdin (ours only)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING,
                        format="serve.py %(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(ERRORS)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await (serve_ours if args.kind == "ours" else serve_baseline)(stop, args.webrtc, args.control)


if __name__ == "__main__":
    asyncio.run(main())
