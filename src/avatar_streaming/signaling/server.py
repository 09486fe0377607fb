"""The aiohttp server: the WebSocket at "/", the client page, health and status, and
"/sfu", which tells the page where to watch when we relay through Janus.

Events: "peer-connected" (Peer), "peer-disconnected" (PeerDisconnectedEvent),
"offer", "answer", "ice-candidate" (observed signaling), "incoming-audio"
(AudioChunk from a browser microphone), "media-video-frame" and
"media-audio-chunk" (what the bridge forwarded).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import socket
from collections.abc import Callable
from importlib import resources
from typing import Any

from aiohttp import web

from ..config import WebRTCConfig
from ..events import EventEmitter
from ..rtc.peer import Peer, PeerMedia
from ..types import PeerDisconnectedEvent
from . import protocol
from .session import Session
from .whep import WhepApi, WhepResource

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024
LOST_GRACE_S = 1.0
STATIC = resources.files("avatar_streaming.signaling") / "static"


class SignalingServer(EventEmitter):
    def __init__(self, config: WebRTCConfig, media: Callable[[], PeerMedia],
                 status: Callable[[], dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.config = config
        self._media = media
        self._status = status
        self._sessions: dict[str, Session | WhepResource] = {}
        self._connected: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self.port: int | None = None
        """The port actually bound, once started."""
        self.metrics_text: Callable[[], bytes] | None = None
        """What GET /metrics answers (Prometheus text format)."""

    @property
    def peer_count(self) -> int:
        """Peers whose WebRTC connection is up."""
        return len(self._connected)

    @property
    def peers(self) -> list[Peer]:
        return [s.peer for s in self._sessions.values()]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._root)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/status", self._status_json)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/sfu", self._sfu_json)
        app.router.add_static("/static", str(STATIC))
        WhepApi(self).add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        sock = _listening_socket(self.config.signaling_host, self.config.signaling_port)
        self.port = sock.getsockname()[1]
        tls = self.config.ssl_context
        await web.SockSite(self._runner, sock, ssl_context=tls).start()
        log.info("signaling on %s://%s:%s/", "wss" if tls else "ws", self.config.signaling_host,
                 self.port)

    @property
    def full(self) -> bool:
        return len(self._sessions) >= self.config.max_clients

    def new_peer_media(self) -> PeerMedia:
        return self._media()

    def session(self, peer_id: str) -> Session | WhepResource | None:
        return self._sessions.get(peer_id)

    def register(self, peer_id: str, session: Session | WhepResource) -> None:
        """Count a new connection; emit "peer-connected" once its media is up, and end it
        ("ice-failed") when ICE or DTLS fails or the connection is lost."""
        self._sessions[peer_id] = session
        session.peer.on("connected", lambda: self._on_connected(session.peer))
        session.peer.on("failed", lambda: self.end(session, "ice-failed"))
        session.peer.on("lost", lambda: self._lost(session))

    async def _lost(self, session: Session | WhepResource) -> None:
        """A client that leaves closes its WebSocket right after its peer connection: give it
        that moment, so that a departure reads "closed" and a vanished network "ice-failed"."""
        await asyncio.sleep(LOST_GRACE_S)
        await self.end(session, "ice-failed")

    async def end(self, session: Session | WhepResource, reason: str) -> None:
        """Close a connection and forget it (idempotent)."""
        await session.close(reason)
        if self._sessions.get(session.peer.id) is session:
            del self._sessions[session.peer.id]
            self._on_closed(session.peer, session.close_reason or reason)

    async def stop(self) -> None:
        """Disconnect every peer (reason "server-stop") and stop listening. Idempotent."""
        await asyncio.gather(*(
            self.end(s, "server-stop") if isinstance(s, WhepResource) else s.close("server-stop")
            for s in list(self._sessions.values())))
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5)
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            refused = self.refuse(request)
            return refused if refused is not None else await self._websocket(request)
        return web.FileResponse(str(STATIC / "index.html"))

    def refuse(self, request: web.Request) -> web.Response | None:
        """401 without the token, 403 from an origin not allowed; None to let it in."""
        origins = self.config.allowed_origins
        origin = request.headers.get("Origin")
        if origins is not None and origin is not None and origin not in origins:
            log.info("refused a connection from origin %s", origin)
            return web.Response(status=403, text=f"origin not allowed: expected one of "
                                                 f"{', '.join(origins)}")
        token = self.config.auth_token
        if token is not None and not _token_matches(request, token):
            log.info("refused a connection without the right token")  # the token: never
            return web.Response(status=401, text="expected a valid token (?token= or "
                                                 "Authorization: Bearer)",
                                headers={"WWW-Authenticate": "Bearer"})
        return None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _metrics(self, request: web.Request) -> web.Response:
        refused = self.refuse(request)
        if refused is not None:
            return refused
        if self.metrics_text is None:
            raise web.HTTPNotFound()
        return web.Response(body=self.metrics_text(),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    async def _status_json(self, request: web.Request) -> web.Response:
        refused = self.refuse(request)
        if refused is not None:
            return refused
        status = self._status() if self._status else {"peerCount": self.peer_count}
        return web.json_response(status)

    async def _sfu_json(self, request: web.Request) -> web.Response:
        """The Janus room the page should watch through, or null (connect here directly)."""
        refused = self.refuse(request)
        if refused is not None:
            return refused
        return web.json_response(protocol.sfu_info(self.config),
                                 headers={"Cache-Control": "no-store"})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=None)
        await ws.prepare(request)
        if self._runner is None:
            await ws.close()
            return ws
        if self.full:
            await ws.send_str(protocol.serialize(protocol.Error(
                f"server full: expected at most {self.config.max_clients} clients "
                f"(maxClients), got one more")))
            await ws.close()
            return ws
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._serve(ws)
        finally:
            if task is not None:
                self._handlers.discard(task)
        return ws

    async def _serve(self, ws: web.WebSocketResponse) -> None:
        peer = Peer(secrets.token_hex(8), self.config, self._media())
        session = Session(ws, peer, self.config, self.emit)
        self.register(peer.id, session)
        log.info("peer %s: signaling open", peer.id)
        try:
            await session.run()
        finally:
            await self.end(session, "closed")

    def _on_connected(self, peer: Peer) -> None:
        if peer.id in self._sessions:
            self._connected.add(peer.id)
            log.info("peer %s: connected", peer.id)
            self.emit("peer-connected", peer)

    def _on_closed(self, peer: Peer, reason: str) -> None:
        log.info("peer %s: closed (%s)", peer.id, reason)
        if peer.id in self._connected:
            self._connected.discard(peer.id)
            self.emit("peer-disconnected", PeerDisconnectedEvent(peer.id, reason))


def _listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket, so the port actually bound (port 0: any free one) is known."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _token_matches(request: web.Request, token: str) -> bool:
    """Constant-time comparison with ?token= or an Authorization: Bearer header."""
    given = request.query.get("token", "")
    header = request.headers.get("Authorization", "")
    if not given and header.lower().startswith("bearer "):
        given = header[7:].strip()
    return hmac.compare_digest(given.encode(), token.encode())
