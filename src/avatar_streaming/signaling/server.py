"""The aiohttp server: the WebSocket at "/", the client page, health and status, and
"/sfu", which tells the page where to watch when we relay through Janus.

A client names its room as ``?room=NAME`` (none: the default room). The access policy
(access.py) lets it in or refuses it before the upgrade; the rooms (``RoomDirectory``)
give its peer the room's media; the registry (registry.py) keeps it.

Events: "peer-connected" (Peer), "peer-disconnected" (PeerDisconnectedEvent),
"offer", "answer", "ice-candidate" (observed signaling), "incoming-audio"
(AudioChunk from a browser microphone), "media-video-frame" and
"media-audio-chunk" (what the bridge forwarded: for observers, and emitted only while
someone listens, so that they cost the media path nothing otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Callable
from importlib import resources
from typing import Any

from aiohttp import web

from ..config import WebRTCConfig
from ..errors import RoomError
from ..events import EventEmitter
from ..rtc.peer import Peer
from . import protocol
from .access import AccessPolicy, Grant, Refusal
from .registry import PeerRegistry, RoomDirectory
from .session import Session
from .whep import WhepApi

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024
STATIC = resources.files("avatar_streaming.signaling") / "static"


class SignalingServer(EventEmitter):
    def __init__(self, config: WebRTCConfig, rooms: RoomDirectory,
                 status: Callable[[], dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.config = config
        self.rooms = rooms
        self.registry = PeerRegistry(config.max_clients, self.emit, rooms.room_emptied)
        self.access = AccessPolicy(config)
        self._status = status
        self._runner: web.AppRunner | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self.port: int | None = None
        """The port actually bound, once started."""
        self.metrics_text: Callable[[], bytes] | None = None
        """What GET /metrics answers (Prometheus text format)."""

    @property
    def peer_count(self) -> int:
        """Peers whose WebRTC connection is up, in every room."""
        return self.registry.connected_count()

    @property
    def peers(self) -> list[Peer]:
        return self.registry.peers()

    @property
    def accepting(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._root)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/status", self._status_json)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/sfu", self._sfu_json)
        app.router.add_static("/static", str(STATIC))
        WhepApi(self.registry, self.access, self.rooms, self.config, self.emit).add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        sock = _listening_socket(self.config.signaling_host, self.config.signaling_port)
        self.port = sock.getsockname()[1]
        tls = self.config.ssl_context
        await web.SockSite(self._runner, sock, ssl_context=tls).start()
        log.info("signaling on %s://%s:%s/", "wss" if tls else "ws", self.config.signaling_host,
                 self.port)

    async def stop(self) -> None:
        """Disconnect every peer (reason "server-stop") and stop listening. Idempotent."""
        runner, self._runner = self._runner, None
        await self.registry.end_all("server-stop")
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5)
        if runner is not None:
            await runner.cleanup()

    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        if self.config.rooms.on_demand and "room" not in request.query:
            # a conversation of one's own: a fresh room, kept in the URL (reload, share)
            raise web.HTTPFound(request.rel_url.update_query(room=secrets.token_urlsafe(6)))
        return web.FileResponse(str(STATIC / "index.html"))

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _metrics(self, request: web.Request) -> web.Response:
        refused = self.access.admit_admin(request)
        if refused is not None:
            return refused.response()
        if self.metrics_text is None:
            raise web.HTTPNotFound()
        return web.Response(body=self.metrics_text(),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    async def _status_json(self, request: web.Request) -> web.Response:
        refused = self.access.admit_admin(request)
        if refused is not None:
            return refused.response()
        status = self._status() if self._status else {"peerCount": self.peer_count}
        return web.json_response(status)

    async def _sfu_json(self, request: web.Request) -> web.Response:
        """The Janus room the page should watch the room it names through, or null (connect
        here directly)."""
        grant = self.access.admit(request)
        if isinstance(grant, Refusal):
            return grant.response()
        return web.json_response(protocol.sfu_info(self.config, grant.room),
                                 headers={"Cache-Control": "no-store"})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        grant = self.access.admit(request)
        if isinstance(grant, Refusal) and grant.status != 400:
            return grant.response()  # credentials and origins: before the upgrade
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=None)
        await ws.prepare(request)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            if isinstance(grant, Refusal):  # a bad room name: say so where a page can read it
                await _refuse(ws, grant.text)
            else:
                await self._serve(ws, grant)
        finally:
            if task is not None:
                self._handlers.discard(task)
        return ws

    async def _serve(self, ws: web.WebSocketResponse, grant: Grant) -> None:
        if not self.accepting:
            await ws.close()
            return
        if self.registry.full:
            await _refuse(ws, f"server full: expected at most {self.config.max_clients} "
                              f"clients (maxClients), got one more")
            return
        try:
            media = await self.rooms.join(grant.room)
        except RoomError as exc:
            log.info("refused a connection: %s", exc)
            await _refuse(ws, str(exc))
            return
        peer = Peer(secrets.token_hex(8), self.config, media, room=grant.room,
                    identity=grant.identity, mic=grant.mic)
        session = Session(ws, peer, self.config, self.emit)
        self.registry.add(session)
        log.info("peer %s: signaling open (room %s)", peer.id, peer.room)
        try:
            await session.run()
        finally:
            await self.registry.end(session, "closed")


async def _refuse(ws: web.WebSocketResponse, text: str) -> None:
    await ws.send_str(protocol.serialize(protocol.Error(text)))
    await ws.close()


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
