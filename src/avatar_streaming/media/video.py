"""Frame conversion: every VideoFrame format the contract names, to yuv420p for the encoders."""

from __future__ import annotations

import av
import numpy as np

from ..errors import FrameError
from ..types import VideoFrame
from .buffers import as_uint8

VIDEO_FORMATS = ("RGBA", "YUV", "JPEG", "PNG")
_IMAGE_DECODERS = {"JPEG": "mjpeg", "PNG": "png"}


def to_av_frame(frame: VideoFrame) -> av.VideoFrame:
    """Validate a pushed frame and convert it to a yuv420p ``av.VideoFrame``.

    Raises FrameError (a ValueError) saying what was expected and what came.
    """
    width, height = frame.width, frame.height
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 8192:
            raise FrameError(f"VideoFrame.{name}: expected an integer in [2, 8192], got {value!r}")
    match frame.format:
        case "RGBA":
            return _from_rgba(frame, width, height)
        case "YUV":
            return _from_i420(frame, width, height)
        case "JPEG" | "PNG":
            return _from_image(frame, width, height)
        case other:
            raise FrameError(
                f"VideoFrame.format: expected one of {', '.join(VIDEO_FORMATS)}, got {other!r}"
            )


def _pixels(frame: VideoFrame) -> np.ndarray:
    try:
        return as_uint8(frame.data, "VideoFrame.data")
    except TypeError as exc:
        raise FrameError(str(exc)) from None


def _from_rgba(frame: VideoFrame, width: int, height: int) -> av.VideoFrame:
    data = frame.data
    if isinstance(data, np.ndarray) and data.ndim == 3 and data.shape != (height, width, 4):
        raise FrameError(
            f"VideoFrame.data: expected an RGBA array of shape ({height}, {width}, 4), "
            f"got {data.shape}"
        )
    pixels = _pixels(frame)
    expected = width * height * 4
    if pixels.size != expected:
        raise FrameError(
            f"VideoFrame.data: expected {expected} bytes of RGBA for {width}x{height}, "
            f"got {pixels.size}"
        )
    rgba = av.VideoFrame.from_ndarray(pixels.reshape(height, width, 4), format="rgba")
    return rgba.reformat(format="yuv420p")


def _from_i420(frame: VideoFrame, width: int, height: int) -> av.VideoFrame:
    if width % 2 or height % 2:
        raise FrameError(
            f"VideoFrame: expected even width and height for YUV, got {width}x{height}")
    pixels = _pixels(frame)
    expected = width * height * 3 // 2
    if pixels.size != expected:
        raise FrameError(
            f"VideoFrame.data: expected {expected} bytes of I420 YUV for {width}x{height}, "
            f"got {pixels.size}"
        )
    return av.VideoFrame.from_ndarray(pixels.reshape(height * 3 // 2, width), format="yuv420p")


def _from_image(frame: VideoFrame, width: int, height: int) -> av.VideoFrame:
    pixels = _pixels(frame)
    codec = av.CodecContext.create(_IMAGE_DECODERS[frame.format], "r")
    assert isinstance(codec, av.VideoCodecContext)
    try:
        decoded = codec.decode(av.Packet(pixels.tobytes()))
    except (av.FFmpegError, ValueError) as exc:
        raise FrameError(f"VideoFrame.data: expected a valid {frame.format} image, got "
                         f"{pixels.size} bytes that do not decode ({exc})") from None
    if not decoded or not isinstance(decoded[0], av.VideoFrame):
        raise FrameError(f"VideoFrame.data: expected a valid {frame.format} image, got "
                         f"{pixels.size} bytes that decode to nothing")
    image = decoded[0]
    if (image.width, image.height) != (width, height):
        raise FrameError(f"VideoFrame: expected a {width}x{height} {frame.format} image, "
                         f"got {image.width}x{image.height}")
    return image.reformat(format="yuv420p")


def solid_frame(width: int, height: int, rgb: tuple[int, int, int] = (0, 0, 0)) -> av.VideoFrame:
    """A single-colour frame, shown before the renderer's first push."""
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:] = rgb
    return av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
