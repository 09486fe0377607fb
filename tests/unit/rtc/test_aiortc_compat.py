"""Fails loudly when an aiortc or aioice upgrade moves what rtc/_aiortc_compat.py relies on."""

from __future__ import annotations

import inspect

import aioice.ice
from aiortc import RTCCertificate, RTCDtlsTransport, RTCIceGatherer, RTCIceTransport, RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
)

from avatar_streaming.rtc import _aiortc_compat as compat


def test_aioice_still_looks_up_host_addresses_through_the_module_function() -> None:
    source = inspect.getsource(aioice.ice.Connection.gather_candidates)
    assert "get_host_addresses(" in source, "aioice no longer calls get_host_addresses"
    params = list(inspect.signature(compat._original_get_host_addresses).parameters)
    assert params == ["use_ipv4", "use_ipv6"]


def test_the_lookup_is_routed_through_our_context_variable() -> None:
    assert aioice.ice.get_host_addresses is compat._get_host_addresses
    token = compat.HOST_ADDRESSES.set(("127.0.0.1", "::1"))
    try:
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
    finally:
        compat.HOST_ADDRESSES.reset(token)


def new_sender() -> RTCRtpSender:
    ice = RTCIceTransport(RTCIceGatherer(iceServers=[]))
    return RTCRtpSender("video", RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()]))


async def test_a_taken_over_sender_hands_us_nacks_and_keyframe_requests() -> None:
    sender = new_sender()
    nacks: list[int] = []
    keyframes: list[str] = []
    compat.take_over_sender(sender, on_send=lambda p: None, on_nack=nacks.append,
                            on_keyframe_request=keyframes.append)
    await sender._handle_rtcp_packet(RtcpRtpfbPacket(
        fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=sender._ssrc, lost=[7, 9]))
    await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1,
                                                    media_ssrc=sender._ssrc))
    await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_FIR, ssrc=1,
                                                    media_ssrc=sender._ssrc))
    assert nacks == [7, 9]
    assert keyframes == ["pli", "fir"]


async def test_sender_report_counters_are_where_we_write_them() -> None:
    sender = new_sender()
    for name in ("ntp_timestamp", "rtp_timestamp", "packet_count", "octet_count"):
        assert hasattr(sender, f"_RTCRtpSender__{name}"), f"aiortc moved RTCRtpSender.__{name}"
    compat.record_sent(sender, ntp_time=123 << 32, rtp_timestamp=4567, packets=10, octets=999)
    stats = [s for s in (await sender.getStats()).values() if s.type == "outbound-rtp"]
    assert (stats[0].packetsSent, stats[0].bytesSent) == (10, 999)
    source = inspect.getsource(RTCRtpSender._run_rtcp)
    for name in ("__ntp_timestamp", "__rtp_timestamp", "__packet_count", "__octet_count"):
        assert f"self.{name}" in source, f"aiortc's sender reports no longer use {name}"


async def test_the_transport_internals_we_send_through_are_there() -> None:
    sender = new_sender()
    dtls = sender.transport
    assert hasattr(dtls, "_tx_srtp"), "aiortc moved RTCDtlsTransport._tx_srtp"
    connection = dtls.transport._connection
    assert isinstance(connection._nominated, dict), "aioice moved Connection._nominated"
    assert compat.srtp_protector(sender) is None, "not connected yet"
    assert compat.datagram_sender(sender) is None, "no nominated pair yet"
    pair_fields = inspect.signature(aioice.ice.CandidatePair.__init__).parameters
    assert list(pair_fields)[1:] == ["protocol", "remote_candidate"]
    assert "remote_addr" in dir(aioice.ice.CandidatePair)
    assert "transport.sendto" in inspect.getsource(aioice.ice.StunProtocol.send_data)
