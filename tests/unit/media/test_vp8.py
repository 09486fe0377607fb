from __future__ import annotations

import fractions

import av
from aiortc.codecs import depayload, vpx
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from avatar_streaming.media import vp8
from avatar_streaming.media.encoder import codec_encoder
from tests.signals import QUADRANT_COLOURS, colours_match, quadrant_centres, quadrants

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)


def frame_at(i: int) -> av.VideoFrame:
    rgb = quadrants(256, 256)[..., :3].copy()
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    frame.pts, frame.time_base = i * 3000, fractions.Fraction(1, 90000)
    return frame


class Counted(vp8.Vp8Encoder):
    """Notes every codec it opens itself."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[av.VideoCodecContext] = []

    def _open(self, width: int, height: int) -> av.VideoCodecContext:
        self.opened.append(super()._open(width, height))
        return self.opened[-1]


def test_ours_is_the_vp8_encoder() -> None:
    assert isinstance(codec_encoder("VP8", 90000), vp8.Vp8Encoder)


def test_aiortc_encodes_with_the_codec_we_open_and_never_opens_its_own() -> None:
    encoder = Counted()
    for i in range(4):
        encoder.encode(frame_at(i))
        assert encoder.codec is encoder.opened[0], f"frame {i}: aiortc replaced our codec"
    encoder.target_bitrate = 2 * encoder.opened[0].bit_rate  # aiortc would reopen: we do
    encoder.encode(frame_at(4))
    assert len(encoder.opened) == 2 and encoder.codec is encoder.opened[1]
    assert encoder.codec.bit_rate == encoder.target_bitrate


def test_its_rtp_payloads_decode_to_the_picture_with_keyframes_on_request() -> None:
    encoder, decoder = vp8.Vp8Encoder(), vpx.Vp8Decoder()
    last = -1
    for i in range(6):
        payloads, timestamp = encoder.encode(frame_at(i), force_keyframe=i in (0, 4))
        assert timestamp > last
        last = timestamp
        keyframe = depayload(VP8, payloads[0])[0] & 0x01 == 0  # VP8 frame tag: P bit clear
        assert keyframe == (i in (0, 4)), f"frame {i}"
        data = b"".join(depayload(VP8, p) for p in payloads)
        [decoded] = decoder.decode(JitterFrame(data=data, timestamp=timestamp))
        assert colours_match(quadrant_centres(decoded.to_ndarray(format="rgb24")),
                             QUADRANT_COLOURS), f"frame {i}"
