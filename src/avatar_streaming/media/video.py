"""Frame intake: every VideoFrame format the contract names, to yuv420p for the encoder.

A push must cost the renderer little, so ``accept_frame`` only validates and
copies raw pixels out of the caller's buffer (the caller may reuse it at once)
into a reusable ring (see pixels.py); the conversion to yuv420p runs later,
once, in the encoder's thread.
Encoded images (JPEG, PNG) are decoded at once, so a corrupt one is reported
to the caller that pushed it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import av
import numpy as np

from ..errors import FrameError
from ..types import VideoFrame
from .buffers import as_uint8
from .pixels import PixelRing

VIDEO_FORMATS = ("RGBA", "YUV", "JPEG", "PNG")
_IMAGE_DECODERS = {"JPEG": "mjpeg", "PNG": "png"}


class Picture:
    """A validated frame, converted to yuv420p once, when first needed."""

    def __init__(self, convert: Callable[[], av.VideoFrame | None],
                 timestamp_ms: float | None = None, *, stable: bool = False) -> None:
        self._convert: Callable[[], av.VideoFrame | None] | None = convert
        self.stable = stable
        """Its pixels cannot be overwritten before they are converted: they were handed
        over (see ``accept_frame``), not copied into the ring."""
        self.timestamp_ms = timestamp_ms
        """Capture time (Unix ms) the renderer stamped; None for our own placeholder."""
        self.pushed_ms: float | None = None
        """When its push was accepted (Unix ms)."""
        self._yuv: av.VideoFrame | None = None
        self._lock = threading.Lock()

    @classmethod
    def ready(cls, yuv: av.VideoFrame) -> Picture:
        return cls(lambda: yuv, stable=True)

    def yuv(self) -> av.VideoFrame | None:
        """The yuv420p frame (converted on the first call, from any thread).

        None when its pixels were overwritten before they were converted: the
        reader fell a whole ring of newer pushes behind.
        """
        with self._lock:
            if self._yuv is None and self._convert is not None:
                self._yuv = self._convert()
                if self._yuv is not None:
                    self._convert = None
            return self._yuv


def to_av_frame(frame: VideoFrame) -> av.VideoFrame:
    """Validate and convert a frame at once."""
    yuv = accept_frame(frame, PixelRing(1)).yuv()
    assert yuv is not None
    return yuv


def accept_frame(frame: VideoFrame, ring: PixelRing) -> Picture:
    """Validate a pushed frame and copy its pixels into ``ring``, unless they are handed
    over: ``bytes``, or a read-only array or memoryview (the caller's word that it is done
    with them), are used where they are, with no copy. A writable buffer is copied, since
    the caller may draw the next frame into it.

    Raises FrameError (a ValueError) saying what was expected and what came.
    """
    width, height = frame.width, frame.height
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 8192:
            raise FrameError(f"VideoFrame.{name}: expected an integer in [2, 8192], got {value!r}")
    if isinstance(frame.timestamp, bool) or not isinstance(frame.timestamp, int | float):
        raise FrameError(f"VideoFrame.timestamp: expected Unix milliseconds, "
                         f"got {frame.timestamp!r}")
    match frame.format:
        case "RGBA":
            picture = _from_rgba(frame, width, height, ring)
        case "YUV":
            picture = _from_i420(frame, width, height, ring)
        case "JPEG" | "PNG":
            picture = _from_image(frame, width, height)
        case other:
            raise FrameError(
                f"VideoFrame.format: expected one of {', '.join(VIDEO_FORMATS)}, got {other!r}"
            )
    picture.timestamp_ms = float(frame.timestamp)
    return picture


def handed_over(data: object) -> bool:
    """Whether a frame's buffer is one nobody will write to: ``bytes``, or an array or
    memoryview marked read-only (``array.setflags(write=False)``)."""
    if isinstance(data, bytes):
        return True
    if isinstance(data, np.ndarray):
        return not data.flags.writeable
    return isinstance(data, memoryview) and data.readonly


def _pixels(frame: VideoFrame) -> np.ndarray:
    try:
        return as_uint8(frame.data, "VideoFrame.data")
    except TypeError as exc:
        raise FrameError(str(exc)) from None


def _from_rgba(frame: VideoFrame, width: int, height: int, ring: PixelRing) -> Picture:
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
    rgba = pixels.reshape(height, width, 4)
    if handed_over(frame.data):
        return Picture(lambda: _rgba_to_yuv(rgba), stable=True)
    stored = ring.store(rgba)
    return Picture(lambda: stored.read(_rgba_to_yuv))


def _rgba_to_yuv(rgba: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuv420p")


def _from_i420(frame: VideoFrame, width: int, height: int, ring: PixelRing) -> Picture:
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
    planes = pixels.reshape(height * 3 // 2, width)
    if handed_over(frame.data):
        return Picture(lambda: av.VideoFrame.from_ndarray(planes, format="yuv420p"),
                       stable=True)
    stored = ring.store(planes)
    return Picture(lambda: stored.read(lambda held: av.VideoFrame.from_ndarray(
        held, format="yuv420p")))


def _from_image(frame: VideoFrame, width: int, height: int) -> Picture:
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
    return Picture.ready(image.reformat(format="yuv420p"))


def solid_picture(width: int, height: int, rgb: tuple[int, int, int] = (0, 0, 0)) -> Picture:
    """A single-colour picture, shown before the renderer's first push."""
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:] = rgb
    return Picture.ready(av.VideoFrame.from_ndarray(pixels, format="rgb24")
                         .reformat(format="yuv420p"))
