"""SignalingServer on its own: a real aiohttp server on loopback, rooms the test decides."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from avatar_streaming import PeerDisconnectedEvent
from avatar_streaming.config import RoomsConfig, WebRTCConfig
from avatar_streaming.errors import RoomError
from avatar_streaming.rtc.connection import PeerMedia
from avatar_streaming.signaling.server import SignalingServer
from tests.conftest import wait_until


class Rooms:
    """The rooms the server may put a client in: "closed" is refused with a 404."""

    def __init__(self) -> None:
        self.joined: list[str] = []
        self.emptied: list[str] = []

    async def join(self, name: str) -> PeerMedia:
        if name == "closed":
            raise RoomError("room 'closed': expected an open room, got none by that name", 404)
        self.joined.append(name)
        return PeerMedia(attach_sender=_unused, on_remote_audio=_unused)

    def room_emptied(self, name: str) -> None:
        self.emptied.append(name)


def _unused(*_args: Any) -> Any:
    raise AssertionError("no media in these tests")


@pytest.fixture
async def serve() -> AsyncIterator[Any]:
    servers: list[SignalingServer] = []

    async def start(**config: Any) -> tuple[SignalingServer, Rooms, str]:
        rooms = Rooms()
        server = SignalingServer(WebRTCConfig(signaling_host="127.0.0.1", signaling_port=0,
                                              ice_servers=(), **config), rooms)
        await server.start()
        servers.append(server)
        return server, rooms, f"127.0.0.1:{server.port}"

    yield start
    for server in servers:
        await server.stop()


async def first_and_close(http: aiohttp.ClientSession, url: str) -> tuple[dict[str, Any], bool]:
    """The first message a client gets, and whether the server then closed the socket."""
    async with http.ws_connect(url) as ws:
        first = await ws.receive_json(timeout=5)
        closing = await ws.receive(timeout=5)
        return first, closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_a_client_gets_its_config_and_leaves_its_room_empty_when_it_goes(
        serve: Any) -> None:
    server, rooms, host = await serve()
    gone: list[PeerDisconnectedEvent] = []
    server.on("peer-disconnected", gone.append)
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"ws://{host}/?room=bob") as ws:
            config = await ws.receive_json(timeout=5)
            assert config["type"] == "config" and config["room"] == "bob"
            await wait_until(lambda: len(server.registry.peers()) == 1)
    await wait_until(lambda: not server.registry.peers())
    assert rooms.joined == ["bob"] and rooms.emptied == ["bob"]
    assert gone == [], "peer-disconnected is for peers whose media came up"


async def test_one_client_too_many_is_told_and_closed(serve: Any) -> None:
    server, _, host = await serve(max_clients=1)
    async with aiohttp.ClientSession() as http, http.ws_connect(f"ws://{host}/") as first:
        await first.receive_json(timeout=5)
        error, closed = await first_and_close(http, f"ws://{host}/")
        assert error == {"type": "error", "error": "server full: expected at most 1 clients "
                                                   "(maxClients), got one more"}
        assert closed and len(server.registry.peers()) == 1


async def test_a_room_that_is_refused_or_misnamed_is_told_and_closed(serve: Any) -> None:
    server, rooms, host = await serve()
    async with aiohttp.ClientSession() as http:
        error, closed = await first_and_close(http, f"ws://{host}/?room=closed")
        assert closed and "expected an open room" in error["error"]
        error, closed = await first_and_close(http, f"ws://{host}/?room=no%20spaces")
        assert closed and error["type"] == "error" and "room" in error["error"]
    assert not rooms.joined and not server.registry.peers()


async def test_stop_ends_every_session_as_server_stop(serve: Any) -> None:
    server, _, host = await serve()
    async with aiohttp.ClientSession() as http:
        sockets = [await http.ws_connect(f"ws://{host}/") for _ in range(3)]
        for ws in sockets:
            peer_id = (await ws.receive_json(timeout=5))["peerId"]
            await wait_until(lambda p=peer_id: server.registry.get(p) is not None)
        sessions = [server.registry.get(p.id) for p in server.registry.peers()]
        await server.stop()
        for ws in sockets:
            message = await ws.receive(timeout=5)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert [s.close_reason for s in sessions if s is not None] == ["server-stop"] * 3
    assert not server.accepting and not server.registry.peers()


async def test_health_status_and_metrics_without_a_system(serve: Any) -> None:
    server, _, host = await serve()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://{host}/healthz") as response:
            assert await response.json() == {"ok": True}
        async with http.get(f"http://{host}/status") as response:
            assert await response.json() == {"peerCount": 0}
        async with http.get(f"http://{host}/metrics") as response:
            assert response.status == 404, "no metrics until a system gives them"
        server.metrics_text = lambda: b"# nothing yet\n"
        async with http.get(f"http://{host}/metrics") as response:
            assert await response.text() == "# nothing yet\n"


async def test_rooms_on_demand_send_a_page_without_a_room_to_a_fresh_one(serve: Any) -> None:
    _, _, host = await serve(rooms=RoomsConfig(on_demand=True))
    async with aiohttp.ClientSession() as http:
        rooms = set()
        for _ in range(2):
            async with http.get(f"http://{host}/", allow_redirects=False) as response:
                assert response.status == 302
                rooms.add(response.headers["Location"])
        assert len(rooms) == 2 and all(r.startswith("/?room=") for r in rooms)
