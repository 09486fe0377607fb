"""The naive baseline for the browser benches: plain aiortc, holding nothing.

What an integrator gets by wiring aiortc up directly: each browser gets a video track
whose ``recv`` returns the latest pushed frame as soon as one comes (converted per
peer, RTP time from aiortc's wall clock), and an audio track that plays the pushed PCM
in real time, 20 ms a frame. No lip-sync logic: frames and audio leave when pushed, and
both streams' sender reports are aiortc's (the send time). It serves the shipped page and
speaks its signaling (config, offer/answer, trickled candidates, ping), so the benches
drive it as they drive our system: ``baseline.bridge.push_video_frame(frame)``,
``push_audio_chunk(chunk)`` (48 kHz mono PCM).
"""

from __future__ import annotations

import asyncio
import fractions
import json
import secrets
import time
from collections import deque
from typing import Any

import av
import numpy as np
from aiohttp import WSMsgType, web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from avatar_streaming import AudioChunk, VideoFrame
from avatar_streaming.rtc.ice import gathering_on
from avatar_streaming.signaling.server import STATIC

SAMPLES_PER_FRAME = 960  # 20 ms at 48 kHz


async def open_session(request: web.Request, pcs: set[RTCPeerConnection]
                       ) -> tuple[web.WebSocketResponse, str, RTCPeerConnection]:
    """Accept a signaling WebSocket, send our protocol's config, and make the peer's
    connection (kept in ``pcs``): the start of every plain-aiortc session."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    peer_id = secrets.token_hex(8)
    await ws.send_json({"type": "config", "peerId": peer_id, "iceServers": [],
                        "videoCodec": "VP8", "audioCodec": "opus"})
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pcs.add(pc)
    return ws, peer_id, pc


class PlainVideo(MediaStreamTrack):
    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._frames: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize=1)
        self._start = time.monotonic()

    def offer(self, rgba: np.ndarray) -> None:
        """The latest push replaces one not yet taken."""
        if self._frames.full():
            self._frames.get_nowait()
        self._frames.put_nowait(rgba)

    async def recv(self) -> av.VideoFrame:
        rgba = await self._frames.get()
        frame = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuv420p")
        frame.pts = int((time.monotonic() - self._start) * 90000)
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


class PlainAudio(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._samples: deque[np.ndarray] = deque()
        self._start: float | None = None
        self._n = 0

    def offer(self, samples: np.ndarray) -> None:
        for i in range(0, len(samples), SAMPLES_PER_FRAME):
            part = samples[i:i + SAMPLES_PER_FRAME]
            self._samples.append(np.pad(part, (0, SAMPLES_PER_FRAME - len(part))))

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._n * 0.02 - time.monotonic()))
        samples = self._samples.popleft() if self._samples else np.zeros(SAMPLES_PER_FRAME,
                                                                          np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, self._n * SAMPLES_PER_FRAME
        frame.time_base = fractions.Fraction(1, 48000)
        self._n += 1
        return frame


class PlainBridge:
    """The two pushes of the contract, fanned out to every peer's own tracks."""

    def __init__(self) -> None:
        self.tracks: list[PlainVideo | PlainAudio] = []

    async def push_video_frame(self, frame: VideoFrame) -> None:
        rgba = np.asarray(frame.data, np.uint8).reshape(frame.height, frame.width, 4).copy()
        for track in self.tracks:
            if isinstance(track, PlainVideo):
                track.offer(rgba)

    async def push_audio_chunk(self, chunk: AudioChunk) -> None:
        if (chunk.sample_rate, chunk.channels) != (48000, 1):
            raise ValueError(f"plain aiortc baseline: expected 48 kHz mono, got "
                             f"{chunk.sample_rate} Hz x {chunk.channels}")
        samples = np.frombuffer(chunk.data, "<i2")
        for track in self.tracks:
            if isinstance(track, PlainAudio):
                track.offer(samples)


class _Server:
    port = 0


class PlainAiortc:
    """``async with PlainAiortc() as baseline``: serving on 127.0.0.1 (``server.port``)."""

    def __init__(self) -> None:
        self.bridge = PlainBridge()
        self.server = _Server()
        self._pcs: set[RTCPeerConnection] = set()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> PlainAiortc:
        app = web.Application()
        app.router.add_get("/", self._root)
        app.router.add_static("/static", str(STATIC))
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.server.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for pc in list(self._pcs):
            await pc.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.FileResponse(str(STATIC / "index.html"))
        ws, peer_id, pc = await open_session(request, self._pcs)
        tracks: list[PlainVideo | PlainAudio] = [PlainVideo(), PlainAudio()]
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                await self._handle(ws, pc, peer_id, tracks, json.loads(msg.data))
        finally:
            for track in tracks:
                if track in self.bridge.tracks:
                    self.bridge.tracks.remove(track)
            await pc.close()
            self._pcs.discard(pc)
        return ws

    async def _handle(self, ws: web.WebSocketResponse, pc: RTCPeerConnection, peer_id: str,
                      tracks: list[PlainVideo | PlainAudio], body: dict[str, Any]) -> None:
        if body.get("type") == "offer":
            video = pc.addTransceiver(tracks[0], direction="sendonly")
            pc.addTransceiver(tracks[1], direction="sendrecv")
            video.setCodecPreferences([  # the same codec as ours: VP8 (and RTX)
                c for c in RTCRtpSender.getCapabilities("video").codecs
                if c.mimeType.lower() in ("video/vp8", "video/rtx")])
            await pc.setRemoteDescription(RTCSessionDescription(**body["data"]))
            with gathering_on(["127.0.0.1"]):
                await pc.setLocalDescription(await pc.createAnswer())
            self.bridge.tracks.extend(tracks)
            await ws.send_json({"type": "answer", "peerId": peer_id,
                                "data": {"type": "answer", "sdp": pc.localDescription.sdp}})
        elif body.get("type") == "ice-candidate" and body.get("data"):
            data = body["data"]
            text = str(data.get("candidate") or "")
            if text and pc.remoteDescription is not None:
                candidate = candidate_from_sdp(text.removeprefix("candidate:"))
                candidate.sdpMid, candidate.sdpMLineIndex = data.get("sdpMid"), \
                    data.get("sdpMLineIndex")
                await pc.addIceCandidate(candidate)
