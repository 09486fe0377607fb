"""A lossy, slow link between one viewer and the server: 5% loss and 50 ms each way.

The link is a UDP relay of the test's own on 127.0.0.1: each side is told the relay's
address instead of the other's (candidates rewritten in the offer and the answer), so every
packet, STUN, DTLS, RTP and RTCP, crosses it.
"""

from __future__ import annotations

import asyncio
import random
import re
import time

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from avatar_streaming import PeerDisconnectedEvent, VideoFrame
from avatar_streaming.rtc.ice import candidate_address, gathering_on
from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames, feeding_tone
from tests.integration.client import RtcClient, SignalingClient, note_frames
from tests.signals import QUADRANT_COLOURS, colours_match, quadrant_centres, quadrants


class Relay:
    """Two UDP sockets: ``client_side`` faces the viewer, ``server_side`` the server."""

    def __init__(self) -> None:
        self.loss, self.delay_s = 0.0, 0.0
        self.client_addr: tuple[str, int] | None = None
        self.server_addr: tuple[str, int] | None = None
        self.dropped = 0
        self.watched_type: int | None = None  # RTP payload type counted towards the viewer
        self.watched_delivered = 0
        self._rng = random.Random(7)
        self.client_side: asyncio.DatagramTransport | None = None
        self.server_side: asyncio.DatagramTransport | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self.client_side, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self, from_client=True), local_addr=("127.0.0.1", 0))
        self.server_side, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self, from_client=False), local_addr=("127.0.0.1", 0))

    def port(self, side: asyncio.DatagramTransport | None) -> int:
        assert side is not None
        return int(side.get_extra_info("sockname")[1])

    def forward(self, data: bytes, from_client: bool) -> None:
        if self._rng.random() < self.loss:
            self.dropped += 1
            return
        out, to = ((self.server_side, self.server_addr) if from_client
                   else (self.client_side, self.client_addr))
        if out is None or to is None:
            return
        if not from_client and is_rtp(data, self.watched_type):
            self.watched_delivered += 1
        if self.delay_s:
            asyncio.get_running_loop().call_later(self.delay_s, out.sendto, data, to)
        else:
            out.sendto(data, to)

    def close(self) -> None:
        for side in (self.client_side, self.server_side):
            if side is not None:
                side.close()


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: Relay, from_client: bool) -> None:
        self.relay, self.from_client = relay, from_client

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.from_client:
            self.relay.client_addr = addr
        self.relay.forward(data, self.from_client)


def is_rtp(data: bytes, payload_type: int | None) -> bool:
    """Whether ``data`` is an RTP packet (not RTCP, STUN or DTLS) of ``payload_type``."""
    return (payload_type is not None and len(data) >= 12 and 128 <= data[0] <= 191
            and not 192 <= data[1] <= 223 and data[1] & 0x7F == payload_type)


def opus_payload_type(sdp: str) -> int:
    found = re.search(r"a=rtpmap:(\d+) opus/48000", sdp, re.IGNORECASE)
    assert found, "expected the answer to negotiate opus"
    return int(found.group(1))


def through_relay(sdp: str, port: int) -> tuple[str, tuple[str, int] | None]:
    """The SDP with every UDP host candidate pointed at ``port``; and the address it had."""
    original = None
    lines = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:") and " udp " in line.lower():
            parts = line.split()
            if candidate_address(line) == "127.0.0.1":
                original = original or ("127.0.0.1", int(parts[5]))
                parts[5] = str(port)
                line = " ".join(parts)
            else:
                continue
        lines.append(line)
    return "\r\n".join(lines) + "\r\n", original


async def feed_busy_picture(system: object, stop: asyncio.Event) -> None:
    """Quadrants under a band of fresh noise each frame: every frame is several packets."""
    rng = np.random.default_rng(1)
    base, start, n = quadrants(), time.monotonic(), 0
    while not stop.is_set():
        image = base.copy()
        image[:48, :, :3] = rng.integers(0, 255, (48, 512, 3), dtype=np.uint8)
        await system.bridge.push_video_frame(  # type: ignore[attr-defined]
            VideoFrame(image, 512, 512, time.time() * 1000))
        n += 1
        await asyncio.sleep(max(0.0, start + n / 30 - time.monotonic()))


async def connect_through_relay(system: object, url: str | None = None) -> tuple[
        Relay, RTCPeerConnection, SignalingClient, dict[str, object]]:
    """A receiving viewer (of ``url``, or the default room) whose every packet crosses a
    Relay."""
    relay = Relay()
    await relay.open()
    signaling = SignalingClient(url or ws_url(system))  # type: ignore[arg-type]
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    tracks: dict[str, object] = {}
    pc.on("track", lambda track: tracks.__setitem__(track.kind, track))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await signaling.open()
    await signaling.expect("config")
    with gathering_on(["127.0.0.1"]):
        await pc.setLocalDescription(await pc.createOffer())
    offer, _ = through_relay(pc.localDescription.sdp, relay.port(relay.server_side))
    await signaling.send({"type": "offer", "data": {"type": "offer", "sdp": offer}})
    answer = (await signaling.expect("answer"))["data"]["sdp"]
    answer, relay.server_addr = through_relay(answer, relay.port(relay.client_side))
    relay.watched_type = opus_payload_type(answer)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    for _ in range(100):
        if "video" in tracks and "audio" in tracks:
            break
        await asyncio.sleep(0.05)
    return relay, pc, signaling, tracks


async def decoded_rate(track: object, seconds: float) -> tuple[float, int]:
    """Frames decoded per second over ``seconds``, and how many had the right colours."""
    count, right, start = 0, 0, time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            frame = await asyncio.wait_for(track.recv(), 1.0)  # type: ignore[attr-defined]
        except TimeoutError:
            continue
        count += 1
        right += colours_match(quadrant_centres(frame.to_ndarray(format="rgb24")),
                               QUADRANT_COLOURS)
    return count / seconds, right


async def test_video_recovers_within_2s_of_loss_ending_and_audio_keeps_playing(
        make_system: MakeSystem) -> None:
    system = await make_system()
    stop = asyncio.Event()
    feeder = asyncio.create_task(feed_busy_picture(system, stop))
    async with feeding_tone(system, 440.0):
        relay, pc, signaling, tracks = await connect_through_relay(system)
        video, audio = tracks["video"], tracks["audio"]
        clean_fps, _ = await decoded_rate(video, 1.5)

        relay.loss, relay.delay_s = 0.05, 0.05
        audio_at: list[float] = []

        async def note_audio() -> None:
            while True:
                await audio.recv()  # type: ignore[attr-defined]
                audio_at.append(time.monotonic())

        noting = asyncio.create_task(note_audio())
        sent_before, lossy_start = relay.watched_delivered, time.monotonic()
        lossy_fps, _ = await decoded_rate(video, 4.0)
        lossy_s = time.monotonic() - lossy_start
        audio_delivered = (relay.watched_delivered - sent_before) / lossy_s
        noting.cancel()
        relay.loss, relay.delay_s = 0.0, 0.0
        ended = time.monotonic()
        recovered_after = None
        while time.monotonic() - ended < 4 and recovered_after is None:
            fps, right = await decoded_rate(video, 0.5)
            if fps >= 25 and right >= 10:
                recovered_after = time.monotonic() - ended
    stop.set()
    await feeder
    decoded = [t for t in audio_at if t <= lossy_start + lossy_s]
    audio_rate = len(decoded) / lossy_s
    gaps = np.diff([lossy_start, *decoded, lossy_start + lossy_s])
    print(f"\nclean {clean_fps:.1f} fps, 5% loss + 50 ms: {lossy_fps:.1f} fps, "
          f"audio: {audio_delivered:.1f} packets/s delivered, {audio_rate:.1f} frames/s "
          f"decoded, longest gap {gaps.max() * 1000:.0f} ms; {relay.dropped} packets dropped; "
          f"recovered {recovered_after} s after the loss ended")
    assert relay.dropped >= 30, "expected the relay to have dropped packets"
    # The server kept sending 50 packets/s of speech (5% of them lost on the way) ...
    assert audio_delivered >= 42, f"expected ~47.5 audio packets/s through the link, got " \
        f"{audio_delivered:.1f}"
    # ... and the viewer kept playing it. aiortc's receiver waits for 16 packets after a
    # loss before skipping it, and then skips a few more, so its rate sits below the link's.
    assert audio_rate >= 30, f"expected the viewer to keep decoding audio, got {audio_rate:.1f}/s"
    assert gaps.max() <= 1.0, f"expected no silence over 1 s, got {gaps.max() * 1000:.0f} ms"
    assert recovered_after is not None and recovered_after <= 2.0, recovered_after
    await pc.close()
    await signaling.close()
    relay.close()


@pytest.mark.timeout(120)
async def test_a_viewer_whose_network_vanishes_is_dropped_and_the_others_stream_on(
        make_system: MakeSystem) -> None:
    system = await make_system()
    gone: list[PeerDisconnectedEvent] = []
    system.server.on("peer-disconnected", gone.append)
    async with feeding_frames(system, quadrants()):
        relay, pc, signaling, _ = await connect_through_relay(system)
        other = RtcClient(ws_url(system))
        await other.connect()
        await wait_until(lambda: system.get_status()["peerCount"] == 2, timeout=10)
        seen: list[float] = []

        watching = asyncio.create_task(note_frames(await other.track("video"), seen))
        relay.loss = 1.0  # the network is gone; the WebSocket stays open
        vanished = time.monotonic()
        await wait_until(lambda: bool(gone), timeout=60)
        detected_s = time.monotonic() - vanished
        await asyncio.sleep(1.0)
        watching.cancel()
        fps = len([t for t in seen if t >= vanished + 1]) / (time.monotonic() - vanished - 1)
    print(f"\nvanished viewer dropped after {detected_s:.1f} s ({gone[0].reason}); "
          f"the other at {fps:.1f} fps")
    assert gone[0].reason == "ice-failed"
    assert system.get_status()["peerCount"] == 1
    assert fps >= 25, f"expected the other viewer to stream on at ~30 fps, got {fps:.1f}"
    await asyncio.wait_for(signaling.closed.wait(), 5)  # its signaling was closed too
    await other.close()
    await pc.close()
    await signaling.close()
    relay.close()
