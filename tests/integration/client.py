"""A real aiortc client that speaks the signaling protocol over a real WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from avatar_streaming.rtc.ice import gathering_on


class SignalingClient:
    """Just the WebSocket: send JSON, receive messages (pings answered unless told not to)."""

    def __init__(self, url: str, *, answer_pings: bool = True) -> None:
        self.url = url
        self.answer_pings = answer_pings
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.errors: list[str] = []
        self.pings = 0
        self.opened_at = 0.0
        self._session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def open(self) -> None:
        self._session = aiohttp.ClientSession()
        self.opened_at = time.monotonic()
        self.ws = await self._session.ws_connect(self.url)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            body = json.loads(msg.data)
            if body.get("type") == "ping":
                self.pings += 1
                if self.answer_pings:
                    await self.send({"type": "pong"})
                continue
            if body.get("type") == "error":
                self.errors.append(body["error"])
            await self.messages.put(body)
        self.closed.set()

    async def send(self, body: Any) -> None:
        assert self.ws is not None
        await self.ws.send_str(body if isinstance(body, str) else json.dumps(body))

    async def expect(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        """The next message, which must be of type ``kind``."""
        body = await asyncio.wait_for(self.messages.get(), timeout)
        assert body["type"] == kind, f"expected a {kind!r} message, got {body}"
        return body

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._session is not None:
            await self._session.close()


class RtcClient(SignalingClient):
    """A full WebRTC viewer: receives video and audio, optionally sends a microphone track."""

    def __init__(self, url: str, *, mic: MediaStreamTrack | None = None,
                 host_addresses: tuple[str, ...] = ("127.0.0.1",)) -> None:
        super().__init__(url)
        self.mic = mic
        self.host_addresses = host_addresses
        self.pc: RTCPeerConnection | None = None
        self.config: dict[str, Any] = {}
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.track_ready = {"video": asyncio.Event(), "audio": asyncio.Event()}

    async def connect(self, timeout: float = 15) -> None:
        await self.open()
        self.config = await self.expect("config")
        await self.negotiate(timeout)

    async def negotiate(self, timeout: float = 15) -> None:
        """Offer and apply the answer, on the socket already open (its config taken)."""
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.on("track", self._on_track)
        self.pc.addTransceiver("video", direction="recvonly")
        if self.mic is not None:
            self.pc.addTrack(self.mic)
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        with gathering_on(self.host_addresses):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.send({"type": "offer", "data": {"type": "offer",
                                                   "sdp": self.pc.localDescription.sdp}})
        answer = await self.expect("answer", timeout)
        await self.pc.setRemoteDescription(RTCSessionDescription(**answer["data"]))

    def _on_track(self, track: MediaStreamTrack) -> None:
        self.tracks[track.kind] = track
        self.track_ready[track.kind].set()

    async def track(self, kind: str, timeout: float = 10) -> MediaStreamTrack:
        await asyncio.wait_for(self.track_ready[kind].wait(), timeout)
        return self.tracks[kind]

    async def close(self) -> None:
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
        await super().close()


async def note_frames(track: MediaStreamTrack, arrivals: list[float]) -> None:
    """Append the arrival time (monotonic) of each frame of ``track`` until cancelled."""
    while True:
        await track.recv()
        arrivals.append(time.monotonic())
