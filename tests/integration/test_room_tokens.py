"""Room-scoped tokens (JWT, HS256): a token opens its own room and nothing else."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import jwt
from aiortc import RTCSessionDescription

from avatar_streaming import AudioChunk, make_room_token
from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames
from tests.integration.client import RtcClient
from tests.integration.test_access import handshake_status
from tests.integration.test_whep import whep_offer
from tests.signals import ToneTrack, first_quadrant_frame, quadrants

SECRET = "room-token-secret-for-the-tests-0123456789"
SERVER_KEY = "server-wide-key-for-tests"


async def test_a_token_opens_its_room_only(make_system: MakeSystem) -> None:
    system = await make_system({"tokenSecret": SECRET, "authToken": SERVER_KEY})
    await system.open_room("alice")
    await system.open_room("bob")
    base = ws_url(system)
    alice = make_room_token(SECRET, "alice", identity="alice@example")
    expired = jwt.encode({"room": "alice", "exp": int(time.time()) - 10}, SECRET,
                         algorithm="HS256")
    forged = make_room_token("another-secret-of-32-bytes-or-more!!", "alice")
    no_exp = jwt.encode({"room": "alice"}, SECRET, algorithm="HS256")
    assert await handshake_status(f"{base}?room=alice&token={alice}") == 101
    assert await handshake_status(f"{base}?room=alice",
                                  {"Authorization": f"Bearer {alice}"}) == 101
    for refused in (f"{base}?room=bob&token={alice}", f"{base}?token={alice}",
                    f"{base}?room=alice&token={expired}", f"{base}?room=alice&token={forged}",
                    f"{base}?room=alice&token={no_exp}", f"{base}?room=alice",
                    f"{base}?room=nobody&token={alice}"):
        assert await handshake_status(refused) == 401, refused
    assert await handshake_status(f"{base}?room=bob&token={SERVER_KEY}") == 101, \
        "authToken stays a server-wide key"
    async with aiohttp.ClientSession() as http:
        status = f"http://127.0.0.1:{system.server.port}/status"
        async with http.get(f"{status}?token={alice}") as response:
            assert response.status == 401, "a room token does not show the server's status"
        async with http.get(f"{status}?token={SERVER_KEY}") as response:
            assert response.status == 200
    viewer = RtcClient(f"{base}?room=alice&token={alice}")
    await viewer.connect()
    await wait_until(lambda: system.rooms["alice"].peers != [])
    assert system.rooms["alice"].peers[0].identity == "alice@example"
    await viewer.close()


async def test_a_token_without_the_microphone_is_not_heard(make_system: MakeSystem) -> None:
    system = await make_system({"tokenSecret": SECRET})
    room = await system.open_room("quiet")
    heard: list[AudioChunk] = []
    room.bridge.on("incoming-audio", heard.append)
    muted = RtcClient(f"{ws_url(system)}?room=quiet&token="
                      f"{make_room_token(SECRET, 'quiet', mic=False)}", mic=ToneTrack(440.0))
    speaking = RtcClient(f"{ws_url(system)}?room=quiet&token="
                         f"{make_room_token(SECRET, 'quiet')}", mic=ToneTrack(660.0))
    async with feeding_frames(room, quadrants()):
        await muted.connect()
        await speaking.connect()
        await first_quadrant_frame(await muted.track("video"))
        await wait_until(lambda: len(heard) >= 10, timeout=10)
    assert muted.pc is not None and "a=sendonly" in \
        muted.pc.remoteDescription.sdp.split("m=audio")[1], "audio: we send, it may not"
    muted_id = next(p.id for p in room.peers if not p.mic)
    assert {c.peer_id for c in heard} == {next(p.id for p in room.peers if p.mic)}
    assert muted_id not in {c.peer_id for c in heard}
    await muted.close()
    await speaking.close()


async def test_whep_takes_the_room_and_its_token(make_system: MakeSystem) -> None:
    system = await make_system({"tokenSecret": SECRET})
    room = await system.open_room("erin")
    base = f"http://127.0.0.1:{system.server.port}"
    token = make_room_token(SECRET, "erin")
    pc = await whep_offer()
    tracks: asyncio.Queue[object] = asyncio.Queue()
    pc.on("track", lambda track: track.kind == "video" and asyncio.ensure_future(
        tracks.put(track)))
    sdp = pc.localDescription.sdp
    headers = {"Content-Type": "application/sdp"}
    async with aiohttp.ClientSession() as http, feeding_frames(room, quadrants()):
        async with http.post(f"{base}/whep?room=erin", data=sdp, headers=headers) as r:
            assert r.status == 401
        async with http.post(f"{base}/whep?room=other&token={token}", data=sdp,
                             headers=headers) as r:
            assert r.status == 401
        async with http.post(f"{base}/whep?room=bad%20name", data=sdp, headers=headers) as r:
            assert r.status == 400 and "expected 1-64" in await r.text()
        async with http.post(f"{base}/whep?room=erin&token={token}", data=sdp,
                             headers=headers) as response:
            assert response.status == 201
            location = response.headers["Location"]
            answer = await response.text()
        assert location.endswith("?room=erin"), f"expected the room in {location!r}"
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await first_quadrant_frame(await asyncio.wait_for(tracks.get(), 10))  # type: ignore[arg-type]
        assert [p.room for p in system.server.peers] == ["erin"]
        async with http.delete(base + location) as response:
            assert response.status == 401, "deleting takes the room's token too"
        async with http.delete(f"{base}{location}&token={token}") as response:
            assert response.status == 200
    await pc.close()
    await wait_until(lambda: not system.server.peers)
