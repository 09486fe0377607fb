"""One client's signaling session: the contract's protocol over one WebSocket.

The session feeds the client's text frames to the pure parser, hands offers
and candidates to its Peer, writes the replies, and keeps the client alive
with pings. Anything the client gets wrong is answered with an ``error``
message; the session goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiohttp import WSMsgType, web

from ..config import WebRTCConfig
from ..errors import RemoteError
from ..rtc.peer import Peer
from ..rtc.sdp import Candidate
from ..types import AnswerEvent, IceCandidateEvent, OfferEvent
from . import protocol
from .protocol import ClientIceCandidate, Offer, Pong
from .ratelimit import TokenBucket

log = logging.getLogger(__name__)

MISSED_PONGS_LIMIT = 2


class Session:
    def __init__(self, ws: web.WebSocketResponse, peer: Peer, config: WebRTCConfig,
                 emit: Callable[..., object]) -> None:
        self.ws = ws
        self.peer = peer
        self._config = config
        self._emit = emit
        self._missed_pongs = 0
        self.close_reason: str | None = None
        self._bucket = TokenBucket(config.message_rate_limit, config.message_burst)
        self._dropped = 0
        self._last_limit_error = -1e9

    async def send(self, message: protocol.ServerMessage) -> None:
        if not self.ws.closed:
            text = protocol.serialize(message)
            if self._config.debug:
                log.debug("peer %s: <- %.200s", self.peer.id, text)
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("peer %s: send failed: %s", self.peer.id, exc)

    async def run(self) -> None:
        """Serve the client until its socket closes (or we close it)."""
        await self.send(protocol.Config(
            peer_id=self.peer.id,
            ice_servers=[s.to_json() for s in self._config.ice_servers],
            video_codec=self._config.video_codec,
            audio_codec=self._config.audio_codec,
            room=self.peer.room,
        ))
        pinger = asyncio.get_running_loop().create_task(self._keepalive(),
                                                        name=f"ping-{self.peer.id}")
        try:
            async for message in self.ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY) and \
                        not self._bucket.take():
                    await self._rate_limited()
                elif message.type == WSMsgType.TEXT:
                    await self._handle_text(message.data)
                elif message.type == WSMsgType.BINARY:
                    await self.send(protocol.Error(
                        "expected JSON text messages, got a binary frame"))
                elif message.type == WSMsgType.ERROR:
                    break
                # one message per turn of the loop: messages already buffered are read
                # without suspending, so a client's burst would otherwise hold the loop
                # until it ends, and the encoder and the other peers with it
                await asyncio.sleep(0)
        finally:
            pinger.cancel()
            await asyncio.gather(pinger, return_exceptions=True)

    async def _rate_limited(self) -> None:
        """Drop the message; say so at most once a second (no amplification)."""
        self._dropped += 1
        now = time.monotonic()
        if now - self._last_limit_error >= 1.0:
            self._last_limit_error = now
            log.info("peer %s: over the message rate limit, %d dropped", self.peer.id,
                     self._dropped)
            await self.send(protocol.Error(
                f"rate limit: expected at most {self._config.message_rate_limit:g} messages "
                f"per second (bursts of {self._config.message_burst}); {self._dropped} dropped"))

    async def _handle_text(self, text: str) -> None:
        if self._config.debug:
            log.debug("peer %s: -> %.200s", self.peer.id, text)
        try:
            message = protocol.parse_client_message(text)
            await self._dispatch(message)
        except RemoteError as exc:
            log.info("peer %s: refused a message: %s", self.peer.id, exc)
            await self.send(protocol.Error(str(exc)))
        except Exception:  # a bug of ours must not take the server down with this client
            log.exception("peer %s: failed to handle a message", self.peer.id)
            await self.send(protocol.Error("internal error while handling the message"))

    async def _dispatch(self, message: protocol.ClientMessage) -> None:
        match message:
            case Offer(sdp):
                log.debug("peer %s: offer, %d bytes of SDP", self.peer.id, len(sdp))
                self._emit("offer", OfferEvent(self.peer.id, message.to_json(), self.peer.room))
                answer = protocol.Answer(self.peer.id, await self.peer.negotiate(sdp))
                log.info("peer %s: answered its offer", self.peer.id)
                await self.send(answer)
                self._emit("answer", AnswerEvent(self.peer.id, answer.to_json(), self.peer.room))
            case ClientIceCandidate():
                self._emit("ice-candidate", IceCandidateEvent(self.peer.id, message.to_json(),
                                                     self.peer.room))
                await self.peer.add_candidate(Candidate(message.candidate, message.sdp_mid,
                                                        message.sdp_mline_index))
            case Pong():
                self._missed_pongs = 0

    async def _keepalive(self) -> None:
        while not self.ws.closed:
            await asyncio.sleep(self._config.ping_interval_s)
            if self._missed_pongs >= MISSED_PONGS_LIMIT:
                log.info("peer %s: %d pings unanswered", self.peer.id, self._missed_pongs)
                await self.close("timeout")
                return
            self._missed_pongs += 1
            await self.send(protocol.Ping())

    async def close(self, reason: str) -> None:
        """Close the peer and the socket; the first reason given is the one reported."""
        if self.close_reason is None:
            self.close_reason = reason
        await self.peer.close()
        if not self.ws.closed:
            await self.ws.close()
