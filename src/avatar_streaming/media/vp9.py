"""VP9 for aiortc, which ships none: an encoder (libvpx-vp9 through PyAV) and the RTP
payload format of RFC 9628. (rtc/_aiortc_compat.py registers VP9 with aiortc's codec
table, so that offers with VP9 are answered with it.)

The stream is one spatial and one temporal layer in non-flexible mode. Every packet's
payload descriptor carries a 15-bit picture ID; the first packet of a keyframe also
carries the scalability structure with the frame's size, as RFC 9628 recommends.
"""

from __future__ import annotations

import fractions
import random
import struct

import av
from aiortc.codecs.base import Encoder
from av.frame import Frame
from av.packet import Packet

from ..codecs import CODECS

CLOCK_RATE = CODECS["VP9"].clock_rate
MAX_PAYLOAD = 1200
"""Bytes of VP9 data per RTP packet, below a typical path MTU after headers and SRTP."""

# payload descriptor, first octet: I P L F B E V Z
_I, _P, _B, _E, _V = 0x80, 0x40, 0x08, 0x04, 0x02


def packetize(data: bytes, picture_id: int, keyframe: bool, width: int,
              height: int) -> list[bytes]:
    """One encoded VP9 frame as RTP payloads (RFC 9628, non-flexible mode)."""
    chunks = [data[i:i + MAX_PAYLOAD] for i in range(0, len(data), MAX_PAYLOAD)] or [b""]
    picture = struct.pack("!H", 0x8000 | (picture_id & 0x7FFF))  # M=1: 15-bit picture ID
    structure = bytes([0x10]) + struct.pack("!HH", width, height)  # N_S=0, Y=1, G=0
    payloads = []
    for i, chunk in enumerate(chunks):
        first, last = i == 0, i == len(chunks) - 1
        flags = _I | (0 if keyframe else _P) | (_B if first else 0) | (_E if last else 0)
        if first and keyframe:
            payloads.append(bytes([flags | _V]) + picture + structure + chunk)
        else:
            payloads.append(bytes([flags]) + picture + chunk)
    return payloads


class Vp9Encoder(Encoder):
    """libvpx-vp9 in real-time mode, with a fixed target bitrate."""

    def __init__(self) -> None:
        self.codec: av.VideoCodecContext | None = None
        self.picture_id = random.randrange(1 << 15)
        self.target_bitrate = 1_000_000

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        assert isinstance(frame, av.VideoFrame)
        if self.codec is None or (self.codec.width, self.codec.height) != (frame.width,
                                                                          frame.height):
            self.codec = self._open(frame.width, frame.height)
        if force_keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        packets = self.codec.encode(frame)
        data = b"".join(bytes(p) for p in packets)
        keyframe = any(p.is_keyframe for p in packets)
        payloads = packetize(data, self.picture_id, keyframe, frame.width, frame.height)
        self.picture_id = (self.picture_id + 1) & 0x7FFF
        pts, time_base = frame.pts or 0, frame.time_base or fractions.Fraction(1, CLOCK_RATE)
        return payloads, int(pts * time_base * CLOCK_RATE)

    def pack(self, packet: Packet) -> tuple[list[bytes], int]:  # type: ignore[type-arg]
        raise NotImplementedError("VP9 is encoded here from frames, not re-packed")

    def _open(self, width: int, height: int) -> av.VideoCodecContext:
        codec = av.CodecContext.create("libvpx-vp9", "w")
        assert isinstance(codec, av.VideoCodecContext)
        codec.width, codec.height = width, height
        codec.pix_fmt = "yuv420p"
        codec.bit_rate = self.target_bitrate
        codec.time_base = fractions.Fraction(1, CLOCK_RATE)
        codec.gop_size = 3000  # keyframes when asked, not on a timer
        codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                         "row-mt": "1", "tile-columns": "1", "error-resilient": "1"}
        codec.thread_count = 2
        return codec
