"""Tests for the procedurally drawn demo face."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import pytest

from avatar_streaming.demo.face import FaceRenderer, FaceSettings, eye_openness

Frame = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]

SETTINGS = FaceSettings()
FIRST_BLINK = SETTINGS.blink_starts_s[0]
EYES_SHUT_AT = FIRST_BLINK + SETTINGS.blink_close_s + SETTINGS.blink_hold_s / 2
EYES_OPEN_AT = FIRST_BLINK / 2


@pytest.fixture(scope="module")
def renderer() -> FaceRenderer:
    return FaceRenderer()


def crop(frame: Frame, box: Box) -> Frame:
    top, bottom, left, right = box
    return frame[top:bottom, left:right]


def luminance(pixels: Frame) -> npt.NDArray[np.float64]:
    rgb = pixels[..., :3].astype(np.float64)
    return np.asarray(0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])


def dark_pixels(frame: Frame, box: Box, below: float = 110.0) -> int:
    return int(np.count_nonzero(luminance(crop(frame, box)) < below))


def test_frame_shape_dtype_and_opaque_alpha(renderer: FaceRenderer) -> None:
    frame = renderer.render(0.4, 0.0)
    assert frame.shape == (512, 512, 4)
    assert frame.dtype == np.uint8
    assert np.all(frame[..., 3] == 255)


def test_non_square_sizes_are_supported() -> None:
    frame = FaceRenderer(width=320, height=240).render(1.0, EYES_SHUT_AT)
    assert frame.shape == (240, 320, 4)
    assert np.all(frame[..., 3] == 255)


def test_too_small_size_is_rejected() -> None:
    with pytest.raises(ValueError):
        FaceRenderer(width=8, height=8)


def test_looks_like_a_face_on_a_background(renderer: FaceRenderer) -> None:
    frame = renderer.render(0.0, EYES_OPEN_AT).astype(int)
    corner = frame[5, 5, :3]
    assert corner[2] > corner[0]  # bluish background
    cheek = frame[300, 200, :3]  # between the eye and the mouth, on the head
    assert cheek[0] > cheek[1] > cheek[2]  # warm skin tone
    assert not np.array_equal(corner, cheek)


def test_each_call_returns_a_new_array(renderer: FaceRenderer) -> None:
    first = renderer.render(0.5, 0.0)
    second = renderer.render(0.5, 0.0)
    assert first is not second
    assert not np.shares_memory(first, second)
    assert np.array_equal(first, second)
    first[:] = 0
    assert np.array_equal(renderer.render(0.5, 0.0), second)


def test_mouth_grows_darker_and_larger_as_it_opens(renderer: FaceRenderer) -> None:
    box = renderer.mouth_box
    frames = [renderer.render(amount, EYES_OPEN_AT) for amount in (0.0, 0.25, 0.5, 1.0)]
    dark = [dark_pixels(frame, box) for frame in frames]
    brightness = [float(luminance(crop(frame, box)).mean()) for frame in frames]
    assert dark[0] < dark[1] < dark[2] < dark[3]
    assert dark[3] > 5 * max(dark[0], 1)
    assert brightness[0] > brightness[1] > brightness[2] > brightness[3]


def test_closed_mouth_is_a_thin_line(renderer: FaceRenderer) -> None:
    def lip_rows(amount: float) -> int:
        pixels = crop(renderer.render(amount, EYES_OPEN_AT), renderer.mouth_box)
        return int(np.count_nonzero(np.any(luminance(pixels) < 160, axis=1)))

    closed, wide = lip_rows(0.0), lip_rows(1.0)
    assert 0 < closed <= 0.05 * renderer.height  # a smiling line, a few pixels thick
    assert wide > 3 * closed


def test_mouth_open_is_clamped(renderer: FaceRenderer) -> None:
    assert np.array_equal(renderer.render(-3.0, 0.0), renderer.render(0.0, 0.0))
    assert np.array_equal(renderer.render(7.5, 0.0), renderer.render(1.0, 0.0))
    assert np.array_equal(renderer.render(float("nan"), 0.0), renderer.render(0.0, 0.0))


def test_eye_openness_follows_the_blink_schedule() -> None:
    assert eye_openness(EYES_OPEN_AT) == 1.0
    assert eye_openness(EYES_SHUT_AT) == 0.0
    assert 0.0 < eye_openness(FIRST_BLINK + SETTINGS.blink_close_s / 2) < 1.0
    assert eye_openness(FIRST_BLINK + SETTINGS.blink_duration_s + 0.01) == 1.0
    later = EYES_SHUT_AT + 3 * SETTINGS.blink_cycle_s
    assert eye_openness(later) == pytest.approx(0.0, abs=1e-6)


def test_every_blink_is_visible_at_30_fps() -> None:
    shut = [eye_openness(i / 30) < 0.5 for i in range(int(SETTINGS.blink_cycle_s * 30))]
    episodes = sum(
        1 for before, now in zip([False, *shut], shut, strict=False) if now and not before
    )
    assert episodes == len(SETTINGS.blink_starts_s)
    assert 2 * episodes <= sum(shut) <= 6 * episodes  # each blink is short but seen


def test_invalid_blink_schedule_is_rejected() -> None:
    with pytest.raises(ValueError):
        FaceSettings(blink_starts_s=(9.95,), blink_cycle_s=10.0)


def test_blinking_closes_the_eyes(renderer: FaceRenderer) -> None:
    opened = renderer.render(0.0, EYES_OPEN_AT)
    shut = renderer.render(0.0, EYES_SHUT_AT)
    assert len(renderer.eye_boxes) == 2
    for box in renderer.eye_boxes:
        assert not np.array_equal(crop(opened, box), crop(shut, box))
        open_dark = dark_pixels(opened, box)
        assert open_dark > 200
        assert 0 < dark_pixels(shut, box) < open_dark // 3
    assert np.array_equal(crop(opened, renderer.mouth_box), crop(shut, renderer.mouth_box))


def test_only_the_eyes_and_mouth_change(renderer: FaceRenderer) -> None:
    first = renderer.render(0.0, EYES_OPEN_AT)
    second = renderer.render(1.0, EYES_SHUT_AT)
    changed = np.any(first != second, axis=2)
    allowed = np.zeros_like(changed)
    for top, bottom, left, right in (renderer.mouth_box, *renderer.eye_boxes):
        allowed[top:bottom, left:right] = True
    assert changed.any()
    assert not np.any(changed & ~allowed)


def test_render_is_fast(renderer: FaceRenderer) -> None:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(30):
            renderer.render((i % 10) / 9, i / 30)
        best = min(best, (time.perf_counter() - start) / 30)
    assert best < 0.02  # budget is 33 ms per frame; it takes ~1.5 ms on a laptop core
