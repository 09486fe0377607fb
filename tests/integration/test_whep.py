"""WHEP (RFC 9725) with a client written to the spec: POST, Location, PATCH, DELETE."""

from __future__ import annotations

import asyncio

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from avatar_streaming import PeerDisconnectedEvent
from avatar_streaming.rtc.ice import gathering_on
from tests.conftest import MakeSystem, wait_until
from tests.feeds import feeding_frames
from tests.signals import (
    first_quadrant_frame,
    quadrants,
)


async def whep_offer() -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    with gathering_on(["127.0.0.1"]):
        await pc.setLocalDescription(await pc.createOffer())
    return pc


async def test_a_whep_player_watches_and_leaves(make_system: MakeSystem) -> None:
    system = await make_system({"authToken": "whep-token"})
    left: list[PeerDisconnectedEvent] = []
    system.server.on("peer-disconnected", left.append)
    base = f"http://127.0.0.1:{system.server.port}"
    auth = {"Authorization": "Bearer whep-token"}
    pc = await whep_offer()
    frames: asyncio.Queue[object] = asyncio.Queue()
    pc.on("track", lambda track: track.kind == "video" and asyncio.ensure_future(
        frames.put(track)))
    async with aiohttp.ClientSession() as http, feeding_frames(system, quadrants()):
        sdp = pc.localDescription.sdp
        async with http.post(f"{base}/whep", data=sdp,
                             headers={"Content-Type": "application/sdp"}) as refused:
            assert refused.status == 401, "the same token as the WebSocket"
        async with http.post(f"{base}/whep", data=sdp,
                             headers={**auth, "Content-Type": "application/sdp"}) as response:
            assert response.status == 201
            assert response.content_type == "application/sdp"
            location = response.headers["Location"]
            answer = await response.text()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        track = await asyncio.wait_for(frames.get(), 10)
        await first_quadrant_frame(track, max_frames=60)  # type: ignore[arg-type]
        await wait_until(lambda: system.get_status()["peerCount"] == 1)
        async with http.patch(base + location, data="a=end-of-candidates\r\n",
                              headers={**auth,
                                       "Content-Type": "application/trickle-ice-sdpfrag"}) as r:
            assert r.status == 204
        async with http.delete(base + location, headers=auth) as response:
            assert response.status == 200
        await wait_until(lambda: bool(left))
        assert left[0].reason == "closed" and system.get_status()["peerCount"] == 0
        async with http.delete(base + location, headers=auth) as response:
            assert response.status == 404
    await pc.close()


async def test_whep_refuses_what_it_cannot_use(make_system: MakeSystem) -> None:
    system = await make_system()
    base = f"http://127.0.0.1:{system.server.port}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/whep", data="v=0",
                             headers={"Content-Type": "text/plain"}) as response:
            assert response.status == 415
        async with http.post(f"{base}/whep", data="v=0 not sdp",
                             headers={"Content-Type": "application/sdp"}) as response:
            assert response.status == 400 and "offer" in await response.text()
    assert not system.server.peers, "a refused offer leaves no session"
