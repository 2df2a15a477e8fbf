"""The extended canvas (`render.canvas.extend_canvas`): the picture copied exactly, and beyond it content that
continues it, neither mirrored nor blurred, with no seam at the edge, the same for the same seed.

The bars are measured on pictures whose texture runs up to and across the edges, extended by 15% of
their size on each side: a brick wall (cut where a mirror and a continuation differ, with a shelf and a
pole across its edges), small random shapes, and the sample photos.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from stillmotion.engines.live2d.render.camera import Margins
from stillmotion.engines.live2d.render.canvas import extend_canvas

RGBFrame = npt.NDArray[np.uint8]
Grey = npt.NDArray[np.float64]

FIXTURES: Final = Path(__file__).resolve().parent.parent / "fixtures"
SIDES: Final = ("left", "right", "top", "bottom")
# Brick wall geometry, px: brick length, course height, mortar, and where the shelf and the pole run.
BRICK: Final = 48
COURSE: Final = 20
MORTAR: Final = 4
SHELF_ROW: Final = 131
POLE_COLUMN: Final = 203
MIRROR_BAR: Final = 0.6  # normalised cross-correlation with the strip inside, of the band flipped about the edge
SHARPNESS_BAR: Final = 0.6  # the band's variance of the Laplacian (or grain), as a share of the strip's inside


@functools.cache
def brick_wall(width: int = 360, height: int = 250) -> RGBFrame:
    """Running bond with a random colour per brick and grain, a dark shelf across its whole width and a
    dark pole down its whole height. The sides cut bricks midway between joints, the top and bottom cut
    courses a quarter of the way across (where a mirror would put the mortar half a course off)."""
    rng = np.random.default_rng(7)
    image = np.empty((height, width, 3), dtype=np.float64)
    image[...] = (205.0, 200.0, 190.0)  # mortar
    origin_x, origin_y = -BRICK // 4, -COURSE // 4
    for course in range(-1, height // COURSE + 2):
        top = origin_y + course * COURSE
        shift = (BRICK // 2) * (course % 2)
        for index in range(-2, width // BRICK + 3):
            left = origin_x + index * BRICK + shift
            colour = np.array((150.0, 72.0, 52.0)) + rng.normal(0.0, 18.0, 3)
            rows = slice(max(0, top + MORTAR // 2), max(0, top + COURSE - MORTAR // 2))
            columns = slice(max(0, left + MORTAR // 2), max(0, left + BRICK - MORTAR // 2))
            image[rows, columns] = colour
    image += rng.normal(0.0, 7.0, image.shape)
    image[SHELF_ROW : SHELF_ROW + 5] = (45.0, 42.0, 60.0)
    image[:, POLE_COLUMN : POLE_COLUMN + 7] = (30.0, 40.0, 30.0)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


@functools.cache
def random_shapes(width: int = 300, height: int = 220) -> RGBFrame:
    """Small discs and boxes of random colours strewn on grey: a texture of things, all smaller than the
    margins, on a flat ground (a ramp, or a large thing, across an edge continues into its own mirror)."""
    rng = np.random.default_rng(11)
    image = np.empty((height, width, 3), dtype=np.float64)
    image[...] = (110.0, 125.0, 140.0)
    for _ in range(400):
        colour = rng.uniform(20, 235, 3).tolist()
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(3, 10))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), size, colour, -1)
        else:
            cv2.rectangle(image, (x, y), (x + size, y + int(rng.integers(3, 10))), colour, -1)
    image += rng.normal(0.0, 6.0, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


@functools.cache
def photo(name: str) -> RGBFrame:
    with Image.open(FIXTURES / name) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


def picture(name: str) -> RGBFrame:
    if name == "bricks":
        return brick_wall()
    if name == "shapes":
        return random_shapes()
    return photo(name)


def share_margins(image: RGBFrame, share: float = 0.15) -> Margins:
    height, width = image.shape[:2]
    return Margins(
        left=round(share * width), top=round(share * height), right=round(share * width), bottom=round(share * height)
    )


@functools.cache
def canvas_of(name: str, seed: int = 0) -> RGBFrame:
    image = picture(name)
    return extend_canvas(image, share_margins(image), seed=seed)


def grey(image: RGBFrame) -> Grey:
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY), dtype=np.float64)


def band_and_strip(name: str, side: str) -> tuple[Grey, Grey]:
    """The band beyond `side`, flipped about the edge, and the picture's strip of the same width inside
    it: a mirrored band would equal the strip."""
    image = picture(name)
    margins = share_margins(image)
    canvas = grey(canvas_of(name))
    height, width = image.shape[:2]
    top, left = margins.top, margins.left
    inside = canvas[top : top + height, left : left + width]
    if side == "left":
        return canvas[top : top + height, :left][:, ::-1], inside[:, :left]
    if side == "right":
        return canvas[top : top + height, left + width :][:, ::-1], inside[:, width - margins.right :]
    if side == "top":
        return canvas[:top, left : left + width][::-1], inside[:top]
    return canvas[top + height :, left : left + width][::-1], inside[height - margins.bottom :]


def ncc(first: Grey, second: Grey) -> float:
    a, b = first - first.mean(), second - second.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def detail(strip: Grey, side: str) -> Grey:
    """`strip` less what runs along the edge (each line's mean across the band): a horizon or a shelf
    crossing the edge continues into any good band, and so into its mirror too."""
    across = 1 if side in ("left", "right") else 0
    return strip - strip.mean(axis=across, keepdims=True)


def sharpness(image: Grey) -> float:
    return float(cv2.Laplacian(image, cv2.CV_64F).var())


def grain(image: Grey) -> float:
    """The median size of the Laplacian: the fine texture, whatever larger things a region holds."""
    return float(np.median(np.abs(cv2.Laplacian(image, cv2.CV_64F))))


# -- the contract -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "margins", [Margins(20, 10, 5, 30), Margins(0, 0, 0, 0), Margins(1, 2, 1, 2), Margins(0, 37, 0, 0)]
)
def test_the_picture_is_copied_exactly_and_the_canvas_has_the_margins(margins: Margins) -> None:
    image = random_shapes()
    canvas = extend_canvas(image, margins)
    height, width = image.shape[:2]
    assert canvas.dtype == np.uint8
    assert canvas.shape == (height + margins.top + margins.bottom, width + margins.left + margins.right, 3)
    assert np.array_equal(canvas[margins.top : margins.top + height, margins.left : margins.left + width], image)


def test_zero_margins_give_the_picture_itself() -> None:
    image = brick_wall()
    canvas = extend_canvas(image, Margins(0, 0, 0, 0), seed=5)
    assert np.array_equal(canvas, image)
    assert canvas is not image


def test_the_same_seed_gives_the_same_canvas_and_another_seed_another() -> None:
    image = random_shapes()
    margins = Margins(30, 20, 25, 15)
    first = extend_canvas(image, margins, seed=3)
    assert np.array_equal(first, extend_canvas(image, margins, seed=3))
    assert np.array_equal(extend_canvas(image, margins), extend_canvas(image, margins, seed=0))
    other = extend_canvas(image, margins, seed=4)
    assert not np.array_equal(first, other)
    # Only the padding differs.
    assert np.array_equal(first[20:-15, 30:-25], other[20:-15, 30:-25])


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (3, 5), (7, 7), (8, 8), (9, 31), (40, 12)])
def test_tiny_pictures_are_extended_too(shape: tuple[int, int]) -> None:
    height, width = shape
    image = np.random.default_rng(height * 100 + width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    margins = Margins(left=13, top=2, right=1, bottom=9)
    canvas = extend_canvas(image, margins, seed=1)
    assert canvas.shape == (height + 11, width + 14, 3)
    assert np.array_equal(canvas[2 : 2 + height, 13 : 13 + width], image)
    assert np.array_equal(canvas, extend_canvas(image, margins, seed=1))
    # Nothing beyond the picture's own colours (no black, no invented colour).
    assert canvas.min() >= image.min() and canvas.max() <= image.max()


@pytest.mark.parametrize("pixels", [1, 2])
def test_margins_of_a_pixel_or_two_continue_the_edge(pixels: int) -> None:
    """Each band pixel differs from the picture's pixel beside it about as much as that one differs from
    the next pixel in."""
    image = photo("coffee.png")
    canvas = extend_canvas(image, Margins(pixels, pixels, pixels, pixels)).astype(np.float64)
    inside = canvas[pixels:-pixels, pixels:-pixels]
    steps = {
        "left": (canvas[pixels:-pixels, pixels - 1], inside[:, 0], inside[:, 1]),
        "right": (canvas[pixels:-pixels, -pixels], inside[:, -1], inside[:, -2]),
        "top": (canvas[pixels - 1, pixels:-pixels], inside[0], inside[1]),
        "bottom": (canvas[-pixels, pixels:-pixels], inside[-1], inside[-2]),
    }
    for side, (beyond, edge, within) in steps.items():
        assert np.abs(beyond - edge).mean() < 1.5 * np.abs(edge - within).mean() + 3.0, side


# -- what the padding looks like --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "side"), [("shapes", side) for side in SIDES] + [("bricks", "top"), ("bricks", "bottom")]
)
def test_the_band_is_no_mirror_of_the_picture(name: str, side: str) -> None:
    """(Not the brick wall's sides: its courses run across them, into any band that continues them, and
    so into that band's mirror image too; the next test takes them out.)"""
    band, strip = band_and_strip(name, side)
    assert ncc(band, strip) < MIRROR_BAR


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png", "shapes"])
@pytest.mark.parametrize("side", SIDES)
def test_the_band_does_not_reflect_the_detail_inside_it(name: str, side: str) -> None:
    """What runs along the edge taken out (a horizon, a shelf, a layered background: it goes on into a
    good band, and so into its mirror), the band is no mirror image of the picture either. The old
    mirrored, blurred padding scored 0.5 to 0.8 on the photos."""
    band, strip = band_and_strip(name, side)
    assert ncc(detail(band, side), detail(strip, side)) < 0.4


@pytest.mark.parametrize("side", SIDES)
def test_the_band_is_as_sharp_as_the_picture(side: str) -> None:
    """On a picture textured all over alike; elsewhere the variance of the Laplacian also counts how many
    edges of things a strip happens to hold, so the next test measures the grain instead."""
    band, strip = band_and_strip("bricks", side)
    assert sharpness(band) >= SHARPNESS_BAR * sharpness(strip)


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png", "bricks", "shapes"])
@pytest.mark.parametrize("side", SIDES)
def test_the_band_keeps_the_picture_s_grain(name: str, side: str) -> None:
    band, strip = band_and_strip(name, side)
    assert grain(band) >= SHARPNESS_BAR * grain(strip)


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png", "bricks", "shapes"])
def test_no_seam_at_the_edges(name: str) -> None:
    """The first 3 px beyond each edge have the colour of the last 3 inside it: along the whole edge, and
    (but where small things of every colour crowd the edge) in most runs of 16 px along it."""
    image = picture(name)
    margins = share_margins(image)
    canvas = canvas_of(name).astype(np.float64)
    height, width = image.shape[:2]
    top, left = margins.top, margins.left
    rows, columns = slice(top, top + height), slice(left, left + width)
    pairs = {
        "left": (canvas[rows, left - 3 : left], canvas[rows, left : left + 3]),
        "right": (canvas[rows, left + width : left + width + 3], canvas[rows, left + width - 3 : left + width]),
        "top": (canvas[top - 3 : top, columns], canvas[top : top + 3, columns]),
        "bottom": (canvas[top + height : top + height + 3, columns], canvas[top + height - 3 : top + height, columns]),
    }
    for side, (outside, inside) in pairs.items():
        gap = np.abs(outside.mean(axis=(0, 1)) - inside.mean(axis=(0, 1))).max()
        assert gap < 8.0, side
        if name == "shapes":
            continue
        along = 0 if side in ("left", "right") else 1
        local_out = outside.mean(axis=1 - along)  # (n, 3)
        local_in = inside.mean(axis=1 - along)
        runs = len(local_out) // 16
        blocks_out = local_out[: runs * 16].reshape(runs, 16, 3).mean(axis=1)
        blocks_in = local_in[: runs * 16].reshape(runs, 16, 3).mean(axis=1)
        assert np.median(np.abs(blocks_out - blocks_in).max(axis=1)) < 12.0, side


def test_a_shelf_across_the_sides_and_a_pole_across_top_and_bottom_go_on() -> None:
    """Lines crossing an edge continue beyond it, at their place, over most of the band."""
    image = brick_wall()
    margins = share_margins(image)
    canvas = grey(canvas_of("bricks"))
    height, width = image.shape[:2]
    top, left = margins.top, margins.left
    shelf = slice(top + SHELF_ROW, top + SHELF_ROW + 5)
    pole = slice(left + POLE_COLUMN, left + POLE_COLUMN + 7)
    dark = 90.0  # the lines are ~50 grey, bricks ~90-110, mortar ~200
    bands = {
        "left": canvas[shelf, :left],
        "right": canvas[shelf, left + width :],
        "top": canvas[:top, pole].T,
        "bottom": canvas[top + height :, pole].T,
    }
    for side, band in bands.items():
        continued = (band.mean(axis=0) < dark).mean()  # share of the band's depth where the line is
        assert continued > 0.75, side


@pytest.mark.parametrize("name", ["bricks", "shapes", "coffee.png"])
def test_corners_are_filled_with_the_picture_s_texture_and_meet_the_bands_beside_them(name: str) -> None:
    """Corners hold the picture's colours and grain (no flat fill, no blur), and meet the side band below
    or above them without a step in colour."""
    image = picture(name)
    margins = share_margins(image)
    canvas = canvas_of(name).astype(np.float64)
    height, width = image.shape[:2]
    top, left, bottom, right = margins.top, margins.left, margins.top + height, margins.left + width
    picture_grain = grain(grey(image))
    # Per corner: the corner, and the 3 px of it and of the side band where they meet.
    corners = {
        "top left": (slice(0, top), slice(0, left), slice(top - 3, top), slice(top, top + 3)),
        "top right": (slice(0, top), slice(right, None), slice(top - 3, top), slice(top, top + 3)),
        "bottom left": (slice(bottom, None), slice(0, left), slice(bottom, bottom + 3), slice(bottom - 3, bottom)),
        "bottom right": (slice(bottom, None), slice(right, None), slice(bottom, bottom + 3), slice(bottom - 3, bottom)),
    }
    for where, (rows, columns, corner_rows, band_rows) in corners.items():
        corner = canvas[rows, columns]
        assert corner.min() >= image.min() and corner.max() <= image.max(), where
        if name != "coffee.png":  # whose top left is a dark, smooth shadow
            assert grain(grey(corner.astype(np.uint8))) > SHARPNESS_BAR * picture_grain, where
        # Where the corner meets the side band (across, into the top or bottom band, it is one quilt).
        step = np.abs(canvas[corner_rows, columns].mean(axis=(0, 1)) - canvas[band_rows, columns].mean(axis=(0, 1)))
        assert step.max() < 20.0, where  # a corner is short: one patch weighs more


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_band_keeps_the_texture_energy_of_the_rows_it_continues(seed: int) -> None:
    """Where one thing with strong texture meets the edge, and the ground around it is dark and flat (the
    astronaut's helmet bracket, in her picture's bottom fifth on the right), the band beside it keeps
    the edge strip's texture energy (the root mean squared Laplacian): not a smooth patch of the ground
    or a soft sheen of about its colour, which the band laid there (0.42 to 0.55 of the strip's)."""
    image = photo("astronaut.png")
    height, width = image.shape[:2]
    margin = round(0.08 * width)
    canvas = grey(extend_canvas(image, Margins(margin, margin, margin, margin), seed=seed))
    rows = slice(margin + round(0.8 * height), margin + height)
    band, strip = canvas[rows, margin + width :], canvas[rows, width : margin + width]

    def energy(region: Grey) -> float:
        return float(np.sqrt(np.mean(np.square(cv2.Laplacian(region, cv2.CV_64F)))))

    assert energy(band) >= 0.7 * energy(strip)


def test_the_columns_every_frame_shows_narrow_with_a_push_in_and_shift_with_a_pan() -> None:
    from stillmotion.engines.live2d.motion import Clock
    from stillmotion.engines.live2d.plan import Track
    from stillmotion.engines.live2d.render.camera import CameraPath

    clock = Clock.for_frames(20, fps=10, loop=False)
    still = CameraPath.still(20)
    assert still.always_seen_x(400) == (0.0, 399.0)
    zoom = CameraPath.from_tracks((Track("camera", "zoom", "in", end_s=2.0),), clock, width=400, height=300)
    left, right = zoom.always_seen_x(400)
    # A push-in by z shows the middle 1/z of the picture in its last frame.
    z = float(zoom.zoom.max())
    assert left == pytest.approx(199.5 * (1 - 1 / z), abs=0.5) and right == pytest.approx(399 - left, abs=0.5)
    pan = CameraPath.from_tracks((Track("camera", "pan", "right", end_s=2.0),), clock, width=400, height=300)
    left, right = pan.always_seen_x(400)
    assert left > 0.0 and 399.0 - right < left  # it leaves more of the left side than of the right
