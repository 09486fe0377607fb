"""The signaling protocol and peer lifecycle against a real server and real aiortc peers."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from avatar_streaming import (
    AnswerEvent,
    IceCandidateEvent,
    OfferEvent,
    Peer,
    PeerDisconnectedEvent,
    VideoFrame,
)
from tests.conftest import MakeSystem, wait_until, ws_url
from tests.integration.client import RtcClient, SignalingClient
from tests.signals import quadrants


async def test_config_message_comes_first(make_system: MakeSystem) -> None:
    system = await make_system({"videoCodec": "H264", "audioCodec": "pcmu",
                                "iceServers": [{"urls": "stun:127.0.0.1:3478"}]})
    client = SignalingClient(ws_url(system))
    await client.open()
    config = await client.expect("config")
    assert set(config) == {"type", "peerId", "iceServers", "videoCodec", "audioCodec", "room"}
    assert config["room"] == "default", "no ?room=: the default room"
    assert config["iceServers"] == [{"urls": ["stun:127.0.0.1:3478"]}]
    assert (config["videoCodec"], config["audioCodec"]) == ("H264", "pcmu")
    assert len(config["peerId"]) >= 8
    await client.close()


async def test_connect_and_disconnect_events_carry_matching_ids(make_system: MakeSystem) -> None:
    system = await make_system()
    connected: list[Peer] = []
    disconnected: list[PeerDisconnectedEvent] = []
    system.server.on("peer-connected", connected.append)
    system.server.on("peer-disconnected", disconnected.append)
    clients = [RtcClient(ws_url(system)) for _ in range(2)]
    for client in clients:
        await client.connect()
    await wait_until(lambda: len(connected) == 2)
    assert {p.id for p in connected} == {c.config["peerId"] for c in clients}
    assert system.get_status()["peerCount"] == 2
    await clients[0].close()
    await wait_until(lambda: len(disconnected) == 1)
    assert disconnected[0] == PeerDisconnectedEvent(clients[0].config["peerId"], "closed")
    assert system.get_status()["peerCount"] == 1
    await clients[1].close()
    await wait_until(lambda: system.get_status()["peerCount"] == 0)


async def test_signaling_events_are_observable(make_system: MakeSystem) -> None:
    system = await make_system()
    seen: dict[str, list[object]] = {"offer": [], "answer": [], "ice-candidate": []}
    for name, events in seen.items():
        system.server.on(name, events.append)
    client = RtcClient(ws_url(system))
    await client.connect()
    await client.send({"type": "ice-candidate", "data": None})
    await wait_until(lambda: len(seen["ice-candidate"]) == 1)
    peer_id = client.config["peerId"]
    offer, answer, candidate = seen["offer"][0], seen["answer"][0], seen["ice-candidate"][0]
    assert isinstance(offer, OfferEvent) and offer.peer_id == peer_id
    assert offer.offer["type"] == "offer" and "m=video" in offer.offer["sdp"]
    assert isinstance(answer, AnswerEvent) and answer.peer_id == peer_id
    assert answer.answer["type"] == "answer" and "a=candidate:" in answer.answer["sdp"]
    assert candidate == IceCandidateEvent(peer_id, None)
    await client.close()


async def test_stop_disconnects_every_peer(make_system: MakeSystem) -> None:
    system = await make_system()
    disconnected: list[PeerDisconnectedEvent] = []
    system.server.on("peer-disconnected", disconnected.append)
    clients = [RtcClient(ws_url(system)) for _ in range(3)]
    for client in clients:
        await client.connect()
    await wait_until(lambda: system.get_status()["peerCount"] == 3)
    await system.stop()
    await system.stop()  # idempotent
    assert sorted(e.reason for e in disconnected) == ["server-stop"] * 3
    for client in clients:
        await asyncio.wait_for(client.closed.wait(), 5)
    assert system.get_status()["peerCount"] == 0
    assert system.get_status()["metrics"]["isStreaming"] is False
    for client in clients:
        await client.close()


async def test_max_clients_is_enforced(make_system: MakeSystem) -> None:
    system = await make_system({"maxClients": 1})
    first = SignalingClient(ws_url(system))
    await first.open()
    await first.expect("config")
    second = SignalingClient(ws_url(system))
    await second.open()
    error = await second.expect("error")
    assert "maxClients" in error["error"]
    await asyncio.wait_for(second.closed.wait(), 5)
    await first.close()
    await second.close()
    third = SignalingClient(ws_url(system))  # the slot is free again
    await third.open()
    await wait_until(lambda: not third.messages.empty())
    assert (await third.expect("config"))["type"] == "config"
    await third.close()


async def test_bad_messages_get_errors_and_the_connection_keeps_working(
        make_system: MakeSystem) -> None:
    system = await make_system()
    client = RtcClient(ws_url(system))
    await client.open()
    await client.expect("config")
    bad = ['{"type": "offer"', '[1, 2]', '{"type": "dance"}', '{"no": "type"}',
           '{"type": "offer", "data": {"type": "offer", "sdp": "v=0 nonsense"}}',
           '{"type": "ice-candidate", "data": {"candidate": 7}}',
           '{"type": "ice-candidate", "data": {"candidate": "candidate:1 1 udp 1 1.2.3.4 9"}}']
    for text in bad:
        await client.send(text)
        error = await client.expect("error")
        assert error["error"], f"expected an error text for {text!r}"
    await client.ws.send_bytes(b"\x00\x01")  # type: ignore[union-attr]
    assert "binary" in (await client.expect("error"))["error"]
    assert "JSON" in client.errors[0] and "dance" in client.errors[2]
    await client.negotiate()  # a well-formed negotiation still works on the same socket
    await system.bridge.push_video_frame(VideoFrame(quadrants(), 512, 512, time.time() * 1000))
    frame = await asyncio.wait_for((await client.track("video")).recv(), 10)
    assert (frame.width, frame.height) == (512, 512)
    await client.close()


async def test_rejected_offer_leaves_the_socket_usable(make_system: MakeSystem) -> None:
    system = await make_system()
    client = RtcClient(ws_url(system))
    await client.open()
    await client.expect("config")
    await client.send({"type": "offer", "data": {"type": "offer", "sdp": "v=0\r\nm=video\r\n"}})
    assert "offer" in (await client.expect("error"))["error"]
    # same socket, a real offer now
    client.config = {"peerId": "?"}
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from avatar_streaming.rtc.ice import gathering_on
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    with gathering_on(["127.0.0.1"]):
        await pc.setLocalDescription(await pc.createOffer())
    await client.send({"type": "offer", "data": {"type": "offer", "sdp": pc.localDescription.sdp}})
    answer = await client.expect("answer")
    await pc.setRemoteDescription(RTCSessionDescription(**answer["data"]))
    await wait_until(lambda: pc.connectionState == "connected", 10)
    await pc.close()
    await client.close()


async def test_second_offer_on_a_negotiated_socket_is_an_error(make_system: MakeSystem) -> None:
    system = await make_system()
    client = RtcClient(ws_url(system))
    await client.connect()
    await client.send({"type": "offer", "data": client.pc.localDescription.__dict__})  # type: ignore[union-attr]
    assert "unexpected 'offer'" in (await client.expect("error"))["error"]
    await client.close()


async def test_client_that_stops_answering_pings_times_out(make_system: MakeSystem) -> None:
    system = await make_system({"pingInterval": 0.2})
    disconnected: list[PeerDisconnectedEvent] = []
    system.server.on("peer-disconnected", disconnected.append)
    client = RtcClient(ws_url(system))
    await client.connect()
    await wait_until(lambda: system.get_status()["peerCount"] == 1)
    await wait_until(lambda: client.pings >= 3, 5)
    assert not disconnected, "answered pings keep the peer"
    client.answer_pings = False
    await wait_until(lambda: bool(disconnected), 3)
    assert disconnected[0].reason == "timeout"
    await asyncio.wait_for(client.closed.wait(), 5)
    await client.close()


async def test_pushes_are_no_ops_before_start_and_after_stop(make_system: MakeSystem) -> None:
    system = await make_system(start=False)
    seen: list[object] = []
    system.bridge.on("video-frame", seen.append)
    frame = VideoFrame(quadrants(), 512, 512, time.time() * 1000)
    await system.bridge.push_video_frame(frame)
    assert system.get_status()["metrics"]["videoFrames"] == 0 and not seen
    await system.start()
    await system.bridge.push_video_frame(frame)
    assert system.get_status()["metrics"]["videoFrames"] == 1 and seen == [frame]
    await system.stop()
    await system.bridge.push_video_frame(frame)
    assert system.get_status()["metrics"]["videoFrames"] == 1


async def test_an_offer_without_the_configured_codec_gets_an_error_naming_it(
        make_system: MakeSystem) -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender

    from avatar_streaming.rtc.ice import gathering_on

    system = await make_system({"videoCodec": "VP8"})
    client = SignalingClient(ws_url(system))
    await client.open()
    await client.expect("config")
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video = pc.addTransceiver("video", direction="recvonly")
    video.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                               if c.mimeType in ("video/H264", "video/rtx")])
    with gathering_on(["127.0.0.1"]):
        await pc.setLocalDescription(await pc.createOffer())
    await client.send({"type": "offer", "data": {"type": "offer", "sdp": pc.localDescription.sdp}})
    error = (await client.expect("error"))["error"]
    assert "VP8" in error and "video/h264" in error, error
    await pc.close()
    await client.close()


async def test_a_flood_is_rate_limited_and_the_connection_keeps_working(
        make_system: MakeSystem) -> None:
    system = await make_system({"messageRateLimit": 20, "messageBurst": 10})
    flooder = SignalingClient(ws_url(system))
    await flooder.open()
    await flooder.expect("config")
    for _ in range(100):
        await flooder.send({"type": "pong"})
    await wait_until(lambda: any("rate limit" in e for e in flooder.errors))
    limits = [e for e in flooder.errors if "rate limit" in e]
    assert len(limits) == 1, "one error a second, not one per dropped message"
    assert "20 messages per second" in limits[0]
    await asyncio.sleep(1.1)  # tokens come back
    await flooder.send("{")
    await wait_until(lambda: flooder.errors[-1].startswith("malformed JSON"))
    await flooder.close()


async def test_an_oversized_message_closes_that_connection_only(make_system: MakeSystem) -> None:
    system = await make_system()
    bystander = RtcClient(ws_url(system))
    await bystander.connect()
    big = SignalingClient(ws_url(system))
    await big.open()
    await big.expect("config")
    await big.send("x" * (65 * 1024))
    await asyncio.wait_for(big.closed.wait(), 5)
    assert big.ws is not None and big.ws.close_code == 1009  # message too big
    await bystander.send({"type": "ice-candidate", "data": None})
    await bystander.send("{")
    await wait_until(lambda: bool(bystander.errors))
    await big.close()
    await bystander.close()


async def test_sfu_route_tells_the_page_which_janus_room_to_watch(
        make_system: MakeSystem) -> None:
    direct = await make_system()
    relaying = await make_system({"authToken": "t0ken", "sfu": {
        "type": "janus", "url": "http://127.0.0.1:9/janus", "room": 77, "pin": "1111",
        "display": "host"}})
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{direct.server.port}/sfu") as response:
            assert response.status == 200 and await response.json() is None
        url = f"http://127.0.0.1:{relaying.server.port}/sfu"
        async with http.get(url) as refused:
            assert refused.status == 401
        async with http.get(url + "?token=t0ken") as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "no-store"
            info = await response.json()
    assert info == {"type": "janus", "url": "http://127.0.0.1:9/janus", "room": 77,
                    "display": "host", "pinned": True, "iceServers": []}
