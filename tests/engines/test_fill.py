"""The plate's fill (`rig/band_fill.py: fill_band`): what the subject uncovers when it moves is painted with
the background's own texture, not a smooth smear.

On a synthetic brick wall with a person-shaped hole, the band next to the known wall has the wall's
sharpness (variance of the Laplacian) where push-pull has almost none, and its brick courses line up with
the wall's (the mean luma per row inside the band follows the rows outside). A flat background stays flat,
a gradient stays a smooth gradient, known pixels come back bit for bit, the same seed gives the same
picture, and tiny pictures and empty or full masks work.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from stillmotion.engines.live2d.rig.band_fill import fill_band
from stillmotion.engines.live2d.rig.fill import fill_hole

Frame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Mask = npt.NDArray[np.bool_]

HEIGHT: Final = 320
WIDTH: Final = 240
BAND: Final = 16


def brick_wall(height: int, width: int, *, seed: int) -> Frame:
    """Courses of bricks in running bond, mortar lines, a colour per brick and a fine grain."""
    rng = np.random.default_rng(seed)
    wall = np.empty((height, width, 3), np.float32)
    wall[:] = (198, 192, 180)  # mortar
    course, length, mortar = 18, 44, 3
    for row, top in enumerate(range(-int(rng.integers(0, course)), height, course)):
        left = -int(rng.integers(0, length)) - (length // 2 if row % 2 else 0)
        for x in range(left, width, length):
            colour = np.array((160, 80, 60), np.float32) * rng.uniform(0.8, 1.15) + rng.uniform(-12, 12, 3)
            y0, y1 = max(0, top + mortar), min(height, top + course)
            x0, x1 = max(0, x + mortar), min(width, x + length)
            if y1 > y0 and x1 > x0:
                wall[y0:y1, x0:x1] = colour
    grain = cv2.GaussianBlur(rng.normal(0.0, 8.0, (height, width)).astype(np.float32), (0, 0), 1.0)
    return np.asarray(np.clip(wall + grain[..., None], 0, 255), dtype=np.uint8)


def person(height: int, width: int) -> Mask:
    """A head, a neck and shoulders down to the bottom edge: True inside."""
    mask = np.zeros((height, width), np.uint8)
    cx = width // 2
    cv2.ellipse(mask, (cx, int(0.32 * height)), (int(0.13 * width), int(0.12 * height)), 0, 0, 360, 1, -1)
    cv2.rectangle(
        mask, (cx - int(0.05 * width), int(0.4 * height)), (cx + int(0.05 * width), int(0.55 * height)), 1, -1
    )
    cv2.ellipse(mask, (cx, height), (int(0.3 * width), int(0.5 * height)), 0, 180, 360, 1, -1)
    return mask > 0


def push_pull(image: Frame, known: Mask) -> Frame:
    filled = fill_hole(image.astype(np.float32), known.astype(np.float32))
    return np.asarray(np.clip(np.rint(filled), 0, 255), dtype=np.uint8)


def luma(image: Frame) -> npt.NDArray[np.float32]:
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), dtype=np.float32)


def laplacian_variance(image: Frame, where: Mask) -> float:
    return float(cv2.Laplacian(luma(image), cv2.CV_32F)[where].var())


def band_and_wall(hole: Mask) -> tuple[Mask, Mask]:
    """The band's pixels 2 to BAND - 2 deep (clear of its two edges), and the known wall off the hole."""
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
    band = hole & (depth >= 2) & (depth <= BAND - 2)
    wall = cv2.erode((~hole).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return band, wall


@pytest.fixture(scope="module")
def wall_case() -> tuple[Frame, Mask, Frame]:
    image = brick_wall(HEIGHT, WIDTH, seed=1)
    known = ~person(HEIGHT, WIDTH)
    return image, known, fill_band(image, known, band_px=BAND, seed=0)


def test_known_pixels_come_back_unchanged_and_the_same_seed_gives_the_same_picture(
    wall_case: tuple[Frame, Mask, Frame],
) -> None:
    image, known, filled = wall_case
    assert filled.shape == image.shape and filled.dtype == np.uint8
    assert np.array_equal(filled[known], image[known])
    assert np.array_equal(image, brick_wall(HEIGHT, WIDTH, seed=1))  # the input is left alone
    assert np.array_equal(known, ~person(HEIGHT, WIDTH))
    assert np.array_equal(fill_band(image, known, band_px=BAND, seed=0), filled)
    other = fill_band(image, known, band_px=BAND, seed=5)
    assert np.array_equal(other[known], image[known])


def test_the_band_has_the_walls_texture_where_push_pull_smears(wall_case: tuple[Frame, Mask, Frame]) -> None:
    image, known, filled = wall_case
    band, wall = band_and_wall(~known)
    reference = laplacian_variance(image, wall)
    assert laplacian_variance(filled, band) >= 0.5 * reference
    # The reason for the band fill: push-pull's is nearly flat there (a smear that optical flow reads as motion).
    assert laplacian_variance(push_pull(image, known), band) < 0.05 * reference


def test_the_brick_courses_continue_into_the_band(wall_case: tuple[Frame, Mask, Frame]) -> None:
    image, known, filled = wall_case
    band, wall = band_and_wall(~known)
    rows = np.flatnonzero(band.sum(axis=1) >= 6)
    inside = np.array([luma(filled)[row][band[row]].mean() for row in rows])
    outside = np.array([luma(image)[row][wall[row]].mean() for row in rows])
    assert float(np.corrcoef(inside, outside)[0, 1]) > 0.5


def test_deeper_than_the_band_is_smooth(wall_case: tuple[Frame, Mask, Frame]) -> None:
    image, known, filled = wall_case
    depth = cv2.distanceTransform((~known).astype(np.uint8), cv2.DIST_L2, 5)
    deep = depth > BAND + 3
    assert laplacian_variance(filled, deep) < 0.05 * laplacian_variance(image, band_and_wall(~known)[1])


def test_a_flat_background_stays_flat() -> None:
    image = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    image[:] = (96, 140, 187)
    known = ~person(HEIGHT, WIDTH)
    filled = fill_band(image, known, band_px=BAND, seed=3)
    assert np.abs(filled.astype(np.int16) - image.astype(np.int16)).max() <= 1


def test_a_gradient_stays_a_smooth_gradient() -> None:
    """A lit backdrop, darker at the top: the band takes the shade of where it is, with no seams."""
    rows = np.linspace(60.0, 200.0, HEIGHT, dtype=np.float32)[:, None, None]
    image = np.asarray(np.broadcast_to(rows * np.array([0.5, 0.7, 1.0], np.float32), (HEIGHT, WIDTH, 3)))
    image = np.asarray(np.rint(image), dtype=np.uint8)
    known = ~person(HEIGHT, WIDTH)
    filled = fill_band(image, known, band_px=BAND, seed=0)
    band, _ = band_and_wall(~known)
    error = np.abs(filled.astype(np.float32) - image.astype(np.float32))[band]
    assert float(error.mean()) < 3.0
    assert laplacian_variance(filled, band) < 2.0


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (5, 4), (9, 13), (40, 30)])
def test_tiny_pictures_work(size: tuple[int, int]) -> None:
    height, width = size
    image = np.asarray(np.random.default_rng(0).integers(0, 256, (height, width, 3)), dtype=np.uint8)
    known = np.ones((height, width), bool)
    known[height // 2 :, : max(1, width // 2)] = False  # a hole touching the picture's edges
    if height * width == 1:
        known[:] = False
    filled = fill_band(image, known, band_px=4, seed=0)
    assert filled.shape == image.shape and filled.dtype == np.uint8
    assert np.array_equal(filled[known], image[known])


def test_empty_and_full_masks() -> None:
    image = brick_wall(60, 50, seed=2)
    everything = np.ones((60, 50), bool)
    assert np.array_equal(fill_band(image, everything, band_px=8), image)
    nothing = fill_band(image, ~everything, band_px=8)
    assert np.all(nothing == nothing[0, 0])  # one colour: the picture's mean
    assert np.allclose(nothing[0, 0], image.reshape(-1, 3).mean(axis=0), atol=1.0)


def test_a_zero_band_is_the_smooth_fill_and_a_wide_band_fills_the_whole_hole(
    wall_case: tuple[Frame, Mask, Frame],
) -> None:
    image, known, _ = wall_case
    smooth = fill_band(image, known, band_px=0)
    assert np.array_equal(smooth[known], image[known])
    band, wall = band_and_wall(~known)
    assert laplacian_variance(smooth, band) < 0.05 * laplacian_variance(image, wall)
    wide = fill_band(image, known, band_px=max(HEIGHT, WIDTH))
    assert laplacian_variance(wide, ~known) >= 0.3 * laplacian_variance(image, wall)


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError):
        fill_band(np.zeros((4, 4, 3), np.uint8), np.ones((4, 5), bool), band_px=2)
    with pytest.raises(ValueError):
        fill_band(np.zeros((4, 4), np.uint8), np.ones((4, 4), bool), band_px=2)
