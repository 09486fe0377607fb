"""Session on its own: the protocol over a socket the test feeds, to a peer that records."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import WSMessage, WSMsgType

from avatar_streaming import NegotiationError
from avatar_streaming.config import WebRTCConfig
from avatar_streaming.rtc.sdp import Candidate
from avatar_streaming.signaling.session import Session
from tests.conftest import wait_until


class Socket:
    """The WebSocket as the session sees it: what the client sends, what it was sent."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[WSMessage | None] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.closed = False

    def client_sends(self, body: Any, kind: WSMsgType = WSMsgType.TEXT) -> None:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        self.incoming.put_nowait(WSMessage(kind, data, None))

    async def send_str(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self) -> None:
        self.closed = True
        self.incoming.put_nowait(None)

    def __aiter__(self) -> Socket:
        return self

    async def __anext__(self) -> WSMessage:
        message = await self.incoming.get()
        if message is None:
            raise StopAsyncIteration
        return message

    def replies(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == kind]


class Peer:
    """What the session asks of its peer, recorded; ``fail`` makes negotiate raise it."""

    id, room = "p1", "default"

    def __init__(self, fail: Exception | None = None) -> None:
        self.offers: list[str] = []
        self.candidates: list[Candidate] = []
        self.closed = False
        self.fail = fail

    async def negotiate(self, sdp: str) -> str:
        self.offers.append(sdp)
        if self.fail is not None:
            raise self.fail
        return "v=0 answer"

    async def add_candidate(self, candidate: Candidate) -> None:
        self.candidates.append(candidate)

    async def close(self) -> None:
        self.closed = True


OFFER = {"type": "offer", "data": {"type": "offer", "sdp": "v=0 offer"}}


async def serving(peer: Peer, **config: Any) -> tuple[Socket, asyncio.Task[None],
                                                     list[tuple[str, Any]]]:
    socket, events = Socket(), []
    session = Session(socket, peer, WebRTCConfig(**config),  # type: ignore[arg-type]
                      lambda name, event: events.append((name, event)))
    task = asyncio.create_task(session.run())
    await wait_until(lambda: bool(socket.sent))
    return socket, task, events


async def finish(socket: Socket, task: asyncio.Task[None]) -> None:
    await socket.close()
    await asyncio.wait_for(task, 5)


async def test_the_config_comes_first_then_each_offer_is_answered() -> None:
    peer = Peer()
    socket, task, events = await serving(peer, video_codec="VP8", ice_servers=())
    assert socket.sent[0] == {"type": "config", "peerId": "p1", "iceServers": [],
                              "videoCodec": "VP8", "audioCodec": "opus", "room": "default"}
    socket.client_sends(OFFER)
    await wait_until(lambda: bool(socket.replies("answer")))
    assert peer.offers == ["v=0 offer"]
    assert socket.replies("answer") == [{"type": "answer", "peerId": "p1",
                                         "data": {"type": "answer", "sdp": "v=0 answer"}}]
    assert [name for name, _ in events] == ["offer", "answer"]
    await finish(socket, task)


async def test_candidates_reach_the_peer_as_plain_values_and_get_no_reply() -> None:
    peer = Peer()
    socket, task, _ = await serving(peer)
    socket.client_sends({"type": "ice-candidate",
                         "data": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                                  "sdpMid": "0", "sdpMLineIndex": 0}})
    socket.client_sends({"type": "ice-candidate", "data": None})
    await wait_until(lambda: len(peer.candidates) == 2)
    assert peer.candidates == [Candidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0),
                               Candidate(None)]
    assert len(socket.sent) == 1, "only the config"
    await finish(socket, task)


@pytest.mark.parametrize(("fail", "expected"), [
    (NegotiationError("offer: expected a fingerprint"), "offer: expected a fingerprint"),
    (RuntimeError("a bug"), "internal error while handling the message"),
])
async def test_a_refused_offer_or_a_bug_is_answered_and_the_session_goes_on(
        fail: Exception, expected: str) -> None:
    peer = Peer(fail)
    socket, task, _ = await serving(peer)
    socket.client_sends(OFFER)
    socket.client_sends("{")
    socket.client_sends(b"\x00", WSMsgType.BINARY)
    await wait_until(lambda: len(socket.replies("error")) == 3)
    assert [e["error"] for e in socket.replies("error")] == [
        expected, "malformed JSON: expected a JSON object, got '{'",
        "expected JSON text messages, got a binary frame"]
    assert not task.done() and not socket.closed
    await finish(socket, task)


async def test_over_the_rate_limit_messages_are_dropped_and_said_so_once() -> None:
    peer = Peer()
    socket, task, _ = await serving(peer, message_rate_limit=0.1, message_burst=2)
    for _ in range(5):
        socket.client_sends(OFFER)
    await wait_until(lambda: len(peer.offers) == 2 and bool(socket.replies("error")))
    await wait_until(lambda: socket.incoming.empty())
    (error,) = socket.replies("error")
    assert error["error"].startswith("rate limit: expected at most 0.1 messages per second")
    assert len(peer.offers) == 2, "the burst, and nothing after it"
    await finish(socket, task)


async def test_a_client_that_stops_answering_pings_is_closed_for_timeout() -> None:
    peer = Peer()
    socket, task, _ = await serving(peer, ping_interval_s=0.02)
    await asyncio.wait_for(task, 5)
    assert len(socket.replies("ping")) == 2 and socket.closed and peer.closed
