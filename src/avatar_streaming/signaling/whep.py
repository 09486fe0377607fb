"""WHEP (RFC 9725): watch with any standard WebRTC-HTTP egress player, no page needed.

``POST /whep`` (``?room=NAME`` for a room other than the default) with an SDP offer
answers 201 with the SDP answer (our candidates
included) and a Location; ``PATCH`` on that Location adds trickled candidates
(``application/trickle-ice-sdpfrag``); ``DELETE`` ends the session. The same
token and origin checks as the WebSocket apply, and WHEP viewers count toward
maxClients and fire the same peer events.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from aiohttp import web

from ..config import DEFAULT_ROOM, WebRTCConfig
from ..errors import RemoteError, RoomError
from ..rtc.peer import Peer
from ..rtc.sdp import Candidate, check_offer
from ..types import AnswerEvent, OfferEvent
from . import protocol
from .access import AccessPolicy, Refusal
from .registry import PeerRegistry, RoomDirectory

log = logging.getLogger(__name__)

SDP = "application/sdp"
SDP_FRAGMENT = "application/trickle-ice-sdpfrag"


class WhepResource:
    """One WHEP viewer: a Peer without a WebSocket."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.close_reason: str | None = None

    async def send(self, message: protocol.ServerMessage) -> None:
        """WHEP has no channel for messages: a WHEP player gets no captions."""

    async def close(self, reason: str) -> None:
        if self.close_reason is None:
            self.close_reason = reason
        await self.peer.close()


class WhepApi:
    """The WHEP routes, on the server's registry, access policy and rooms."""

    def __init__(self, registry: PeerRegistry, access: AccessPolicy, rooms: RoomDirectory,
                 config: WebRTCConfig, emit: Callable[..., object]) -> None:
        self._registry = registry
        self._access = access
        self._rooms = rooms
        self._config = config
        self._emit = emit

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/whep", self.post)
        app.router.add_patch("/whep/{peer_id}", self.patch)
        app.router.add_delete("/whep/{peer_id}", self.delete)

    async def post(self, request: web.Request) -> web.Response:
        """``POST /whep?room=NAME`` (no room: the default room) with an SDP offer."""
        grant = self._access.admit(request)
        if isinstance(grant, Refusal):
            return grant.response()
        if request.content_type != SDP:
            return web.Response(status=415, text=f"expected Content-Type {SDP}, "
                                                 f"got {request.content_type}")
        if self._registry.full:
            return web.Response(status=503, text=f"server full: expected at most "
                                                 f"{self._config.max_clients} clients")
        offer = await request.text()
        try:
            check_offer(offer)  # before anything is made for it
        except RemoteError as exc:
            return web.Response(status=400, text=str(exc))
        try:
            media = await self._rooms.join(grant.room)
        except RoomError as exc:
            return web.Response(status=exc.status, text=str(exc))
        peer = Peer(secrets.token_hex(8), self._config, media, room=grant.room,
                    identity=grant.identity, mic=grant.mic)
        resource = WhepResource(peer)
        self._registry.add(resource)
        self._emit("offer", OfferEvent(peer.id, {"type": "offer", "sdp": offer}, peer.room))
        try:
            answer = await peer.negotiate(offer)
        except RemoteError as exc:
            await self._registry.end(resource, "closed")
            return web.Response(status=400, text=str(exc))
        except BaseException:  # a failure of ours (or a cancelled request) leaves nothing
            await self._registry.end(resource, "closed")
            raise
        self._emit("answer", AnswerEvent(peer.id, {"type": "answer", "sdp": answer}, peer.room))
        log.info("peer %s: WHEP session (room %s)", peer.id, peer.room)
        # The room rides along so that a proxy hashing on ?room= sends PATCH and DELETE
        # to this process too (names are URL-safe by their pattern).
        location = f"/whep/{peer.id}" + ("" if peer.room == DEFAULT_ROOM else f"?room={peer.room}")
        return web.Response(status=201, text=answer, content_type=SDP,
                            headers={"Location": location})

    async def patch(self, request: web.Request) -> web.Response:
        resource = self._resource(request)
        if isinstance(resource, web.Response):
            return resource
        if request.content_type != SDP_FRAGMENT:
            return web.Response(status=415, text=f"expected Content-Type {SDP_FRAGMENT}, "
                                                 f"got {request.content_type}")
        mid: str | None = None
        try:
            for line in (await request.text()).splitlines():
                if line.startswith("a=mid:"):
                    mid = line[6:].strip()
                elif line.startswith("a=candidate:"):
                    await resource.peer.add_candidate(
                        Candidate(line[2:], mid, None if mid else 0))
                elif line.startswith("a=end-of-candidates"):
                    await resource.peer.add_candidate(Candidate(None))
        except RemoteError as exc:
            return web.Response(status=400, text=str(exc))
        return web.Response(status=204)

    async def delete(self, request: web.Request) -> web.Response:
        resource = self._resource(request)
        if isinstance(resource, web.Response):
            return resource
        await self._registry.end(resource, "closed")
        return web.Response(status=200)

    def _resource(self, request: web.Request) -> WhepResource | web.Response:
        """The resource the URL names, if the request may act on it: the credentials that
        created it (the server's key, or a token for its room)."""
        resource = self._registry.get(request.match_info["peer_id"])
        room = resource.peer.room if isinstance(resource, WhepResource) else DEFAULT_ROOM
        grant = self._access.admit(request.clone(rel_url=request.rel_url.update_query(
            room=room)))
        if isinstance(grant, Refusal):
            return grant.response()
        if not isinstance(resource, WhepResource):
            return web.Response(status=404, text="no such WHEP session")
        return resource
