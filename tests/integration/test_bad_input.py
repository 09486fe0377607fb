"""Offers, candidates and WHEP bodies that cannot be used: each answered with an error that
says what was expected, nothing made for it, and the good input after it still works."""

from __future__ import annotations

import re

import aiohttp
import pytest

from avatar_streaming import StreamingSystem
from tests.conftest import MakeSystem, wait_until, ws_url
from tests.integration.client import RtcClient, SignalingClient

BAD_CANDIDATES = [
    ("candidate:garbage", "foundation component transport priority"),
    ("candidate:1 1 udp 2122260223 not_an_ip!! 5000 typ host", "'not_an_ip!!'"),
    ("candidate:1 1 udp high 127.0.0.1 5000 typ host", "priority of 0-4294967295, got 'high'"),
    ("candidate:1 1 udp 2122260223 127.0.0.1 port typ host", "port of 0-65535, got 'port'"),
    ("candidate:1 1 sctp 2122260223 127.0.0.1 5000 typ host", "transport udp or tcp"),
    ("candidate:1 1 udp 2122260223 127.0.0.1 5000 typ magic", "got 'magic'"),
]


def offer_message(sdp: str) -> dict[str, object]:
    return {"type": "offer", "data": {"type": "offer", "sdp": sdp}}


async def opened(system: StreamingSystem) -> RtcClient:
    client = RtcClient(ws_url(system))
    await client.open()
    client.config = await client.expect("config")
    return client


@pytest.mark.parametrize(("sdp", "expected"), [
    ("garbage", "expected SDP text starting with 'v=0'"),
    ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
     "expected an audio or video media section (m=), got none"),
    ("strip-ice", "expected ICE credentials (a=ice-ufrag and a=ice-pwd)"),
    ("strip-fingerprint", "expected a DTLS fingerprint (a=fingerprint)"),
])
async def test_an_offer_we_cannot_serve_gets_an_error_and_no_answer(
        make_system: MakeSystem, sdp: str, expected: str) -> None:
    system = await make_system()
    client = await opened(system)
    try:
        if sdp.startswith("strip-"):
            good = await real_offer()
            pattern = r"a=ice-(ufrag|pwd):.*\r\n" if sdp == "strip-ice" else \
                r"a=fingerprint:.*\r\n"
            sdp = re.sub(pattern, "", good)
        await client.send(offer_message(sdp))
        error = await client.expect("error")  # the next message: no answer came first
        assert expected in error["error"]
        await client.negotiate()  # and the same socket can still negotiate
        assert client.pc is not None
        await wait_until(lambda: client.pc.connectionState == "connected", 10)  # type: ignore[union-attr]
    finally:
        await client.close()


async def real_offer() -> str:
    from aiortc import RTCConfiguration, RTCPeerConnection

    from avatar_streaming.rtc.ice import gathering_on

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    with gathering_on(["127.0.0.1"]):
        await pc.setLocalDescription(await pc.createOffer())
    sdp = str(pc.localDescription.sdp)
    await pc.close()
    return sdp


async def test_a_candidate_before_any_offer_gets_an_error_at_once(
        make_system: MakeSystem) -> None:
    system = await make_system()
    client = await opened(system)
    try:
        for data in ({"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host",
                      "sdpMid": "0"}, None):
            await client.send({"type": "ice-candidate", "data": data})
            error = await client.expect("error", timeout=1)
            assert "expected an offer first" in error["error"]
    finally:
        await client.close()


async def test_bad_candidates_get_errors_and_a_good_one_after_them_connects(
        make_system: MakeSystem) -> None:
    """The client trickles: its offer has no candidates, then bad ones, then its own."""
    system = await make_system()
    client = await opened(system)
    try:
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        from avatar_streaming.rtc.ice import gathering_on

        pc = client.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("video", direction="recvonly")
        with gathering_on(["127.0.0.1"]):
            await pc.setLocalDescription(await pc.createOffer())
        lines = pc.localDescription.sdp.split("\r\n")
        own = [line[2:] for line in lines if line.startswith("a=candidate:")]
        bare = "\r\n".join(line for line in lines
                             if not line.startswith(("a=candidate:", "a=end-of-candidates")))
        assert own, "expected aiortc to have gathered a loopback candidate"
        await client.send(offer_message(bare))
        answer = await client.expect("answer")
        await pc.setRemoteDescription(RTCSessionDescription(**answer["data"]))
        for text, expected in BAD_CANDIDATES:
            await client.send({"type": "ice-candidate",
                               "data": {"candidate": text, "sdpMid": "0"}})
            error = await client.expect("error", timeout=1)
            assert expected in error["error"], error
            assert "expected 'candidate:' then" in error["error"]
        for section, expected in [({"sdpMid": "7"}, "expected sdpMid one of ['0']"),
                                  ({"sdpMLineIndex": 3}, "expected sdpMLineIndex below 1")]:
            await client.send({"type": "ice-candidate",
                               "data": {"candidate": own[0], **section}})
            error = await client.expect("error", timeout=1)
            assert expected in error["error"], "a section the offer lacks is named"
        for text in own:
            await client.send({"type": "ice-candidate",
                               "data": {"candidate": text, "sdpMid": "0"}})
        await client.send({"type": "ice-candidate", "data": None})
        await wait_until(lambda: pc.connectionState == "connected", 10)
        await client.send({"type": "sentinel"})  # its error comes after any earlier reply
        error = await client.expect("error", timeout=1)
        assert "'sentinel'" in error["error"], f"a good candidate gets no error: {error}"
    finally:
        await client.close()


async def test_whep_refuses_a_garbage_offer_and_makes_nothing(make_system: MakeSystem) -> None:
    system = await make_system({"rooms": {"onDemand": True}})
    base = f"http://127.0.0.1:{system.server.port}"
    opened_rooms = []
    system.server.on("room-opened", opened_rooms.append)
    watcher = SignalingClient(ws_url(system))
    await watcher.open()
    await watcher.expect("config")
    try:
        async with aiohttp.ClientSession() as http:
            for body, expected in (("garbage", "starting with 'v=0'"),
                                   ("v=0\r\ns=-\r\n", "audio or video media section")):
                async with http.post(f"{base}/whep?room=nobody", data=body,
                                     headers={"Content-Type": "application/sdp"}) as response:
                    assert response.status == 400
                    assert expected in await response.text()
                    assert "Location" not in response.headers
        assert [p.room for p in system.server.peers] == ["default"], "no peer was made"
        assert "nobody" not in system.rooms and not opened_rooms, "nor a room opened for it"
    finally:
        await watcher.close()
