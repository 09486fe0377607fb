"""The shared encoder and per-viewer RTP, against real aiortc viewers."""

from __future__ import annotations

import asyncio
import struct
import time
from typing import Any

from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket

from tests.conftest import MakeSystem, wait_until, ws_url
from tests.feeds import feeding_frames
from tests.integration.client import RtcClient
from tests.signals import (
    QUADRANT_COLOURS,
    colours_match,
    first_quadrant_frame,
    quadrant_centres,
    quadrants,
)


def count_rembs(receiver: RTCRtpReceiver) -> list[float]:
    """The times ``receiver`` sends a bandwidth estimate (REMB: RTCP PSFB, FMT 15)."""
    sent: list[float] = []
    send = receiver._send_rtcp

    async def counting(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            sent.append(time.monotonic())
        await send(packet)

    receiver._send_rtcp = counting  # type: ignore[method-assign]
    return sent


def video_receiver(client: RtcClient) -> RTCRtpReceiver:
    assert client.pc is not None
    return next(r for r in client.pc.getReceivers() if r.track and r.track.kind == "video")


class LossyLink:
    """Drops every ``nth`` original video packet (once), and notes what comes back as RTX."""

    def __init__(self, receiver: RTCRtpReceiver, nth: int) -> None:
        self.dropped: set[int] = set()
        self.recovered: set[int] = set()
        self.media_pt: int | None = None
        self._nth, self._seen = nth, 0
        self._handle = receiver._handle_rtp_packet
        receiver._handle_rtp_packet = self._filter  # type: ignore[method-assign]

    async def _filter(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        if self.media_pt is None:
            self.media_pt = packet.payload_type
        if packet.payload_type == self.media_pt:
            self._seen += 1
            if self._seen % self._nth == 0 and packet.sequence_number not in self.dropped:
                self.dropped.add(packet.sequence_number)
                return
        elif len(packet.payload) >= 2:  # RTX: the original sequence number comes first
            self.recovered.add(struct.unpack("!H", packet.payload[:2])[0])
        await self._handle(packet, arrival_time_ms)


async def test_lost_packets_are_retransmitted_and_the_picture_keeps_coming(
        make_system: MakeSystem) -> None:
    system = await make_system()
    client = RtcClient(ws_url(system))
    async with feeding_frames(system, quadrants()):
        await client.connect()
        link = LossyLink(video_receiver(client), nth=20)
        video = await client.track("video")
        decoded, matching, start = 0, 0, time.monotonic()
        while time.monotonic() - start < 4:
            rgb = (await asyncio.wait_for(video.recv(), 5)).to_ndarray(format="rgb24")
            decoded += 1
            matching += colours_match(quadrant_centres(rgb), QUADRANT_COLOURS)
    assert len(link.dropped) >= 5, "expected the test to have dropped packets"
    recovered = len(link.dropped & link.recovered) / len(link.dropped)
    assert recovered >= 0.8, f"expected lost packets sent again (RTX), got {recovered:.0%}"
    assert decoded >= 100 and matching >= decoded - 15, f"{decoded} decoded, {matching} right"
    await client.close()


async def test_a_late_viewer_gets_a_keyframe_and_decodes_at_once(make_system: MakeSystem) -> None:
    system = await make_system()
    first = RtcClient(ws_url(system))
    async with feeding_frames(system, quadrants()):
        await first.connect()
        await asyncio.wait_for((await first.track("video")).recv(), 10)
        await wait_until(lambda: system.video_encoder.frames_encoded >= 60, 10)  # well past
        keyframes_before = system.video_encoder.keyframes
        late = RtcClient(ws_url(system))
        await late.connect()
        joined = time.monotonic()

        async def no_pli(media_ssrc: int) -> None:  # the join alone must bring the keyframe
            pass

        video_receiver(late)._send_rtcp_pli = no_pli  # type: ignore[method-assign]
        video = await late.track("video")
        await first_quadrant_frame(video, timeout_s=5)
        waited = time.monotonic() - joined
    assert waited < 2, f"expected the late viewer's picture within 2 s, got {waited:.2f} s"
    assert system.video_encoder.keyframes > keyframes_before
    await first.close()
    await late.close()


async def test_pli_brings_a_keyframe_and_bandwidth_estimates_do_not(
        make_system: MakeSystem) -> None:
    system = await make_system()
    client = RtcClient(ws_url(system))
    async with feeding_frames(system, quadrants()):
        await client.connect()
        await asyncio.wait_for((await client.track("video")).recv(), 10)
        receiver = video_receiver(client)
        rembs = count_rembs(receiver)
        await wait_until(lambda: len(rembs) >= 3, 10)  # estimates the server has had
        steady = system.video_encoder.keyframes
        assert steady <= 2, f"expected no keyframes from REMB, got {steady}"
        ssrc = next(iter(s.source for s in receiver.getSynchronizationSources()), None)
        assert ssrc is not None
        await receiver._send_rtcp_pli(ssrc)
        await wait_until(lambda: system.video_encoder.keyframes > steady, 2)
    assert system.video_encoder.keyframes == steady + 1, "one PLI, one keyframe"
    await client.close()


async def test_many_viewers_share_one_encoder(make_system: MakeSystem) -> None:
    system = await make_system()
    clients = [RtcClient(ws_url(system)) for _ in range(4)]
    async with feeding_frames(system, quadrants()):
        for client in clients:
            await client.connect()
        for client in clients:
            await asyncio.wait_for((await client.track("video")).recv(), 10)
        pushed, encoded = system.bridge.metrics.video_frames, system.video_encoder.frames_encoded
        await wait_until(lambda: system.bridge.metrics.video_frames >= pushed + 60, 10)
        pushed = system.bridge.metrics.video_frames - pushed
        encoded = system.video_encoder.frames_encoded - encoded
    assert pushed - 2 <= encoded <= pushed + 1, \
        f"expected one encode per frame for all 4 viewers: {pushed} pushed, {encoded} encoded"
    for client in clients:
        await client.close()
