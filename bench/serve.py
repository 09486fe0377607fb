"""A server for the viewers benchmark: ours, or a per-peer-encoding baseline of plain aiortc.

Prints "ready PORT" once it listens, then streams until killed (SIGTERM).

The baseline is what aiortc gives without this package: each peer gets its own
video and audio tracks, so aiortc runs one encoder per sender. Frames are
rendered once and shared; only the encoding is per peer.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import logging
import secrets
import signal
import time

import av
import numpy as np
from aiohttp import WSMsgType, web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from _common import FPS, LOOPBACK_WEBRTC, SIZE, TalkingFace, feed
from avatar_streaming import create_streaming_system
from avatar_streaming.rtc.ice import gathering_on


async def serve_ours(stop: asyncio.Event) -> None:
    async with await create_streaming_system(
            {"webrtc": {**LOOPBACK_WEBRTC, "signalingPort": 0, "maxClients": 1000}}) as system:
        await system.start()
        print(f"ready {system.server.port}", flush=True)
        feeder = asyncio.create_task(feed(system))
        await stop.wait()
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)


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


async def serve_baseline(stop: asyncio.Event) -> None:
    frames = SharedFrames()
    pcs: set[RTCPeerConnection] = set()

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        peer_id = secrets.token_hex(8)
        await ws.send_json({"type": "config", "peerId": peer_id, "iceServers": [],
                            "videoCodec": "VP8", "audioCodec": "opus"})
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pcs.add(pc)
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING,
                        format="serve.py %(levelname)s %(name)s: %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await (serve_ours if args.kind == "ours" else serve_baseline)(stop)


if __name__ == "__main__":
    asyncio.run(main())
