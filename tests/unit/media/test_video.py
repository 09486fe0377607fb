from __future__ import annotations

import fractions
import io

import av
import numpy as np
import pytest

from avatar_streaming import FrameError, VideoFrame
from avatar_streaming.media.pixels import PixelRing, Stored
from avatar_streaming.media.video import accept_frame, to_av_frame
from tests.signals import QUADRANT_COLOURS, colours_match, quadrant_centres, quadrants


def rgb_of(frame: av.VideoFrame) -> np.ndarray:
    return frame.reformat(format="rgb24").to_ndarray()


@pytest.mark.parametrize("kind", ["array", "bytes", "bytearray", "memoryview"])
def test_rgba_in_every_buffer_type(kind: str) -> None:
    img = quadrants(64, 32)
    data = {"array": img, "bytes": img.tobytes(), "bytearray": bytearray(img.tobytes()),
            "memoryview": memoryview(img.tobytes())}[kind]
    out = to_av_frame(VideoFrame(data, 64, 32, 0))
    assert (out.width, out.height, out.format.name) == (64, 32, "yuv420p")
    assert colours_match(quadrant_centres(rgb_of(out)), QUADRANT_COLOURS)


def test_i420_yuv() -> None:
    yuv = av.VideoFrame.from_ndarray(quadrants(64, 64)[..., :3].copy(), format="rgb24") \
        .reformat(format="yuv420p").to_ndarray()
    out = to_av_frame(VideoFrame(yuv.tobytes(), 64, 64, 0, "YUV"))
    assert colours_match(quadrant_centres(rgb_of(out)), QUADRANT_COLOURS)


@pytest.mark.parametrize(("fmt", "codec"), [("PNG", "png"), ("JPEG", "mjpeg")])
def test_encoded_images_are_decoded(fmt: str, codec: str) -> None:
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height = 64, 64
    ctx.pix_fmt = "rgb24" if codec == "png" else "yuvj420p"
    ctx.time_base = fractions.Fraction(1, 30)
    src = av.VideoFrame.from_ndarray(quadrants(64, 64)[..., :3].copy(), format="rgb24")
    data = b"".join(bytes(p) for p in ctx.encode(src.reformat(format=ctx.pix_fmt)))
    out = to_av_frame(VideoFrame(data, 64, 64, 0, fmt))  # type: ignore[arg-type]
    assert colours_match(quadrant_centres(rgb_of(out)), QUADRANT_COLOURS)
    with pytest.raises(FrameError, match="64x64"):
        to_av_frame(VideoFrame(data, 32, 32, 0, fmt))  # type: ignore[arg-type]


@pytest.mark.parametrize(("frame", "words"), [
    (VideoFrame(b"\0" * 100, 512, 512, 0), ["1048576 bytes", "512x512", "got 100"]),
    (VideoFrame(np.zeros((10, 10, 4), np.uint8), 512, 512, 0), ["(512, 512, 4)", "(10, 10, 4)"]),
    (VideoFrame(np.zeros((4, 4, 4), np.float32), 4, 4, 0), ["uint8", "float32"]),
    (VideoFrame("pixels", 4, 4, 0), ["bytes", "str"]),  # type: ignore[arg-type]
    (VideoFrame(b"\0" * 64, 4, 4, 0, "BGR"), ["RGBA, YUV, JPEG, PNG", "'BGR'"]),  # type: ignore[arg-type]
    (VideoFrame(b"\0" * 64, 0, 4, 0), ["width", "0"]),
    (VideoFrame(b"\0" * 10, 4, 4, 0, "YUV"), ["24 bytes of I420", "got 10"]),
    (VideoFrame(b"not a png", 4, 4, 0, "PNG"), ["valid PNG", "9 bytes"]),
    (VideoFrame(b"\xff\xd8garbage", 4, 4, 0, "JPEG"), ["valid JPEG"]),
])
def test_bad_frames_say_what_was_expected(frame: VideoFrame, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        to_av_frame(frame)
    assert isinstance(info.value, FrameError)
    for word in words:
        assert word in str(info.value)


def test_png_from_an_in_memory_file() -> None:
    buf = io.BytesIO()
    with av.open(buf, "w", format="image2pipe") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgba"
        frame = av.VideoFrame.from_ndarray(quadrants(16, 16), format="rgba")
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    out_frame = to_av_frame(VideoFrame(buf.getvalue(), 16, 16, 0, "PNG"))
    assert colours_match(quadrant_centres(rgb_of(out_frame)), QUADRANT_COLOURS)


def test_pixels_are_copied_at_push_and_converted_later() -> None:
    ring = PixelRing(slots=2)
    img = quadrants(32, 32)
    picture = accept_frame(VideoFrame(img, 32, 32, 0), ring)
    img[:] = 0  # the caller reuses its buffer at once
    yuv = picture.yuv()
    assert yuv is not None
    assert colours_match(quadrant_centres(rgb_of(yuv)), QUADRANT_COLOURS)
    assert picture.yuv() is yuv, "converted once"


def test_a_picture_overwritten_before_conversion_reads_as_none() -> None:
    ring = PixelRing(slots=2)
    first = accept_frame(VideoFrame(quadrants(32, 32), 32, 32, 0), ring)
    for _ in range(2):
        accept_frame(VideoFrame(quadrants(32, 32), 32, 32, 0), ring)
    assert first.yuv() is None


class CountingRing(PixelRing):
    def __init__(self) -> None:
        super().__init__(slots=2)
        self.stores = 0

    def store(self, pixels: np.ndarray) -> Stored:
        self.stores += 1
        return super().store(pixels)


@pytest.mark.parametrize("kind", ["bytes", "read-only array", "read-only memoryview"])
def test_pixels_handed_over_are_not_copied_and_outlive_the_ring(kind: str) -> None:
    img = quadrants(32, 32)
    if kind == "bytes":
        data: object = img.tobytes()
    elif kind == "read-only array":
        img.setflags(write=False)
        data = img
    else:
        data = memoryview(img.tobytes()).toreadonly()
    ring = CountingRing()
    picture = accept_frame(VideoFrame(data, 32, 32, 0), ring)  # type: ignore[arg-type]
    for _ in range(3):  # more pushes than the ring has slots
        accept_frame(VideoFrame(quadrants(32, 32), 32, 32, 0), ring)
    assert ring.stores == 3 and picture.stable, "only the writable pushes were copied"
    yuv = picture.yuv()
    assert yuv is not None and colours_match(quadrant_centres(rgb_of(yuv)), QUADRANT_COLOURS)


def test_handed_over_i420_is_used_where_it_is() -> None:
    yuv = to_av_frame(VideoFrame(quadrants(32, 32), 32, 32, 0))
    planes = yuv.to_ndarray()
    planes.setflags(write=False)
    ring = CountingRing()
    picture = accept_frame(VideoFrame(planes, 32, 32, 0, "YUV"), ring)
    assert ring.stores == 0 and picture.stable
    shown = picture.yuv()
    assert shown is not None and np.array_equal(shown.to_ndarray(), planes)
