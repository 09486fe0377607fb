"""Every place we reach into aiortc's or aioice's internals, in one module.

Tested with exactly aiortc 1.16.0 and aioice 0.13.0 (pinned in pyproject.toml). Each
private name we use is listed in ``REACHED``; ``check()`` looks every one up and raises
``ImportError`` naming the first that moved. It runs when this module is imported, so an
upgrade that moves one fails at once and says which, and tests/unit/rtc/test_aiortc_compat.py
also checks the behaviour behind each name.

What we take over, and why:

- aioice's host address lookup (the module function ``aioice.ice.get_host_addresses``),
  so that one negotiation can gather on chosen addresses, loopback included. It is
  replaced only while one of our negotiations gathers (``host_addresses``), and falls
  through to aioice's own for anything else that gathers meanwhile.
- aiortc's codec table (``aiortc.codecs.CODECS``), to offer VP9, which aiortc lacks:
  ``register_codecs`` adds it once, before our first peer connection.
- An RTCRtpSender's RTP path. aiortc encodes and packetizes per sender; we encode once
  for every viewer, so for each sender we learn its negotiated parameters (by wrapping
  ``send``), write RTP ourselves, protect it with the sender's SRTP session and hand it to
  the nominated ICE pair's socket (``SendPath``, resolved once when aiortc starts the
  sender, which is after DTLS is up, and dropped when DTLS leaves "connected"). aiortc
  keeps signaling, ICE, DTLS and RTCP: we answer its NACK and keyframe callbacks, and feed
  its sender-report counters.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aioice.ice
from aiortc import RTCRtpCodecParameters, RTCRtpSender
from aiortc import codecs as aiortc_codecs
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpSendParameters
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, AnyRtcpPacket, RtcpPsfbPacket

from ..codecs import CODECS

KEYFRAME_REQUESTS = {RTCP_PSFB_PLI: "pli", RTCP_PSFB_FIR: "fir"}

REACHED: tuple[tuple[str, object, str], ...] = (
    ("aioice.ice", aioice.ice, "get_host_addresses"),
    ("aioice.ice.Connection", aioice.ice.Connection, "gather_candidates"),
    ("aioice.ice.CandidatePair", aioice.ice.CandidatePair, "remote_addr"),
    ("aiortc.codecs", aiortc_codecs, "CODECS"),
    ("aiortc.RTCRtpSender", RTCRtpSender, "_retransmit"),
    ("aiortc.RTCRtpSender", RTCRtpSender, "_handle_rtcp_packet"),
    ("aiortc.RTCRtpSender", RTCRtpSender, "_run_rtcp"),
)
"""(where, the object, the name) of each internal we use that exists before any instance.
``INSTANCE_REACHED`` lists those that exist only on instances; the test makes one of each
and checks them (and a CandidatePair's ``protocol.transport``)."""

INSTANCE_REACHED = {
    "RTCRtpSender": ("_ssrc", "_rtx_ssrc", "_RTCRtpSender__ntp_timestamp",
                     "_RTCRtpSender__rtp_timestamp", "_RTCRtpSender__packet_count",
                     "_RTCRtpSender__octet_count"),
    "RTCDtlsTransport": ("_tx_srtp",),
    "RTCIceTransport": ("_connection",),
    "aioice.ice.Connection": ("_nominated",),
}


def check() -> None:
    """ImportError naming the first internal in ``REACHED`` that is gone."""
    for where, owner, name in REACHED:
        if not hasattr(owner, name):
            raise ImportError(f"avatar_streaming needs {where}.{name}, which this aiortc/aioice "
                              f"no longer has (tested with aiortc 1.16.0, aioice 0.13.0)")


check()


# -- host addresses ---------------------------------------------------------------------

_HOST_ADDRESSES: ContextVar[tuple[str, ...] | None] = ContextVar(
    "avatar_streaming_ice_host_addresses", default=None)
_original_get_host_addresses = aioice.ice.get_host_addresses
_gathering = 0


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _HOST_ADDRESSES.get()
    if chosen is None:
        return _original_get_host_addresses(use_ipv4, use_ipv6)
    wanted = {4: use_ipv4, 6: use_ipv6}
    return [a for a in chosen if wanted[ipaddress.ip_address(a).version]]


@contextmanager
def host_addresses(addresses: Sequence[str]) -> Iterator[None]:
    """aioice gathers on ``addresses`` for what this context starts inside the block."""
    global _gathering
    token = _HOST_ADDRESSES.set(tuple(addresses))
    _gathering += 1
    aioice.ice.get_host_addresses = _get_host_addresses
    try:
        yield
    finally:
        _gathering -= 1
        if _gathering == 0:
            aioice.ice.get_host_addresses = _original_get_host_addresses
        _HOST_ADDRESSES.reset(token)


# -- codecs -----------------------------------------------------------------------------

def register_codecs() -> None:
    """Add VP9 (and its RTX) to aiortc's video codecs, with codecs.py's payload types; once."""
    video = aiortc_codecs.CODECS["video"]
    vp9 = CODECS["VP9"]
    if any(c.mimeType == vp9.mime_type for c in video):
        return
    taken = {c.payloadType for c in video}
    if {vp9.payload_type, vp9.rtx_payload_type} & taken:
        raise ImportError(f"aiortc's video codecs already use payload type "
                          f"{vp9.payload_type} or {vp9.rtx_payload_type}, which codecs.py "
                          f"gives VP9: update the table")
    feedback = [RTCRtcpFeedback(type="nack"), RTCRtcpFeedback(type="nack", parameter="pli"),
                RTCRtcpFeedback(type="goog-remb")]
    video += [
        RTCRtpCodecParameters(mimeType=vp9.mime_type, clockRate=vp9.clock_rate,
                              payloadType=vp9.payload_type, rtcpFeedback=feedback,
                              parameters={"profile-id": 0}),
        RTCRtpCodecParameters(mimeType="video/rtx", clockRate=vp9.clock_rate,
                              payloadType=vp9.rtx_payload_type,
                              parameters={"apt": vp9.payload_type}),
    ]


# -- senders ----------------------------------------------------------------------------

def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """The SSRCs aiortc chose for the sender's media and its retransmissions."""
    return sender._ssrc, sender._rtx_ssrc


@dataclass(frozen=True)
class SendPath:
    """Where a sender's packets go: its SRTP session and the nominated pair's socket."""

    protect: Callable[[bytes], bytes]
    send: Callable[[bytes], None]
    """Send one datagram, without awaiting."""


def take_over_sender(
    sender: RTCRtpSender,
    *,
    on_send: Callable[[RTCRtpSendParameters], None],
    on_path: Callable[[SendPath | None], None],
    on_nack: Callable[[int], None],
    on_keyframe_request: Callable[[str], None],
) -> None:
    """Learn a sender's parameters and its SendPath when aiortc starts it (``on_path(None)``
    once its DTLS transport is no longer connected); answer its NACKs and PLI/FIRs
    (``on_keyframe_request("pli")`` or ``("fir")``).

    The sender must have a track that never yields a frame, so aiortc's own
    RTP loop stays idle while it runs RTCP.
    """
    original_send = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        await original_send(parameters)
        on_send(parameters)
        dtls = sender.transport  # final now: bundling replaced the transceiver's own

        def follow() -> None:
            if dtls.state != "connected":
                dtls.remove_listener("statechange", follow)
                on_path(None)

        on_path(_send_path(dtls))
        dtls.on("statechange", follow)

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


def _send_path(dtls: RTCDtlsTransport) -> SendPath | None:
    """The path of a connected DTLS transport whose ICE has nominated a pair, else None."""
    if dtls.state != "connected" or dtls._tx_srtp is None:
        return None
    connection: Any = dtls.transport._connection
    pair = connection._nominated.get(1)
    if pair is None or pair.protocol.transport is None:
        return None
    transport, address = pair.protocol.transport, pair.remote_addr
    return SendPath(protect=dtls._tx_srtp.protect,
                    send=lambda data: transport.sendto(data, address))


def record_sent(sender: RTCRtpSender, *, ntp_time: int, rtp_timestamp: int,
                packets: int, octets: int) -> None:
    """Feed what we sent to aiortc's RTCP sender reports and getStats()."""
    sender._RTCRtpSender__ntp_timestamp = ntp_time  # type: ignore[attr-defined]
    sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
    sender._RTCRtpSender__packet_count = packets  # type: ignore[attr-defined]
    sender._RTCRtpSender__octet_count = octets  # type: ignore[attr-defined]

