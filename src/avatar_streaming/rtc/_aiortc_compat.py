"""Every place we reach into aiortc's or aioice's internals, in one module.

tests/unit/rtc/test_aiortc_compat.py fails loudly when an upgrade moves these.
Tested with aiortc 1.16 and aioice 0.13 (see the pins in pyproject.toml).

What we take over, and why:

- aioice's host address lookup, so one negotiation can gather on chosen
  addresses (loopback included), through a context variable.
- An RTCRtpSender's RTP path. aiortc encodes and packetizes per sender; we
  encode once for every viewer, so for each sender we learn its negotiated
  parameters (by wrapping ``send``), write RTP ourselves, protect it with the
  sender's SRTP session and hand it to the nominated ICE pair's socket. aiortc
  keeps signaling, ICE, DTLS and RTCP: we answer its NACK and keyframe
  callbacks, and feed its sender-report counters.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import aioice.ice
from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, AnyRtcpPacket, RtcpPsfbPacket

KEYFRAME_REQUESTS = {RTCP_PSFB_PLI: "pli", RTCP_PSFB_FIR: "fir"}

HOST_ADDRESSES: ContextVar[tuple[str, ...] | None] = ContextVar(
    "avatar_streaming_ice_host_addresses", default=None)
"""Host addresses for ICE gathering in the current context; None leaves aioice's default."""

_original_get_host_addresses: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = HOST_ADDRESSES.get()
    if chosen is None:
        return _original_get_host_addresses(use_ipv4, use_ipv6)
    wanted = {4: use_ipv4, 6: use_ipv6}
    return [a for a in chosen if wanted[ipaddress.ip_address(a).version]]


def install() -> None:
    """Route aioice's host address lookup through HOST_ADDRESSES (idempotent)."""
    aioice.ice.get_host_addresses = _get_host_addresses


install()


def take_over_sender(
    sender: RTCRtpSender,
    *,
    on_send: Callable[[RTCRtpSendParameters], None],
    on_nack: Callable[[int], None],
    on_keyframe_request: Callable[[str], None],
) -> None:
    """Learn a sender's parameters when aiortc starts it; answer its NACKs and PLI/FIRs
    (``on_keyframe_request("pli")`` or ``("fir")``).

    The sender must have a track that never yields a frame, so aiortc's own
    RTP loop stays idle while it runs RTCP.
    """
    original_send = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        await original_send(parameters)
        on_send(parameters)

    async def retransmit(sequence_number: int) -> None:
        on_nack(sequence_number)

    original_rtcp = sender._handle_rtcp_packet

    async def handle_rtcp(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in KEYFRAME_REQUESTS:
            on_keyframe_request(KEYFRAME_REQUESTS[packet.fmt])
        else:
            await original_rtcp(packet)

    # aiortc calls these through the instance: self.send(), self._retransmit(),
    # self._handle_rtcp_packet() (which would call self._send_keyframe() for PLI and FIR).
    sender.send = send  # type: ignore[method-assign]
    sender._retransmit = retransmit  # type: ignore[method-assign]
    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]


def record_sent(sender: RTCRtpSender, *, ntp_time: int, rtp_timestamp: int,
                packets: int, octets: int) -> None:
    """Feed what we sent to aiortc's RTCP sender reports and getStats()."""
    sender._RTCRtpSender__ntp_timestamp = ntp_time  # type: ignore[attr-defined]
    sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
    sender._RTCRtpSender__packet_count = packets  # type: ignore[attr-defined]
    sender._RTCRtpSender__octet_count = octets  # type: ignore[attr-defined]


def srtp_protector(sender: RTCRtpSender) -> Callable[[bytes], bytes] | None:
    """The sender's SRTP ``protect`` once its DTLS transport is connected, else None."""
    dtls = sender.transport
    if dtls.state != "connected" or dtls._tx_srtp is None:
        return None
    protect: Callable[[bytes], bytes] = dtls._tx_srtp.protect
    return protect


def datagram_sender(sender: RTCRtpSender) -> Callable[[bytes], None] | None:
    """Send one datagram on the sender's nominated ICE pair, without awaiting; None if none."""
    connection: Any = sender.transport.transport._connection
    pair = connection._nominated.get(1)
    if pair is None or pair.protocol.transport is None:
        return None
    transport, address = pair.protocol.transport, pair.remote_addr

    def send(data: bytes) -> None:
        transport.sendto(data, address)

    return send

