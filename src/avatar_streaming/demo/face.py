"""A procedurally drawn, friendly cartoon face for the demo avatar.

Why: the demo needs a talking face without shipping model weights or image
assets, and drawing it must be cheap enough to run 30 times a second on a
small machine next to the video encoder.

What: :class:`FaceRenderer` paints a stylised face with numpy only. Everything
that never moves (background, shoulders, head, hair, ears, cheeks, nose and
eyebrows) is composited once in ``__init__``. Each :meth:`FaceRenderer.render`
call copies that base image and redraws just three small boxes: the two eyes
(which blink on a fixed, natural-looking schedule driven by ``t``) and the
mouth (whose opening follows ``mouth_open``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
AnyFloatArray = npt.NDArray[np.floating[Any]]
Color = tuple[float, float, float]
Box = tuple[int, int, int, int]  # top, bottom, left, right (bottom/right exclusive)

_MIN_SIZE = 32


@dataclass(frozen=True)
class FacePalette:
    """RGB colours (0-255) of the face's parts."""

    background_top: Color = (196, 222, 244)
    background_bottom: Color = (236, 218, 240)
    shirt: Color = (92, 134, 204)
    skin: Color = (246, 206, 174)
    skin_shade: Color = (222, 170, 138)
    hair: Color = (96, 62, 44)
    cheek: Color = (244, 150, 150)
    eyebrow: Color = (84, 54, 40)
    eye: Color = (46, 36, 52)
    eye_glint: Color = (255, 255, 255)
    lip: Color = (176, 76, 84)
    mouth_inside: Color = (78, 24, 36)
    tongue: Color = (226, 112, 122)
    teeth: Color = (250, 248, 244)


@dataclass(frozen=True)
class FaceSettings:
    """Blink timing and colours.

    Blinks start at ``blink_starts_s`` within a repeating ``blink_cycle_s``
    cycle (uneven gaps and one double blink look less mechanical). A blink
    closes the lids in ``blink_close_s``, holds them shut for ``blink_hold_s``
    and reopens them in ``blink_open_s``.
    """

    blink_starts_s: tuple[float, ...] = (1.8, 5.3, 7.9, 11.6, 11.95, 15.0)
    blink_cycle_s: float = 17.5
    blink_close_s: float = 0.06
    blink_hold_s: float = 0.04
    blink_open_s: float = 0.09
    palette: FacePalette = FacePalette()

    def __post_init__(self) -> None:
        if self.blink_cycle_s <= 0:
            raise ValueError("blink_cycle_s must be positive")
        duration = self.blink_duration_s
        for start in self.blink_starts_s:
            if start < 0 or start + duration > self.blink_cycle_s:
                raise ValueError(f"blink at {start} s does not fit in the cycle")

    @property
    def blink_duration_s(self) -> float:
        """Seconds from the start of a blink until the eyes are fully open again."""
        return self.blink_close_s + self.blink_hold_s + self.blink_open_s


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def eye_openness(t: float, settings: FaceSettings | None = None) -> float:
    """How open the eyes are at time ``t`` seconds: 1.0 open, 0.0 shut."""
    s = settings or FaceSettings()
    if not math.isfinite(t):
        return 1.0
    phase = t % s.blink_cycle_s
    for start in s.blink_starts_s:
        dt = phase - start
        if dt < 0 or dt >= s.blink_duration_s:
            continue
        if dt < s.blink_close_s:
            return 1.0 - _smoothstep(dt / s.blink_close_s)
        dt -= s.blink_close_s + s.blink_hold_s
        if dt < 0:
            return 0.0
        return _smoothstep(dt / s.blink_open_s)
    return 1.0


def _clamp01(value: float) -> float:
    if not math.isfinite(value):
        return 0.0
    return min(max(float(value), 0.0), 1.0)


def _blend(canvas: FloatArray, color: Color, coverage: FloatArray) -> None:
    """Paint ``color`` over ``canvas`` (H, W, 3) in place, weighted by ``coverage``."""
    paint = np.asarray(color, dtype=np.float32)
    canvas += (paint - canvas) * coverage[..., None]


def _edge(distance: AnyFloatArray) -> FloatArray:
    """Anti-aliased coverage from a signed distance in pixels (positive inside)."""
    return np.asarray(np.clip(distance + 0.5, 0.0, 1.0), dtype=np.float32)


def _ellipse(
    x: FloatArray, y: FloatArray, cx: float, cy: float, rx: float, ry: float
) -> FloatArray:
    """Anti-aliased coverage of an ellipse, using a first-order distance estimate."""
    dx = (x - cx) / rx
    dy = (y - cy) / ry
    d = np.sqrt(dx * dx + dy * dy)
    grad = np.sqrt((dx / rx) ** 2 + (dy / ry) ** 2) / np.maximum(d, 1e-6)
    return _edge((1.0 - d) / np.maximum(grad, 1e-6))


def _glow(x: FloatArray, y: FloatArray, cx: float, cy: float, r: float) -> FloatArray:
    """Soft round falloff, 1 at the centre: for blush and shadows."""
    d2 = ((x - cx) ** 2 + (y - cy) ** 2) / (r * r)
    return np.asarray(np.exp(-d2), dtype=np.float32)


def _arc_band(
    x: FloatArray, y: FloatArray, geometry: tuple[float, float, float, float], thickness: float
) -> FloatArray:
    """A tapered, upward-bowed stroke: eyebrows. geometry = (cx, cy, half_width, bow)."""
    cx, cy, half_width, bow = geometry
    u = (x - cx) / half_width
    centre = cy - bow * (1.0 - u * u)
    half = thickness / 2.0 * (1.0 - 0.45 * u * u)
    ends = _edge((1.0 - np.abs(u)) * half_width)
    return _edge(half - np.abs(y - centre)) * ends


@dataclass(frozen=True)
class _Layout:
    """Pixel geometry of the face for one frame size."""

    cx: float
    s: float
    cy: float

    def at(self, dx: float, dy: float) -> tuple[float, float]:
        """A point offset from the frame centre by fractions of the face size."""
        return self.cx + dx * self.s, self.cy + dy * self.s


class FaceRenderer:
    """Draws RGBA frames of the avatar face for a mouth opening and a time."""

    def __init__(
        self, width: int = 512, height: int = 512, settings: FaceSettings | None = None
    ) -> None:
        if width < _MIN_SIZE or height < _MIN_SIZE:
            raise ValueError(f"face must be at least {_MIN_SIZE}x{_MIN_SIZE} pixels")
        self._width = width
        self._height = height
        self._settings = settings or FaceSettings()
        self._layout = _Layout(cx=width / 2.0, s=float(min(width, height)), cy=height / 2.0)
        ys = np.arange(height, dtype=np.float32)[:, None] + 0.5
        xs = np.arange(width, dtype=np.float32)[None, :] + 0.5
        self._xs = np.broadcast_to(xs, (height, width))
        self._ys = np.broadcast_to(ys, (height, width))
        base = self._paint_static()
        self._base = np.empty((height, width, 4), dtype=np.uint8)
        self._base[..., :3] = np.rint(base).astype(np.uint8)
        self._base[..., 3] = 255
        self._base_rgb = base
        self._eye_boxes = tuple(self._eye_box(side) for side in (-1.0, 1.0))
        self._mouth_box = self._compute_mouth_box()
        logger.debug("face renderer ready at %dx%d", width, height)

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return self._width

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return self._height

    @property
    def mouth_box(self) -> Box:
        """(top, bottom, left, right) of the only region the mouth ever touches."""
        return self._mouth_box

    @property
    def eye_boxes(self) -> tuple[Box, ...]:
        """(top, bottom, left, right) of the regions the eyes ever touch."""
        return self._eye_boxes

    def render(self, mouth_open: float, t: float) -> npt.NDArray[np.uint8]:
        """A new (height, width, 4) uint8 RGBA frame; mouth_open is clamped to [0, 1]."""
        frame = self._base.copy()
        openness = eye_openness(t, self._settings)
        for side, box in zip((-1.0, 1.0), self._eye_boxes, strict=True):
            region, x, y = self._region(box)
            self._paint_eye(region, x, y, side, openness)
            self._store(frame, box, region)
        region, x, y = self._region(self._mouth_box)
        self._paint_mouth(region, x, y, _clamp01(mouth_open))
        self._store(frame, self._mouth_box, region)
        return frame

    # -- static layers -------------------------------------------------

    def _paint_static(self) -> FloatArray:
        x, y = self._xs, self._ys
        canvas = self._background()
        self._paint_body(canvas, x, y)
        self._paint_head(canvas, x, y)
        self._paint_hair(canvas, x, y)
        self._paint_details(canvas, x, y)
        return canvas

    def _background(self) -> FloatArray:
        p = self._settings.palette
        ramp = (self._ys / self._height)[..., None]
        top = np.asarray(p.background_top, dtype=np.float32)
        bottom = np.asarray(p.background_bottom, dtype=np.float32)
        canvas = (top + (bottom - top) * ramp).astype(np.float32)
        halo_x, halo_y = self._layout.at(0.0, -0.05)
        halo = _glow(self._xs, self._ys, halo_x, halo_y, 0.45 * self._layout.s)
        _blend(canvas, (255.0, 250.0, 245.0), 0.35 * halo)
        return canvas

    def _paint_body(self, canvas: FloatArray, x: FloatArray, y: FloatArray) -> None:
        p, lay = self._settings.palette, self._layout
        s = lay.s
        nx, ny = lay.at(0.0, 0.34)
        _blend(canvas, p.skin_shade, _ellipse(x, y, nx, ny, 0.085 * s, 0.11 * s))
        sx, sy = lay.at(0.0, 0.60)
        _blend(canvas, p.shirt, _ellipse(x, y, sx, sy, 0.42 * s, 0.22 * s))

    def _paint_head(self, canvas: FloatArray, x: FloatArray, y: FloatArray) -> None:
        p, lay = self._settings.palette, self._layout
        s = lay.s
        for side in (-1.0, 1.0):
            ex, ey = lay.at(side * 0.295, 0.0)
            _blend(canvas, p.skin, _ellipse(x, y, ex, ey, 0.05 * s, 0.075 * s))
            _blend(canvas, p.skin_shade, _ellipse(x, y, ex, ey, 0.027 * s, 0.045 * s))
        hx, hy = lay.at(0.0, -0.03)
        head = _ellipse(x, y, hx, hy, 0.30 * s, 0.36 * s)
        _blend(canvas, p.skin, head)
        rx = (x - hx) / (0.30 * s)
        ry = (y - hy) / (0.36 * s)
        shade = np.clip(0.45 * rx + 0.55 * ry, 0.0, 1.0) ** 2
        _blend(canvas, p.skin_shade, (0.55 * shade * head).astype(np.float32))

    def _paint_hair(self, canvas: FloatArray, x: FloatArray, y: FloatArray) -> None:
        p, lay = self._settings.palette, self._layout
        s = lay.s
        hx, hy = lay.at(0.0, -0.045)
        cap = _ellipse(x, y, hx, hy, 0.315 * s, 0.365 * s)
        u = (x - lay.cx) / (0.30 * s)
        _, fringe_y = lay.at(0.0, -0.21)
        fringe = fringe_y + s * (0.055 * u + 0.012 * np.sin(u * 9.0)) - 0.06 * s * u * u
        _blend(canvas, p.hair, cap * _edge((fringe - y).astype(np.float32)))

    def _paint_details(self, canvas: FloatArray, x: FloatArray, y: FloatArray) -> None:
        p, lay = self._settings.palette, self._layout
        s = lay.s
        for side in (-1.0, 1.0):
            chx, chy = lay.at(side * 0.17, 0.075)
            _blend(canvas, p.cheek, 0.45 * _glow(x, y, chx, chy, 0.055 * s))
            bx, by = lay.at(side * 0.11, -0.13)
            _blend(canvas, p.eyebrow, _arc_band(x, y, (bx, by, 0.06 * s, 0.02 * s), 0.02 * s))
        nose_x, nose_y = lay.at(0.0, 0.045)
        nose = _ellipse(x, y, nose_x, nose_y, 0.028 * s, 0.02 * s)
        _blend(canvas, p.skin_shade, 0.8 * nose)

    # -- dynamic layers ------------------------------------------------

    def _eye_geometry(self, side: float) -> tuple[float, float, float, float]:
        ex, ey = self._layout.at(side * 0.11, -0.04)
        s = self._layout.s
        return ex, ey, 0.042 * s, 0.058 * s

    def _eye_box(self, side: float) -> Box:
        ex, ey, rx, ry = self._eye_geometry(side)
        return self._clip_box(ey - ry, ey + ry, ex - rx, ex + rx)

    def _paint_eye(
        self, region: FloatArray, x: FloatArray, y: FloatArray, side: float, openness: float
    ) -> None:
        p = self._settings.palette
        ex, ey, rx, ry = self._eye_geometry(side)
        lid = 0.006 * self._layout.s
        height = max(ry * openness, lid)
        eye = _ellipse(x, y, ex, ey, rx, height)
        _blend(region, p.eye, eye)
        if openness > 0.5:
            gx, gy = ex + 0.35 * rx, ey - 0.4 * height
            glint = _ellipse(x, y, gx, gy, 0.3 * rx, 0.3 * rx * openness)
            _blend(region, p.eye_glint, glint * eye)

    def _mouth_geometry(self) -> tuple[float, float, float, float, float]:
        """cx, cy, half_width, smile bow, maximum opening (pixels)."""
        mx, my = self._layout.at(0.0, 0.135)
        s = self._layout.s
        return mx, my, 0.11 * s, 0.025 * s, 0.12 * s

    def _compute_mouth_box(self) -> Box:
        mx, my, half_width, bow, max_open = self._mouth_geometry()
        lip = 0.012 * self._layout.s
        top = my - bow - 0.3 * max_open - lip
        return self._clip_box(top, my + max_open + lip, mx - half_width, mx + half_width)

    def _paint_mouth(self, region: FloatArray, x: FloatArray, y: FloatArray, amount: float) -> None:
        p = self._settings.palette
        mx, my, half_width, bow, max_open = self._mouth_geometry()
        lip = 0.006 * self._layout.s
        half_width *= 1.0 - 0.18 * amount
        u = (x - mx) / half_width
        profile = np.sqrt(np.clip(1.0 - u * u, 0.0, 1.0))
        centre = my - bow * u * u
        upper = centre - 0.3 * max_open * amount * profile
        lower = centre + max_open * amount * profile
        ends = _edge((1.0 - np.abs(u)) * half_width)
        _blend(region, p.lip, _edge(np.minimum(y - upper + lip, lower + lip - y)) * ends)
        if amount <= 0.0:
            return
        inside = _edge(np.minimum(y - upper, lower - y)) * ends
        _blend(region, p.mouth_inside, inside)
        teeth = _edge(upper + 0.16 * max_open * amount * profile - y) * inside
        _blend(region, p.teeth, teeth)
        tongue_y = my + max_open * amount * 0.95
        tongue = _ellipse(x, y, mx, tongue_y, 0.55 * half_width, 0.45 * max_open * amount + 1.0)
        _blend(region, p.tongue, tongue * inside)

    # -- helpers ---------------------------------------------------------

    def _clip_box(self, top: float, bottom: float, left: float, right: float) -> Box:
        pad = 2
        return (
            max((math.floor(top)) - pad, 0),
            min((math.ceil(bottom)) + pad, self._height),
            max((math.floor(left)) - pad, 0),
            min((math.ceil(right)) + pad, self._width),
        )

    def _region(self, box: Box) -> tuple[FloatArray, FloatArray, FloatArray]:
        top, bottom, left, right = box
        region = self._base_rgb[top:bottom, left:right].copy()
        return region, self._xs[top:bottom, left:right], self._ys[top:bottom, left:right]

    @staticmethod
    def _store(frame: npt.NDArray[np.uint8], box: Box, region: FloatArray) -> None:
        top, bottom, left, right = box
        frame[top:bottom, left:right, :3] = np.rint(region).astype(np.uint8)
