"""Rooms over real WebRTC: each conversation sees its own avatar and hears its own users."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import numpy as np
import pytest

from avatar_streaming import (
    AudioChunk,
    Peer,
    PeerDisconnectedEvent,
    Room,
    RoomClosedEvent,
    RoomLimitError,
    VideoFrame,
)
from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames
from tests.integration.client import RtcClient, SignalingClient
from tests.integration.test_observability import samples
from tests.signals import (
    QUADRANT_COLOURS,
    ToneTrack,
    dominant_frequency,
    first_quadrant_frame,
    quadrants,
)

SWAPPED = tuple(reversed(QUADRANT_COLOURS))
"""The other room's picture: the same quadrants, in the opposite order."""


def room_url(system: Any, room: str, **query: str) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return f"{ws_url(system)}?room={room}{extra}"


async def test_each_room_shows_its_own_frames_and_hears_its_own_microphone(
        make_system: MakeSystem) -> None:
    system = await make_system()
    alice = await system.open_room("alice")
    assert alice.name == "alice" and system.rooms["alice"] is alice
    assert await system.open_room("alice") is alice, "opening an open room returns it"
    assert set(system.rooms) == {"default", "alice"}
    heard: dict[str, list[AudioChunk]] = {"default": [], "alice": []}
    system.bridge.on("incoming-audio", heard["default"].append)
    alice.bridge.on("incoming-audio", heard["alice"].append)
    joined: list[Peer] = []
    system.server.on("peer-connected", joined.append)
    default_viewer = RtcClient(ws_url(system))
    alice_viewer = RtcClient(room_url(system, "alice"), mic=ToneTrack(440.0))
    async with feeding_frames(system, quadrants()), \
            feeding_frames(alice, quadrants(colours=SWAPPED)):
        await default_viewer.connect()
        await alice_viewer.connect()
        assert alice_viewer.config["room"] == "alice"
        await first_quadrant_frame(await default_viewer.track("video"))
        await first_quadrant_frame(await alice_viewer.track("video"), colours=SWAPPED)
        await wait_until(lambda: len(heard["alice"]) >= 10, timeout=10)
    assert not heard["default"], "alice's microphone must not reach the default room"
    chunk = heard["alice"][-1]
    assert chunk.room == "alice" and chunk.peer_id == alice.peers[0].id
    pcm = np.frombuffer(b"".join(bytes(c.data) for c in heard["alice"][-5:]), np.int16)
    assert abs(dominant_frequency(pcm, chunk.sample_rate) - 440.0) < 10
    assert sorted(p.room for p in joined) == ["alice", "default"]
    status = system.get_status()
    assert status["peerCount"] == 2
    assert status["rooms"]["alice"]["peerCount"] == 1
    assert status["rooms"]["alice"]["metrics"]["videoFrames"] > 10
    assert alice.get_status()["peerCount"] == 1
    assert system.rooms["default"].get_status()["peerCount"] == 1
    await default_viewer.close()
    await alice_viewer.close()


async def test_unknown_and_badly_named_rooms_are_refused_with_an_error(
        make_system: MakeSystem) -> None:
    system = await make_system()
    for name, says in (("nobody-here", "'nobody-here'"), ("bad%20name", "expected 1-64"),
                       ("x" * 65, "expected 1-64")):
        client = SignalingClient(room_url(system, name))
        await client.open()
        error = await client.expect("error")
        assert says in error["error"], error
        await asyncio.wait_for(client.closed.wait(), 5)
        await client.close()
    assert set(system.rooms) == {"default"}
    with pytest.raises(ValueError, match="expected 1-64"):
        await system.open_room("no spaces")


async def test_rooms_open_on_demand_before_the_first_config_and_close_when_idle(
        make_system: MakeSystem) -> None:
    system = await make_system({"rooms": {"onDemand": True, "idleCloseS": 0.5}})
    events: list[str] = []
    closed: list[RoomClosedEvent] = []

    async def on_opened(room: Room) -> None:
        events.append(f"opened {room.name}")
        await asyncio.sleep(0.3)  # an application attaching its renderer takes its time
        await room.bridge.push_video_frame(VideoFrame(quadrants(), 512, 512,
                                                      time.time() * 1000))
        events.append(f"ready {room.name}")

    system.server.on("room-opened", on_opened)
    system.server.on("room-closed", closed.append)
    client = SignalingClient(room_url(system, "bob"))
    await client.open()
    config = await client.expect("config")
    events.append("config")
    assert events == ["opened bob", "ready bob", "config"]
    assert config["room"] == "bob"
    assert system.rooms["bob"].bridge.get_metrics()["videoFrames"] == 1, \
        "the room's bridge is started before room-opened"
    await asyncio.sleep(0.8)  # what is tested is that nothing happens past idleCloseS (0.5)
    assert "bob" in system.rooms, "a room with a peer stays open"
    await client.close()
    await wait_until(lambda: bool(closed), timeout=3)
    assert (closed[0].room, closed[0].reason) == ("bob", "idle")
    assert "bob" not in system.rooms


async def test_closing_a_room_disconnects_its_peers_and_no_one_else(
        make_system: MakeSystem) -> None:
    system = await make_system()
    room = await system.open_room("carol")
    left: list[PeerDisconnectedEvent] = []
    closed: list[RoomClosedEvent] = []
    system.server.on("peer-disconnected", left.append)
    system.server.on("room-closed", closed.append)
    carol = RtcClient(room_url(system, "carol"))
    other = RtcClient(ws_url(system))
    async with feeding_frames(system, quadrants()), feeding_frames(room, quadrants()):
        await carol.connect()
        await other.connect()
        video = await other.track("video")
        await first_quadrant_frame(await carol.track("video"))
        await wait_until(lambda: system.get_status()["peerCount"] == 2)
        await room.close()
        assert [(e.room, e.reason) for e in left] == [("carol", "room-closed")]
        assert [(e.room, e.reason) for e in closed] == [("carol", "closed")]
        await asyncio.wait_for(carol.closed.wait(), 5)
        frames, start = 0, time.monotonic()
        while time.monotonic() - start < 1.0:
            await asyncio.wait_for(video.recv(), 5)
            frames += 1
    assert frames >= 25, f"the default room's viewer kept {frames} fps"
    assert "carol" not in system.rooms and not room.open
    with pytest.raises(RoomLimitError):
        await system.rooms["default"].close()
    await carol.close()
    await other.close()


async def test_one_room_more_than_max_rooms_is_refused(make_system: MakeSystem) -> None:
    system = await make_system({"rooms": {"onDemand": True, "maxRooms": 2}})
    first = SignalingClient(room_url(system, "r1"))
    await first.open()
    await first.expect("config")
    second = SignalingClient(room_url(system, "r2"))
    await second.open()
    error = await second.expect("error")
    assert "at most 2" in error["error"] and "maxRooms" in error["error"], error
    with pytest.raises(RoomLimitError, match="maxRooms"):
        await system.open_room("r3")
    assert set(system.rooms) == {"default", "r1"}
    await first.close()
    await second.close()


async def test_a_room_nobody_watches_encodes_nothing_and_its_first_viewer_gets_a_keyframe(
        make_system: MakeSystem) -> None:
    system = await make_system()
    room = await system.open_room("quiet")
    async with feeding_frames(room, quadrants()):
        await wait_until(lambda: room.bridge.get_metrics()["videoFrames"] >= 25)  # accepted
        assert room.video_encoder.frames_encoded == 0, "and nothing is encoded"
        viewer = RtcClient(room_url(system, "quiet"))
        await viewer.connect()
        await first_quadrant_frame(await viewer.track("video"), max_frames=30)
    assert room.video_encoder.keyframes >= 1
    await viewer.close()


async def test_status_and_metrics_name_every_room(make_system: MakeSystem) -> None:
    system = await make_system()
    await system.open_room("dave")
    viewer = RtcClient(room_url(system, "dave"))
    async with feeding_frames(system.rooms["dave"], quadrants()):
        await viewer.connect()
        await asyncio.wait_for((await viewer.track("video")).recv(), 10)
        await wait_until(lambda: system.get_status()["peerCount"] == 1)
        await wait_until(lambda: system.rooms["dave"].bridge.metrics.video_frames > 10)
        base = f"http://127.0.0.1:{system.server.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/status") as response:
                status = await response.json()
            async with http.get(f"{base}/metrics") as response:
                scraped = samples(await response.text())
    assert status["rooms"]["dave"]["peerCount"] == 1
    assert status["rooms"]["default"]["peerCount"] == 0
    dave, default = (("room", "dave"),), (("room", "default"),)
    assert scraped[("avatar_streaming_peers", dave)] == 1
    assert scraped[("avatar_streaming_peers", default)] == 0
    assert scraped[("avatar_streaming_video_frames_total", dave)] > 10
    assert scraped[("avatar_streaming_video_frames_total", default)] == 0
    assert scraped[("avatar_streaming_packets_sent_total", (("kind", "video"), *dave))] > 0
    await viewer.close()
    await system.rooms["dave"].close()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/metrics") as response:
            text = await response.text()
    assert 'room="dave"' not in text, "a closed room's series are gone"
