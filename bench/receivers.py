"""N lightweight viewers for the viewers benchmark.

Each is a real aiortc peer (signaling over the WebSocket, ICE, DTLS, SRTP on
127.0.0.1) that counts the RTP it receives instead of decoding it, so one
process on one core can watch a hundred streams. Controlled over stdin:
"start" opens the measuring window, "stop" closes it and prints one JSON line;
the viewers then stay connected until stdin's next line or its end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from avatar_streaming.rtc.ice import gathering_on

COUNTS: Counter[tuple[int, str]] = Counter()
"""(id of the receiver, "video-frames" | "video-packets" | "audio-packets") -> count."""


async def _count(self: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int) -> None:
    kind = "video" if self.track is not None and self.track.kind == "video" else "audio"
    COUNTS[(id(self), f"{kind}-packets")] += 1
    if kind == "video" and packet.marker:
        COUNTS[(id(self), "video-frames")] += 1


RTCRtpReceiver._handle_rtp_packet = _count  # type: ignore[method-assign]


class Viewer:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session, self._url = session, url
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.ws = await self._session.ws_connect(self._url)
        config = await self.ws.receive_json()
        assert config["type"] == "config", config
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")
        with gathering_on(["127.0.0.1"]):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.ws.send_json({"type": "offer", "data": {
            "type": "offer", "sdp": self.pc.localDescription.sdp}})
        while True:
            body = await self.ws.receive_json()
            if body["type"] == "answer":
                break
        await self.pc.setRemoteDescription(RTCSessionDescription(**body["data"]))
        self._reader = asyncio.create_task(self._answer_pings())

    async def _answer_pings(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT and json.loads(msg.data)["type"] == "ping":
                await self.ws.send_json({"type": "pong"})

    def counts(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for receiver in self.pc.getReceivers():
            for key in ("video-frames", "video-packets", "audio-packets"):
                out[key] += COUNTS[(id(receiver), key)]
        return dict(out)

    async def close(self) -> None:
        await self.pc.close()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    session = aiohttp.ClientSession()
    viewers = [Viewer(session, args.url) for _ in range(args.count)]
    limit = asyncio.Semaphore(10)

    async def connect(viewer: Viewer) -> bool:
        async with limit:
            try:
                await asyncio.wait_for(viewer.connect(), 30)
                return True
            except Exception as exc:  # report, don't stop the others
                print(f"connect failed: {exc!r}", file=sys.stderr)
                return False

    connected = sum(await asyncio.gather(*(connect(v) for v in viewers)))
    print(json.dumps({"connected": connected}), flush=True)
    stdin = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    await stdin.readline()  # "start"
    before, started = [v.counts() for v in viewers], time.monotonic()
    await stdin.readline()  # "stop"
    after, elapsed = [v.counts() for v in viewers], time.monotonic() - started
    rates = {key: [(a.get(key, 0) - b.get(key, 0)) / elapsed
                   for a, b in zip(after, before, strict=True)]
             for key in ("video-frames", "video-packets", "audio-packets")}
    print(json.dumps({"connected": connected, "seconds": elapsed, **rates}), flush=True)
    await stdin.readline()  # "close", or the end of stdin
    await asyncio.gather(*(v.close() for v in viewers), return_exceptions=True)
    await session.close()


if __name__ == "__main__":
    asyncio.run(main())
