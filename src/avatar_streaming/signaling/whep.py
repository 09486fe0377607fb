"""WHEP (RFC 9725): watch with any standard WebRTC-HTTP egress player, no page needed.

``POST /whep`` with an SDP offer answers 201 with the SDP answer (our candidates
included) and a Location; ``PATCH`` on that Location adds trickled candidates
(``application/trickle-ice-sdpfrag``); ``DELETE`` ends the session. The same
token and origin checks as the WebSocket apply, and WHEP viewers count toward
maxClients and fire the same peer events.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

from aiohttp import web

from ..errors import RemoteError
from ..rtc.peer import Peer
from ..types import AnswerEvent, OfferEvent
from .protocol import ClientIceCandidate

if TYPE_CHECKING:
    from .server import SignalingServer

log = logging.getLogger(__name__)

SDP = "application/sdp"
SDP_FRAGMENT = "application/trickle-ice-sdpfrag"


class WhepResource:
    """One WHEP viewer: a Peer without a WebSocket."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.close_reason: str | None = None

    async def close(self, reason: str) -> None:
        if self.close_reason is None:
            self.close_reason = reason
        await self.peer.close()


class WhepApi:
    def __init__(self, server: SignalingServer) -> None:
        self._server = server

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/whep", self.post)
        app.router.add_patch("/whep/{peer_id}", self.patch)
        app.router.add_delete("/whep/{peer_id}", self.delete)

    async def post(self, request: web.Request) -> web.Response:
        server = self._server
        refused = server.refuse(request)
        if refused is not None:
            return refused
        if request.content_type != SDP:
            return web.Response(status=415, text=f"expected Content-Type {SDP}, "
                                                 f"got {request.content_type}")
        if server.full:
            return web.Response(status=503, text=f"server full: expected at most "
                                                 f"{server.config.max_clients} clients")
        offer = await request.text()
        peer = Peer(secrets.token_hex(8), server.config, server.new_peer_media())
        resource = WhepResource(peer)
        server.register(peer.id, resource)
        server.emit("offer", OfferEvent(peer.id, {"type": "offer", "sdp": offer}))
        try:
            answer = await peer.negotiate(offer)
        except RemoteError as exc:
            await server.end(resource, "closed")
            return web.Response(status=400, text=str(exc))
        server.emit("answer", AnswerEvent(peer.id, {"type": "answer", "sdp": answer}))
        log.info("peer %s: WHEP session", peer.id)
        return web.Response(status=201, text=answer, content_type=SDP,
                            headers={"Location": f"/whep/{peer.id}"})

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
                        ClientIceCandidate(line[2:], mid, None if mid else 0))
                elif line.startswith("a=end-of-candidates"):
                    await resource.peer.add_candidate(ClientIceCandidate(None))
        except RemoteError as exc:
            return web.Response(status=400, text=str(exc))
        return web.Response(status=204)

    async def delete(self, request: web.Request) -> web.Response:
        resource = self._resource(request)
        if isinstance(resource, web.Response):
            return resource
        await self._server.end(resource, "closed")
        return web.Response(status=200)

    def _resource(self, request: web.Request) -> WhepResource | web.Response:
        refused = self._server.refuse(request)
        if refused is not None:
            return refused
        resource = self._server.session(request.match_info["peer_id"])
        if not isinstance(resource, WhepResource):
            return web.Response(status=404, text="no such WHEP session")
        return resource
