"""Our RTP headers, read back by aiortc's own parser."""

from __future__ import annotations

from aiortc import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtcrtpparameters import RTCRtcpParameters, RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from avatar_streaming.media.fanout import Broadcast, Payload
from avatar_streaming.rtc.rtp_out import RtpOut
from tests.unit.rtc.test_aiortc_compat import new_sender

EXTENSIONS = [
    RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
    RTCRtpHeaderExtensionParameters(
        id=2, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
]


def parameters(extensions: list[RTCRtpHeaderExtensionParameters]) -> RTCRtpSendParameters:
    return RTCRtpSendParameters(
        codecs=[RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96),
                RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90000, payloadType=97,
                                      parameters={"apt": 96})],
        headerExtensions=extensions, muxId="1", rtcp=RTCRtcpParameters(cname="x"))


async def test_headers_parse_with_aiortc_and_carry_what_was_negotiated() -> None:
    sender = new_sender()
    broadcast = Broadcast("video", 90000)
    out = RtpOut(sender, broadcast)
    broadcast.send([b"early"], 0, 0)  # before this viewer joined
    params = parameters(EXTENSIONS)
    out._start(params)
    extensions = HeaderExtensionsMap()
    extensions.configure(params)
    ntp = (3_900_000_000 << 32) | 0x12345678
    payload = Payload(index=1, data=b"\x10frame", marker=True, timestamp=3000)
    raw = out._header(payload, 96, sender._ssrc, out._seq(1), out._extensions(ntp)) + payload.data
    packet = RtpPacket.parse(raw, extensions)
    assert (packet.payload_type, packet.marker, packet.ssrc) == (96, 1, sender._ssrc)
    assert packet.payload == b"\x10frame"
    assert packet.extensions.mid == "1"
    assert packet.extensions.abs_send_time == (ntp >> 14) & 0xFFFFFF
    assert packet.sequence_number == out._seq_origin, "a viewer's sequence starts where it joined"
    assert packet.timestamp == (out._ts_origin + 3000) & 0xFFFFFFFF
    assert out._rtx_payload_type == 97


async def test_no_negotiated_extensions_means_no_extension_block() -> None:
    sender = new_sender()
    out = RtpOut(sender, Broadcast("audio", 48000))
    out._start(parameters([]))
    raw = out._header(Payload(0, b"opus", False, 960), 111, 5, 7, out._extensions(0))
    packet = RtpPacket.parse(raw + b"opus")
    assert raw[0] == 0x80 and packet.payload == b"opus" and packet.marker == 0
