from __future__ import annotations

import fractions
import struct

import av
import numpy as np
from aiortc import RTCRtpSender
from aiortc import codecs as aiortc_codecs

from avatar_streaming.codecs import CODECS
from avatar_streaming.media import vp9
from avatar_streaming.rtc._aiortc_compat import register_codecs


def test_vp9_is_registered_with_aiortc_once_with_our_payload_types() -> None:
    register_codecs()
    register_codecs()
    codecs = RTCRtpSender.getCapabilities("video").codecs
    vp9_codecs = [c for c in codecs if c.mimeType == "video/VP9"]
    assert len(vp9_codecs) == 1 and vp9_codecs[0].clockRate == 90000
    registered = [c for c in aiortc_codecs.CODECS["video"] if c.mimeType == "video/VP9"]
    assert registered[0].payloadType == CODECS["VP9"].payload_type
    rtx = [c for c in aiortc_codecs.CODECS["video"]
           if c.parameters.get("apt") == CODECS["VP9"].payload_type]
    assert [c.payloadType for c in rtx] == [CODECS["VP9"].rtx_payload_type]


def test_payload_descriptors_follow_rfc_9628() -> None:
    data = bytes(range(256)) * 10  # 2560 bytes: three packets
    key = vp9.packetize(data, picture_id=0x1234, keyframe=True, width=512, height=480)
    assert len(key) == 3
    first, middle, last = key
    assert first[0] == 0x80 | 0x08 | 0x02, "I, B (start) and V (structure); P clear on a keyframe"
    assert struct.unpack("!H", first[1:3])[0] == 0x8000 | 0x1234, "M=1 and the 15-bit id"
    assert first[3] == 0x10 and struct.unpack("!HH", first[4:8]) == (512, 480)
    assert middle[0] == 0x80 and last[0] == 0x80 | 0x04, "E marks the frame's last packet"
    assert first[8:] + middle[3:] + last[3:] == data
    delta = vp9.packetize(b"x", picture_id=7, keyframe=False, width=512, height=480)
    assert delta == [bytes([0x80 | 0x40 | 0x08 | 0x04]) + struct.pack("!H", 0x8007) + b"x"]


def test_the_encoder_makes_keyframes_on_request_and_decodable_frames() -> None:
    encoder = vp9.Vp9Encoder()
    decoder = av.CodecContext.create("libvpx-vp9", "r")
    decoded = 0
    for i in range(6):
        pixels = np.full((96, 128, 3), 40 * i, np.uint8)
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = i * 3000, fractions.Fraction(1, 90000)
        payloads, timestamp = encoder.encode(frame, force_keyframe=i in (0, 4))
        assert timestamp == i * 3000
        keyframe = payloads[0][0] & 0x40 == 0
        assert keyframe == (i in (0, 4)), f"frame {i}"
        skip = [8 if n == 0 and keyframe else 3 for n in range(len(payloads))]
        data = b"".join(p[k:] for p, k in zip(payloads, skip, strict=True))
        decoded += len(decoder.decode(av.Packet(data)))
    assert decoded == 6
