"""Fails loudly when an aiortc or aioice upgrade moves what rtc/_aiortc_compat.py relies on."""

from __future__ import annotations

import asyncio
import inspect

import aioice.ice
import pytest
from aiortc import RTCCertificate, RTCDtlsTransport, RTCIceGatherer, RTCIceTransport, RTCRtpSender
from aiortc import codecs as aiortc_codecs
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
)

from avatar_streaming.codecs import CODECS
from avatar_streaming.rtc import _aiortc_compat as compat


def test_every_internal_we_name_is_there_and_a_missing_one_is_named() -> None:
    compat.check()
    moved = ("aiortc.RTCRtpSender", RTCRtpSender, "_no_such_method")
    original = compat.REACHED
    compat.REACHED = (*original, moved)
    try:
        with pytest.raises(ImportError, match=r"aiortc.RTCRtpSender._no_such_method"):
            compat.check()
    finally:
        compat.REACHED = original


def test_aioice_still_looks_up_host_addresses_through_the_module_function() -> None:
    source = inspect.getsource(aioice.ice.Connection.gather_candidates)
    assert "get_host_addresses(" in source, "aioice no longer calls get_host_addresses"
    params = list(inspect.signature(compat._original_get_host_addresses).parameters)
    assert params == ["use_ipv4", "use_ipv6"]


def test_the_lookup_is_ours_only_while_we_gather() -> None:
    own = aioice.ice.get_host_addresses
    assert own is compat._original_get_host_addresses
    with compat.host_addresses(("127.0.0.1", "::1")):
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
        with compat.host_addresses(("127.0.0.1",)):
            assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses is compat._get_host_addresses, \
            "an outer gathering is still on"
    assert aioice.ice.get_host_addresses is own


async def test_gathering_elsewhere_meanwhile_keeps_aioices_own_choice() -> None:
    """Another task's gathering (not inside our block) sees aioice's addresses."""
    elsewhere: list[list[str]] = []
    started = asyncio.Event()

    async def other() -> None:
        await started.wait()
        elsewhere.append(aioice.ice.get_host_addresses(True, False))

    task = asyncio.create_task(other())  # its context is copied now, outside the block
    with compat.host_addresses(("127.0.0.1",)):
        started.set()
        await task
    assert elsewhere == [compat._original_get_host_addresses(True, False)]


def new_sender() -> RTCRtpSender:
    ice = RTCIceTransport(RTCIceGatherer(iceServers=[]))
    return RTCRtpSender("video", RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()]))


async def test_a_taken_over_sender_hands_us_nacks_and_keyframe_requests() -> None:
    sender = new_sender()
    nacks: list[int] = []
    keyframes: list[str] = []
    compat.take_over_sender(sender, on_send=lambda p: None, on_path=lambda p: None,
                            on_nack=nacks.append, on_keyframe_request=keyframes.append)
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


async def test_the_instance_internals_we_use_are_there() -> None:
    sender = new_sender()
    dtls = sender.transport
    connection = dtls.transport._connection
    instances = {"RTCRtpSender": sender, "RTCDtlsTransport": dtls,
                 "RTCIceTransport": dtls.transport, "aioice.ice.Connection": connection}
    for where, names in compat.INSTANCE_REACHED.items():
        for name in names:
            assert hasattr(instances[where], name), f"aiortc/aioice moved {where}.{name}"
    assert compat.sender_ssrcs(sender) == (sender._ssrc, sender._rtx_ssrc)
    assert isinstance(connection._nominated, dict), "aioice changed Connection._nominated"
    assert compat._send_path(dtls) is None, "not connected yet"
    pair_fields = inspect.signature(aioice.ice.CandidatePair.__init__).parameters
    assert list(pair_fields)[1:] == ["protocol", "remote_candidate"]
    assert "transport.sendto" in inspect.getsource(aioice.ice.StunProtocol.send_data)


def test_aiortc_starts_a_sender_only_after_dtls_is_up() -> None:
    """The SendPath is resolved in the wrapped send(): aiortc must call it once connected."""
    from aiortc import RTCPeerConnection

    source = inspect.getsource(RTCPeerConnection._RTCPeerConnection__connect)  # type: ignore[attr-defined]
    start_dtls, send = source.index("dtlsTransport.start("), source.index("sender.send(")
    assert start_dtls < send, "aiortc now starts senders before DTLS is connected"


def test_our_codec_table_agrees_with_the_one_aiortc_offers_from() -> None:
    compat.register_codecs()
    for codec in CODECS.values():
        theirs = [c for c in aiortc_codecs.CODECS[codec.kind] if c.mimeType == codec.mime_type]
        assert theirs, f"aiortc does not offer {codec.mime_type}"
        assert (theirs[0].clockRate, theirs[0].payloadType) == (
            codec.clock_rate, codec.payload_type), f"{codec.name}: {theirs[0]}"
        rtx = [c.payloadType for c in aiortc_codecs.CODECS[codec.kind]
               if c.parameters.get("apt") == codec.payload_type]
        assert rtx[:1] == ([codec.rtx_payload_type] if codec.rtx_payload_type else []), \
            f"{codec.name}'s retransmissions"
