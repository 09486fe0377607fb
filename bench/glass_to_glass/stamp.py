"""The counter stamped into each pushed frame's top rows, so the browser can name the frame.

16 black/white BLOCK x BLOCK squares hold the counter's bits, above 16 holding their
complement: a frame decodes only when every pair disagrees clearly (VP8 cannot fake that).
The browser decodes it in JavaScript (``page_js.INIT_SCRIPT``); ``read_stamp`` is the same
reading in Python, for the self-check.
"""

from __future__ import annotations

import numpy as np

from avatar_streaming import VideoFrame
from avatar_streaming.demo.face import FaceRenderer
from avatar_streaming.media.video import to_av_frame

SIZE = 512
BLOCK = 32
BITS = SIZE // BLOCK  # 16 bits: 36 minutes of frames at 30 fps before the counter wraps
COUNTER_MOD = 1 << BITS


def stamp_blocks(counter: int) -> np.ndarray:
    """The top 2*BLOCK rows (RGB) holding ``counter``: its bits, then their complement."""
    bits = np.array([(counter >> (BITS - 1 - i)) & 1 for i in range(BITS)], dtype=np.uint8)
    rows = np.stack([bits, 1 - bits]) * 255
    return np.repeat(np.repeat(rows, BLOCK, axis=0), BLOCK, axis=1)


def stamp(image: np.ndarray, counter: int) -> None:
    """Write ``counter`` into the top rows of an RGBA frame, in place."""
    image[: 2 * BLOCK, :, :3] = stamp_blocks(counter)[:, :, None]
    image[: 2 * BLOCK, :, 3] = 255


def read_stamp(rgb: np.ndarray) -> int:
    """Decode a stamped counter (the browser does the same in JavaScript); -1 if unclear."""
    value = 0
    for b in range(BITS):
        x = slice(b * BLOCK + 12, b * BLOCK + 20)
        bit = float(rgb[12:20, x, :3].mean())
        complement = float(rgb[BLOCK + 12:BLOCK + 20, x, :3].mean())
        if abs(bit - complement) < 96:
            return -1
        value = value * 2 + (bit > complement)
    return value


def check_stamp() -> None:
    """The stamp survives the system's own RGBA -> I420 conversion."""
    image = FaceRenderer(SIZE, SIZE).render(0.3, 0.0)
    for counter in (0, 1, 0x5A5A, COUNTER_MOD - 1):
        stamp(image, counter)
        rgb = to_av_frame(VideoFrame(image, SIZE, SIZE, 0.0)).to_ndarray(format="rgb24")
        if read_stamp(rgb) != counter:
            raise RuntimeError(f"stamp self-check failed for counter {counter}")
