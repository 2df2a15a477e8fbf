"""The motion-evaluation metrics on tiny synthetic videos with known motion (no engine involved)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import flow_metrics as fm

Grey = npt.NDArray[np.uint8]
SIZE = 160  # frames are SIZE x SIZE; flow runs at half size (80 x 80)
FRAMES = 13
FPS = 12.0


def texture(size: int, *, seed: int) -> Grey:
    """Blurred noise with strong two-directional structure, like a detailed photo."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (size, size)).astype(np.float32)
    return np.asarray(np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0) * 3 - 255, 0, 255), dtype=np.uint8)


def warp(image: Grey, matrix: npt.NDArray[np.float64]) -> Grey:
    """`image` moved by the 2x3 forward affine `matrix`, cropped to the centre SIZE x SIZE."""
    big = image.shape[0]
    moved = cv2.warpAffine(image, matrix, (big, big), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    start = (big - SIZE) // 2
    return np.asarray(moved[start : start + SIZE, start : start + SIZE], dtype=np.uint8)


def clip_of(frames: list[Grey]) -> fm.Clip:
    return fm.prepare_clip(frames, fps=FPS, scale=0.5)


def translating(dx: float, dy: float) -> fm.Clip:
    base = texture(SIZE * 2, seed=1)
    return clip_of([warp(base, np.array([[1, 0, dx * t], [0, 1, dy * t]], dtype=np.float64)) for t in range(FRAMES)])


def zooming(rate: float) -> fm.Clip:
    base = texture(SIZE * 2, seed=2)
    centre = (SIZE, SIZE)  # the centre of the big texture is the centre of the crop
    frames = [
        warp(base, cv2.getRotationMatrix2D(centre, 0.0, (1 + rate) ** t).astype(np.float64)) for t in range(FRAMES)
    ]
    return clip_of(frames)


def static() -> fm.Clip:
    frame = texture(SIZE, seed=3)
    return clip_of([frame.copy() for _ in range(FRAMES)])


BOX = fm.Box(40, 40, 48, 48)
OTHER_BOX = fm.Box(100, 100, 40, 40)


def box_oscillating(*, axis: int, amplitude_px: float = 4.0) -> fm.Clip:
    """A static background with BOX's content sliding up and down (or side to side), one full cycle."""
    background = texture(SIZE, seed=4)
    inner = texture(SIZE, seed=5)
    frames = []
    for t in range(FRAMES):
        offset = amplitude_px * math.sin(2 * math.pi * t / (FRAMES - 1))
        shift = np.array([[1, 0, offset if axis == 0 else 0.0], [0, 1, offset if axis == 1 else 0.0]])
        moved = cv2.warpAffine(inner, shift, (SIZE, SIZE), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        frame = background.copy()
        frame[40:88, 40:88] = moved[40:88, 40:88]
        frames.append(frame)
    return clip_of(frames)


@pytest.fixture(scope="module")
def right() -> fm.Clip:
    return translating(1.5, 0.0)


@pytest.fixture(scope="module")
def still() -> fm.Clip:
    return static()


@pytest.fixture(scope="module")
def zoom_in() -> fm.Clip:
    return zooming(0.015)


def test_flow_is_in_full_size_pixels(right: fm.Clip) -> None:
    mean = fm.region_mean(right.flow, np.ones(right.weights.shape, dtype=bool), right.weights)
    assert np.allclose(mean[:, 0], 1.5, atol=0.2)
    assert np.allclose(mean[:, 1], 0.0, atol=0.2)


def test_translation_right_has_the_right_sign(right: fm.Clip) -> None:
    assert fm.horizontal_translation(right, +1).passed
    assert not fm.horizontal_translation(right, -1).passed
    assert not fm.vertical_translation(right, +1).passed
    assert not fm.vertical_translation(right, -1).passed
    assert not fm.near_zero(right).passed


def test_translation_down_is_a_tilt_up() -> None:
    down = translating(0.0, 1.5)
    assert fm.vertical_translation(down, +1).passed
    assert not fm.vertical_translation(down, -1).passed
    assert not fm.horizontal_translation(down, +1).passed


def test_scaling_up_is_radial_outward(zoom_in: fm.Clip) -> None:
    result = fm.radial_flow(zoom_in, +1)
    assert result.passed, result.detail
    assert result.score == pytest.approx(12 * 0.015, rel=0.25)
    assert not fm.radial_flow(zoom_in, -1).passed
    assert not fm.horizontal_translation(zoom_in, +1).passed
    assert not fm.horizontal_translation(zoom_in, -1).passed
    assert not fm.camera_static(zoom_in).passed


def test_scaling_down_is_radial_inward() -> None:
    zoom_out = zooming(-0.015)
    assert fm.radial_flow(zoom_out, -1).passed
    assert not fm.radial_flow(zoom_out, +1).passed


def test_static_video_passes_near_zero_only(still: fm.Clip) -> None:
    assert fm.near_zero(still).passed
    assert fm.camera_static(still).passed
    assert not fm.idle_life(still).passed
    assert not fm.horizontal_translation(still, +1).passed
    assert not fm.radial_flow(still, +1).passed
    assert not fm.vertical_oscillation(still, BOX).passed
    assert not fm.overlay_particles(still, "snow").passed
    assert not fm.brightness_flicker(still).passed


def test_oscillating_box_is_seen_in_that_box_only() -> None:
    vertical = box_oscillating(axis=1)
    inside = fm.vertical_oscillation(vertical, BOX)
    assert inside.passed, inside.detail
    assert not fm.vertical_oscillation(vertical, OTHER_BOX).passed
    assert not fm.horizontal_oscillation(vertical, BOX).passed
    assert fm.region_concentration(vertical, BOX, controls=[OTHER_BOX]).passed
    assert not fm.region_concentration(vertical, OTHER_BOX, controls=[BOX]).passed
    assert not fm.near_zero(vertical).passed


def test_sideways_box_is_a_shake_not_a_nod() -> None:
    sideways = box_oscillating(axis=0)
    assert fm.horizontal_oscillation(sideways, BOX).passed
    assert not fm.vertical_oscillation(sideways, BOX).passed


def test_gentle_global_drift_is_idle_life() -> None:
    drift = translating(0.3, 0.1)
    assert fm.idle_life(drift).passed
    assert not fm.near_zero(drift).passed


def test_rotation_about_a_pivot_has_the_right_sense() -> None:
    background = texture(SIZE, seed=6)
    head = texture(SIZE, seed=7)
    pivot = (64.0, 100.0)
    frames = []
    for t in range(FRAMES):
        angle = -6.0 * math.sin(math.pi * t / (FRAMES - 1))  # OpenCV: negative angle = clockwise on screen
        turned = cv2.warpAffine(head, cv2.getRotationMatrix2D(pivot, angle, 1.0), (SIZE, SIZE), flags=cv2.INTER_CUBIC)
        frame = background.copy()
        frame[40:88, 40:88] = turned[40:88, 40:88]
        frames.append(frame)
    turning = clip_of(frames)
    assert fm.rotation(turning, BOX, clockwise=True).passed
    assert not fm.rotation(turning, BOX, clockwise=False).passed


def test_sideways_shift_is_not_a_rotation() -> None:
    sideways = box_oscillating(axis=0)
    assert not fm.rotation(sideways, BOX, clockwise=True).passed
    assert not fm.rotation(sideways, BOX, clockwise=False).passed


def test_closing_patch_is_a_blink_and_reopens() -> None:
    face = texture(SIZE, seed=8)
    eye = fm.Box(60, 50, 30, 16)
    nose = fm.Box(60, 80, 30, 16)
    frames = []
    for t in range(FRAMES):
        frame = face.copy()
        if t in (5, 6):  # the lid covers the eye with flat skin for two frames
            frame[50:66, 60:90] = 128
        frames.append(frame)
    blinking = clip_of(frames)
    face_box = fm.Box(40, 30, 80, 90)
    assert fm.eye_closure(blinking, eye, face=face_box, control=nose).passed
    assert not fm.eye_closure(blinking, nose, face=face_box, control=fm.Box(60, 100, 30, 10)).passed
    assert not fm.eye_closure(static(), eye, face=face_box, control=nose).passed


def test_falling_dots_are_snow() -> None:
    rng = np.random.default_rng(9)
    background = np.asarray(cv2.GaussianBlur(texture(SIZE, seed=10), (0, 0), 3), dtype=np.uint8) // 2
    flakes = rng.uniform(0, SIZE, (40, 2))
    frames = []
    for t in range(FRAMES):
        frame = background.copy()
        for x, y in flakes:
            cv2.circle(frame, (int(x), int((y + 4 * t) % SIZE)), 2, 255, -1)
        frames.append(frame)
    snowing = clip_of(frames)
    result = fm.overlay_particles(snowing, "snow")
    assert result.passed, result.detail


def test_brightness_wobble_is_flicker(still: fm.Clip) -> None:
    frame = texture(SIZE, seed=11).astype(np.int16)
    frames = [np.clip(frame + (10 if t % 4 < 2 else 0), 0, 255).astype(np.uint8) for t in range(FRAMES)]
    assert fm.brightness_flicker(clip_of(frames)).passed


def test_count_reversals_ignores_small_wiggles() -> None:
    assert fm.count_reversals([0, 1, 2, 3, 2, 1, 0], 1.0) == 1
    assert fm.count_reversals([0, 0.1, 0, 0.1, 0], 1.0) == 0
    assert fm.count_reversals([0, 2, 0, 2, 0], 1.0) == 3
