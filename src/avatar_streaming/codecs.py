"""The codecs we serve, in one table: the names the configuration uses, their kinds, MIME
types, RTP clock rates and payload types, and what Janus's VideoRoom calls them.

Every other place (the configuration's choices, the encoders, the SDP checks and codec
preferences, the codec registration with aiortc, the Janus publication) reads from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["audio", "video"]


@dataclass(frozen=True)
class Codec:
    name: str
    """As configured: ``webrtc.videoCodec`` / ``webrtc.audioCodec``."""
    kind: Kind
    mime_type: str
    clock_rate: int
    payload_type: int
    """The payload type in offers we make (aiortc's, or the one we register for VP9). In an
    answer the offerer's payload type is used, whatever it is."""
    janus_name: str
    """The name in Janus VideoRoom's ``videocodec`` / ``audiocodec``."""
    rtx_payload_type: int | None = None
    """The payload type of its retransmissions (RFC 4588), for the video codecs. (H264 has a
    second profile in aiortc's table, 101 and 102: Constrained Baseline, 42e01f.)"""

    @property
    def mime_lower(self) -> str:
        return self.mime_type.lower()


CODECS: dict[str, Codec] = {c.name: c for c in (
    Codec("VP8", "video", "video/VP8", 90000, 97, "vp8", rtx_payload_type=98),
    Codec("VP9", "video", "video/VP9", 90000, 103, "vp9", rtx_payload_type=104),
    Codec("H264", "video", "video/H264", 90000, 99, "h264", rtx_payload_type=100),
    Codec("opus", "audio", "audio/opus", 48000, 96, "opus"),
    Codec("pcmu", "audio", "audio/PCMU", 8000, 0, "pcmu"),
    Codec("pcma", "audio", "audio/PCMA", 8000, 8, "pcma"),
)}

VIDEO_CODECS: tuple[str, ...] = tuple(c.name for c in CODECS.values() if c.kind == "video")
AUDIO_CODECS: tuple[str, ...] = tuple(c.name for c in CODECS.values() if c.kind == "audio")
VIDEO_CLOCK_RATE = 90000
"""Every video codec's RTP clock (RFC 7741, RFC 9628, RFC 6184)."""


def codec(name: str) -> Codec:
    """The codec configured as ``name``; KeyError for one not in the table."""
    return CODECS[name]
