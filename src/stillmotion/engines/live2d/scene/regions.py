"""Where the picture shows what a scene track animates: sky, water, flames, plants, and where vapour rises from.

Every finder looks at colour, texture, position and edges on a small working copy (`_WORK_SHORT_PX` on the
short side) and returns regions at full size: a box and, inside it, an alpha that is 1 deep inside the region
and falls to 0 at its edge (`Region`), so that an effect blended with it never touches a pixel outside.
None (or an empty list) when the picture shows no such thing; the renderer then says so in the plan's notes.

* sky: blue-ish or grey, smooth (or bright, for clouds), connected to the top edge, column by column down to
  the first thing that is not sky; enclosed holes (a cloud's textured rim) filled; with land under it (the
  bottom of the picture is not sky).
* water: blue to cyan, centred in the lower part of the frame, never the sky; still water also where the rows
  below some line mirror those above it (a lake reflecting its shore); falling water is white, bright and
  streaked vertically through (fine detail across each row well above that along each column, several
  streaks side by side in every row), and taller than wide.
* Every outline is found on the working copy, then placed at full size by the same colour tests.
* flames: compact, bright, warm (orange to yellow) blobs clearly brighter than what surrounds them, with their
  white-hot cores; the sky is left out (a sunset is not a fire).
* plants: green and textured.
* vapour sources: a bright elliptical rim (a cup seen from above or aside), else the top of the subject, else
  the lower middle of the frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Parts

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Mask = npt.NDArray[np.float32]  # (h, w) float32 in [0, 1]
Floats = npt.NDArray[np.float32]
Binary = npt.NDArray[np.bool_]  # (h, w) bool, on the working copy

_WORK_SHORT_PX: Final = 192
_WORK_LONG_PX: Final = 384


@dataclass(frozen=True)
class Region:
    """`alpha` `(y1 - y0, x1 - x0)` float32 over `box` (x0, y0, x1, y1; picture pixels, ends exclusive): 1 well
    inside the region, 0 outside it, a feathered edge in between (inside the region, never beyond it);
    `inside` px to the nearest pixel outside it (the picture's own edges do not count as outside)."""

    box: tuple[int, int, int, int]
    alpha: Mask
    inside: npt.NDArray[np.float32]

    @property
    def xywh(self) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = self.box
        return x0, y0, x1 - x0, y1 - y0


@dataclass(frozen=True)
class Source:
    """Where vapour rises from: the centre of the opening (x, y; picture pixels), its width, and how it was found."""

    x: float
    y: float
    width: float
    how: Literal["rim", "flame", "subject", "frame"]


# How much brighter than its surroundings (HSV value, 0..1) a warm blob must be to be a flame: against the dark
# or plain things around it, or, for a tongue within a warm glow (a lit hearth), against the rest of that glow.
FLAME_CONTRAST: Final = 0.25
FLAME_IN_GLOW_CONTRAST: Final = 0.1
# Sky in a row narrower than this share of the picture's width, below the rest, is not sky but something pale
# standing in it or mirroring it.
SKY_MIN_RUN: Final = 0.25
# Water meeting the sky meets it along a level horizon: a top edge against the sky whose rows spread more than
# this share of the picture's height (a standard deviation) is a ridge.
RAGGED_SKYLINE: Final = 0.02
# A grey step (0..1) this sharp, across a working pixel or two, is a skyline rather than a cloud's soft edge.
SKYLINE_STEP: Final = 0.12
# An opening (a darker ellipse a bright rim encloses: the drink in a cup) counts this many times a bright blob
# of the same size when choosing where steam rises from.
OPENING_PREFERENCE: Final = 3.0

Colours = Callable[["_Hsv"], Binary]  # which pixels may belong to a region, by colour alone


@dataclass(frozen=True)
class _Hsv:
    hue: npt.NDArray[np.float32]  # (h, w) degrees 0..360
    sat: npt.NDArray[np.float32]  # (h, w) 0..1
    val: npt.NDArray[np.float32]  # (h, w) 0..1

    @classmethod
    def of(cls, image: RGBFrame) -> _Hsv:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
        return cls(hue=hsv[..., 0] * (360.0 / 256.0), sat=hsv[..., 1] / 255.0, val=hsv[..., 2] / 255.0)


@dataclass(frozen=True)
class _Work(_Hsv):
    """The picture on a small working copy, with the colour measures every finder shares."""

    rgb: npt.NDArray[np.float32]  # (h, w, 3) 0..1
    grad: npt.NDArray[np.float32]  # (h, w) mean gradient magnitude (0..1 per work pixel) nearby
    scale: float  # working pixels per picture pixel
    image: RGBFrame  # the picture itself, where a region's edge is placed

    @classmethod
    def of(cls, image: RGBFrame) -> _Work:
        height, width = image.shape[:2]
        scale = min(1.0, _WORK_SHORT_PX / min(width, height), _WORK_LONG_PX / max(width, height))
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        hsv = _Hsv.of(np.asarray(small, np.uint8))
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0, (0, 0), 0.8)
        gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8.0
        gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8.0
        grad = cv2.blur(np.sqrt(gx * gx + gy * gy), (5, 5))
        return cls(
            hue=hsv.hue,
            sat=hsv.sat,
            val=hsv.val,
            rgb=small.astype(np.float32) / 255.0,
            grad=np.asarray(grad, dtype=np.float32),
            scale=min(size[0] / width, size[1] / height),
            image=image,
        )

    @property
    def shape(self) -> tuple[int, int]:
        rows, columns = self.val.shape
        return rows, columns

    def region(self, mask: Binary, *, colours: Colours, feather: float, min_share: float) -> Region | None:
        """`mask` (working copy) as a full-size `Region`, its edge feathered over `feather` of the short side;
        None when it covers less than `min_share` of the picture. Its outline is placed at full size: within a
        working pixel or two of the working copy's outline, a pixel belongs to it when its `colours` do."""
        if float(mask.mean()) < min_share:
            return None
        height, width = self.image.shape[:2]
        full = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR) > 0.5
        rows, columns = np.flatnonzero(full.any(axis=1)), np.flatnonzero(full.any(axis=0))
        if rows.size == 0:
            return None
        reach = max(1, math.ceil(1.5 / self.scale))
        x0, y0 = max(0, int(columns[0]) - reach), max(0, int(rows[0]) - reach)
        x1, y1 = min(width, int(columns[-1]) + 1 + reach), min(height, int(rows[-1]) + 1 + reach)
        rough = full[y0:y1, x0:x1].astype(np.uint8)
        kernel = _kernel(2 * reach + 1)
        core = cv2.erode(rough, kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
        near = cv2.dilate(rough, kernel).astype(bool)
        exact = core | (near & colours(_Hsv.of(np.ascontiguousarray(self.image[y0:y1, x0:x1]))))
        exact = cv2.morphologyEx(exact.astype(np.uint8), cv2.MORPH_OPEN, _kernel(3)).astype(bool)
        rows, columns = np.flatnonzero(exact.any(axis=1)), np.flatnonzero(exact.any(axis=0))
        if rows.size == 0:
            return None
        bx0, by0, bx1, by1 = int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1
        inside = exact[by0:by1, bx0:bx1]
        # The distance to the nearest pixel outside, with the picture's own edges counted as inside (a river
        # that leaves the frame moves up to the frame's edge).
        box = (x0 + bx0, y0 + by0, x0 + bx1, y0 + by1)
        top, left = int(box[1] > 0), int(box[0] > 0)
        bottom, right = int(box[3] < height), int(box[2] < width)
        padded = cv2.copyMakeBorder(inside.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_REPLICATE)
        # Outside where the box does not touch the picture's edge: a one-pixel ring of 0 there.
        if top:
            padded[0] = 0
        if bottom:
            padded[-1] = 0
        if left:
            padded[:, 0] = 0
        if right:
            padded[:, -1] = 0
        distance = np.asarray(cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1], np.float32)
        ramp = np.clip(distance / max(1.0, feather * min(width, height)), 0.0, 1.0)
        alpha = ramp * ramp * (3.0 - 2.0 * ramp)
        return Region(box, np.asarray(alpha, dtype=np.float32), distance)


def _components(mask: Binary, *, min_share: float) -> list[tuple[Binary, int, tuple[float, float]]]:
    """Connected parts of `mask` covering at least `min_share` of it, largest first: (mask, area, centroid)."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    found = []
    for label in range(1, count):
        area = int(stats[label, cv2.CC_STAT_AREA])
        if area >= min_share * mask.size:
            found.append((labels == label, area, (float(centroids[label][0]), float(centroids[label][1]))))
    return sorted(found, key=lambda item: -item[1])


def _fill_enclosed(mask: Binary, *, max_share: float) -> Binary:
    """`mask` with the holes it encloses (not touching the picture's edges) filled, up to `max_share` each."""
    holes = ~mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=4)
    rows, columns = mask.shape
    filled = mask.copy()
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        touches = x == 0 or y == 0 or x + w == columns or y + h == rows
        if not touches and area <= max_share * mask.size:
            filled |= labels == label
    return filled


def _kernel(size: int) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), dtype=np.uint8)


def _open_close(mask: Binary, *, open_px: int, close_px: int) -> Binary:
    out = mask.astype(np.uint8)
    if open_px > 1:
        out = np.asarray(cv2.morphologyEx(out, cv2.MORPH_OPEN, _kernel(open_px)), np.uint8)
    if close_px > 1:
        out = np.asarray(cv2.morphologyEx(out, cv2.MORPH_CLOSE, _kernel(close_px)), np.uint8)
    return out.astype(bool)


# -- colours (the same tests on the working copy and, at a region's edge, at full size) ---------------------


def _blue(c: _Hsv) -> Binary:
    return np.asarray((c.hue >= 160.0) & (c.hue <= 255.0) & (c.sat >= 0.12) & (c.val >= 0.15))


def _white(c: _Hsv) -> Binary:
    return np.asarray((c.sat <= 0.3) & (c.val >= 0.6))


def _sky_colours(c: _Hsv) -> Binary:
    blue = (c.hue >= 175.0) & (c.hue <= 265.0) & (c.sat >= 0.1) & (c.val >= 0.3)
    return np.asarray(blue | ((c.sat <= 0.2) & (c.val >= 0.4)) | ((c.sat <= 0.25) & (c.val >= 0.7)))


def _water_colours(c: _Hsv) -> Binary:
    return np.asarray(_blue(c) | _white(c))


def _green(c: _Hsv) -> Binary:
    return np.asarray((c.hue >= 60.0) & (c.hue <= 170.0) & (c.sat >= 0.18) & (c.val >= 0.1))


def _warm(c: _Hsv) -> Binary:
    return np.asarray((c.hue >= 12.0) & (c.hue <= 62.0) & (c.sat >= 0.35) & (c.val >= 0.82))


def _white_hot(c: _Hsv) -> Binary:
    return np.asarray((c.sat <= 0.45) & (c.val >= 0.93))


def _flame_colours(c: _Hsv) -> Binary:
    return np.asarray(_warm(c) | _white_hot(c))


# -- sky -------------------------------------------------------------------------------------------------


def _sky_mask(work: _Work, character: Binary | None = None) -> Binary | None:
    bright = (work.sat <= 0.25) & (work.val >= 0.7)
    smooth = work.grad <= 0.035
    candidate = (_sky_colours(work) & smooth) | bright
    if character is not None:
        candidate &= ~cv2.dilate(character.astype(np.uint8), _kernel(3)).astype(bool)
    candidate = _open_close(candidate, open_px=3, close_px=5)
    # A skyline is a hard edge (a mountain's ridge, a roof), where a cloud's edge is soft: cut along the hard
    # ones, so that a hazy blue-grey mountain, as smooth and blue as the sky, does not join it.
    # Only where a dull side meets it: a white cloud's lower edge on blue sky is a hard edge too.
    dull = (work.val < 0.65) & (work.sat < 0.3)
    candidate &= ~(_hard_edges(work) & cv2.dilate(dull.astype(np.uint8), _kernel(5)).astype(bool))
    top = [part for part, _, _ in _components(candidate, min_share=0.01) if part[:2].any()]
    if not top:
        return None
    sky = np.logical_or.reduce(top)
    sky = _fill_enclosed(sky, max_share=0.05)
    # Down each column from the top edge to the first pixel that is not sky: nothing below the skyline (a lake
    # that mirrors the sky, a white wall) is sky.
    sky = np.cumprod(sky, axis=0).astype(bool)
    # ... and no narrow stripe down from it either: a white mast or a sail, a reflection of the sky in a lake
    # straight below the horizon. Rows keep only runs of sky at least SKY_MIN_RUN of the picture wide.
    run = max(3, round(SKY_MIN_RUN * sky.shape[1]))
    sky = cv2.morphologyEx(sky.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, run), np.uint8)).astype(bool)
    sky = _open_close(sky, open_px=3, close_px=1)
    # A sky has something under it: not the whole picture (a grey wall, a flat backdrop).
    bottom = sky[-max(1, sky.shape[0] // 7) :]
    return sky if float(sky.mean()) >= 0.04 and float(bottom.mean()) <= 0.3 else None


def _hard_edges(work: _Work) -> Binary:
    """Edges of the working copy with a grey step of at least SKYLINE_STEP across a pixel or two."""
    grey = np.asarray(np.rint(cv2.cvtColor(work.rgb, cv2.COLOR_RGB2GRAY) * 255.0), np.uint8)
    high = round(SKYLINE_STEP * 255.0 * 4.0)  # Sobel 3x3 of a step of s grey levels peaks at 4s
    edges = cv2.Canny(grey, high // 2, high, L2gradient=True)
    # Thickened, so that a gap of a pixel in a ridge's line does not let the mountain through.
    return np.asarray(cv2.dilate(edges, _kernel(3)), np.uint8) > 0


def find_sky(image: RGBFrame, *, parts: Parts | None = None) -> Region | None:
    """The sky: a top-connected, smooth, blue-ish or grey (or bright) region, never a character in front (a
    white cap against a blue backdrop); None when there is none."""
    work = _Work.of(image)
    sky = _sky_mask(work, _character(work, parts))
    return None if sky is None else work.region(sky, colours=_sky_colours, feather=0.015, min_share=0.04)


# -- water -----------------------------------------------------------------------------------------------

WaterKind = Literal["falls", "flow", "still"]


def _streaks(work: _Work) -> npt.NDArray[np.float32]:
    """How strongly the texture is streaked vertically, 0..1, on the working copy: fine detail across (a row's
    high-pass) well above fine detail along (a column's). Smooth shading has neither; an edge is one line."""
    grey = cv2.cvtColor((work.rgb * 255.0).astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    across = cv2.blur(np.abs(grey - cv2.blur(grey, (5, 1))), (5, 5))
    along = cv2.blur(np.abs(grey - cv2.blur(grey, (1, 5))), (5, 5))
    textured = np.clip((across - 0.01) / 0.02, 0.0, 1.0)
    ratio = np.clip((across / (along + 1e-3) - 1.5) / 1.5, 0.0, 1.0)
    return np.asarray(textured * ratio, dtype=np.float32)


def _water_mask(
    work: _Work, kind: WaterKind, sky: Binary | None, character: Binary | None
) -> tuple[Binary | None, Colours]:
    """The water on the working copy, and the colours its outline is placed by at full size."""
    rows, _ = work.shape
    not_sky = np.ones(work.shape, dtype=bool) if sky is None else cv2.dilate(sky.astype(np.uint8), _kernel(3)) == 0
    if character is not None:
        not_sky &= ~character
    blue, white = _blue(work), _white(work)
    if kind == "falls":
        streaked = white & (_streaks(work) >= 0.25) & not_sky
        falling = _open_close(streaked, open_px=1, close_px=5)
        # Tall, and streaked through: not a white candle, a cup's rim or a wall, whose only streaks are its edges.
        crests = _streak_count(work)
        parts = [p for p, _, _ in _components(falling, min_share=0.004) if _tall(p) and _many_streaks(p, crests)]
        if not parts:
            return None, _white
        mask = np.logical_or.reduce(parts)
        return np.asarray(cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, _kernel(5)), dtype=bool), _white
    # White foam counts where it borders blue water (rapids, breaking waves).
    near_blue = cv2.dilate(blue.astype(np.uint8), _kernel(7)).astype(bool)
    water = (blue | (white & near_blue & (work.grad > 0.02))) & not_sky
    water = _open_close(water, open_px=3, close_px=7)
    found = [
        (part, area)
        for part, area, (_, cy) in _components(water, min_share=0.01)
        if cy >= 0.4 * rows
        and blue[part].mean() >= 0.5
        and not _sky_beside(work, part, sky)
        and not _skyline_under_sky(part, sky)
    ]
    mirror = _reflection(work, not_sky) if kind == "still" else None
    if not found:
        return mirror, _water_colours
    largest = found[0][1]
    mask = np.logical_or.reduce([part for part, area in found if area >= 0.3 * largest])
    return mask if mirror is None else mask | mirror, _water_colours


def _skyline_under_sky(part: Binary, sky: Binary | None) -> bool:
    """Whether `part` stands against the sky along a ragged top, with land below it: a blue-grey mountain range,
    not water. A sea meets the sky too, but along a level horizon; a lake between wooded shores comes down to the
    picture's bottom edge."""
    if sky is None or part[-1].any():
        return False
    rows = part.shape[0]
    columns = np.flatnonzero(part.any(axis=0))
    tops = np.argmax(part[:, columns], axis=0)
    above = np.maximum(tops - 2, 0)
    against = sky[above, columns]
    if against.size == 0 or float(against.mean()) < 0.5:
        return False
    return bool(float(np.std(tops[against])) > RAGGED_SKYLINE * rows)


def _sky_beside(work: _Work, part: Binary, sky: Binary | None) -> bool:
    """Whether `part` is the sky's own colour on the rows it shares with the sky: sky seen under a tree's crown or
    beside a person, not water (a sea or a lake lies below the sky, on rows of its own)."""
    if sky is None:
        return False
    shared = [row for row in np.flatnonzero(part.any(axis=1)) if sky[row].mean() >= 0.05]
    if len(shared) < 0.5 * np.count_nonzero(part.any(axis=1)):
        return False
    gaps = [
        float(np.abs(work.rgb[row][part[row]].mean(axis=0) - work.rgb[row][sky[row]].mean(axis=0)).max())
        for row in shared
    ]
    return float(np.mean(gaps)) < 0.08


def _reflection(work: _Work, allowed: Binary) -> Binary | None:
    """Still water mirroring what stands on its shore: the rows below some row y that repeat the rows above it,
    upside down (row y + k like row y - 1 - k). Compared on each row's own variation (its mean taken out), so
    that a picture merely darker at top and bottom is no mirror; and against the same rows the right way up, so
    that something standing upright (a candle, a trunk, a waterfall: every row like the next) is none either.
    A lake lies low in the frame and reaches its bottom, and mirrors more softly than what it mirrors (a round
    tree crown is symmetric too, but as sharp below its middle as above). None without a clear one."""
    rows, _ = work.shape
    sharp = cv2.cvtColor((work.rgb * 255.0).astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    detail = np.abs(cv2.Laplacian(sharp, cv2.CV_32F)).mean(axis=1)  # (rows,) fine detail per row
    grey = cv2.GaussianBlur(sharp, (0, 0), 1.5)  # compared softened: a reflection is blurred by its ripples
    varied = grey - grey.mean(axis=1, keepdims=True)

    def likeness(first: Floats, second: Floats) -> float:
        return float((first * second).sum()) / math.sqrt(float((first * first).sum() * (second * second).sum()) + 1e-9)

    best, axis = 0.0, 0
    for y in range(int(0.4 * rows), int(0.85 * rows)):
        depth = min(y, rows - y, int(0.35 * rows))
        if depth < 0.08 * rows or float(detail[y : y + depth].mean()) > 0.85 * float(detail[y - depth : y].mean()):
            continue
        above, below = varied[y - depth : y], varied[y : y + depth]
        flipped = likeness(above[::-1], below)
        if flipped >= 0.6 and flipped - likeness(above, below) >= 0.25 and flipped > best:
            best, axis = flipped, y
    if best == 0.0:
        return None
    # How far down the mirror holds: row by row, until the likeness fades.
    depth = min(axis, rows - axis)
    above, below = varied[axis - depth : axis][::-1], varied[axis : axis + depth]
    rowwise = (above * below).sum(axis=1) / np.sqrt((above * above).sum(axis=1) * (below * below).sum(axis=1) + 1e-9)
    rowwise = np.convolve(rowwise, np.ones(5) / 5.0, mode="same")
    failing = np.flatnonzero(rowwise < 0.3)
    reach = int(failing[0]) if failing.size else depth
    # Where the mirror runs out of picture above it (its lowest rows mirror the top of the frame, often sky), the
    # water goes on to the frame's edge; a mirror that stops well short of the bottom is no lake.
    bottom = rows if reach >= depth - 2 else axis + reach
    if reach < 0.05 * rows or bottom < 0.85 * rows:
        return None
    mask = np.zeros(work.shape, dtype=bool)
    mask[axis:bottom] = True
    return mask & allowed


def _streak_count(work: _Work) -> Binary:
    """The crests of fine vertical streaks: pixels brighter than both neighbours in their row and than the row's
    local mean."""
    grey = cv2.cvtColor((work.rgb * 255.0).astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    high = grey - cv2.blur(grey, (5, 1))
    crests = np.zeros(high.shape, dtype=bool)
    crests[:, 1:-1] = (high[:, 1:-1] > 0.012) & (high[:, 1:-1] >= high[:, :-2]) & (high[:, 1:-1] > high[:, 2:])
    return crests


def _many_streaks(part: Binary, crests: Binary) -> bool:
    """Falling water has many streaks side by side in every row; a cup's rim or a candle has an edge or two."""
    rows = int(np.count_nonzero(part.any(axis=1)))
    return rows > 0 and int(np.count_nonzero(crests & part)) >= 3 * rows


def _tall(part: Binary) -> bool:
    rows, columns = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    return bool(rows.size and rows[-1] - rows[0] + 1 >= 1.2 * (columns[-1] - columns[0] + 1))


def find_water(
    image: RGBFrame, kind: WaterKind, *, parts: Parts | None = None, without_falls: bool = False
) -> Region | None:
    """Water of `kind`: falling (white, streaked vertically), flowing or still (blue to cyan, mostly low in the
    frame, below the sky); never the sky, nor a character in front. `without_falls`: flowing or still water
    leaves out the falling water (drawn by its own effect), which its foam would otherwise take in."""
    work = _Work.of(image)
    character = _character(work, parts)
    sky = _sky_mask(work)
    mask, colours = _water_mask(work, kind, sky, character)
    if mask is not None and without_falls and kind != "falls":
        falls, _ = _water_mask(work, "falls", sky, character)
        if falls is not None:
            mask = mask & ~cv2.dilate(falls.astype(np.uint8), _kernel(9)).astype(bool)
            # ... and the foam left at the falls' edges on its own.
            pieces = [piece for piece, _, _ in _components(mask, min_share=0.01)]
            mask = np.logical_or.reduce(pieces) if pieces else None
    return None if mask is None else work.region(mask, colours=colours, feather=0.02, min_share=0.005)


@dataclass(frozen=True)
class Flag:
    """A flag and the side of it that hangs on its pole ("left" or "right")."""

    region: Region
    pole_side: Literal["left", "right"]


def find_flag(image: RGBFrame, *, parts: Parts | None = None) -> Flag | None:
    """A flag on a pole: a compact, colourful part of the picture (0.02% to 8% of it, not sky, not a character),
    wider than tall and clear of the picture's edges, one of whose sides runs along a thin pole: a line darker
    than what lies beyond it that goes on below the flag for at least half the flag's height. The largest such;
    None when there is none."""
    work = _Work.of(image)
    rows, columns = work.shape
    # Not sky or water blue (pixel by pixel: the sky's mask closes over a flag flying in it).
    colourful = (work.sat >= FLAG_MIN_SAT) & (work.val >= 0.3) & ~_sky_colours(work) & ~_blue(work)
    character = _character(work, parts)
    if character is not None:
        colourful &= ~character
    best: tuple[Binary, int, Literal["left", "right"]] | None = None
    for part, area, _ in _components(_open_close(colourful, open_px=1, close_px=3), min_share=FLAG_MIN_SHARE):
        if area > FLAG_MAX_SHARE * rows * columns:
            continue
        ys, xs = np.nonzero(part)
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
        height = y1 - y0 + 1
        # A flag flies out from its pole: wider than tall, and clear of the picture's edges.
        if x1 - x0 + 1 < max(3, height) or height < 2 or x0 == 0 or y0 == 0 or x1 == columns - 1 or y1 == rows - 1:
            continue
        for side, column, beyond in (("left", x0 - 1, x0 - 4), ("right", x1 + 1, x1 + 4)):
            if not (0 <= beyond < columns and 0 <= column < columns):
                continue
            below = min(rows, y1 + 1 + max(2, height // 2))
            pole = work.val[y0:below, column]
            past = work.val[y0:below, beyond]
            if float(np.mean(pole < past - FLAG_POLE_STEP)) >= 0.8 and (best is None or area > best[1]):
                best = (part, area, side)  # type: ignore[assignment]
    if best is None:
        return None
    region = work.region(
        best[0], colours=lambda hsv: (hsv.sat >= 0.8 * FLAG_MIN_SAT) & (hsv.val >= 0.3), feather=0.003, min_share=0.0
    )
    return None if region is None else Flag(region, best[2])


# A flag: at least this saturated, of this share of the picture; its pole this much darker (HSV value) than what
# lies beyond it.
FLAG_MIN_SAT: Final = 0.45
FLAG_MIN_SHARE: Final = 0.0002
FLAG_MAX_SHARE: Final = 0.08
FLAG_POLE_STEP: Final = 0.1


def find_wet_ground(image: RGBFrame, *, parts: Parts | None = None) -> Region | None:
    """The wet ground of a street or a square that mirrors the lights: everything below the picture's lowest long
    level edge (a kerb, the foot of the buildings) in its lower part, which runs across at least
    `GROUND_EDGE_SPAN` of the width; without a character in front. None when no such edge is found. Any level
    edge will do (a table's), so it is looked for only where the words speak of a wet street's reflections."""
    work = _Work.of(image)
    rows, columns = work.shape
    grey = work.rgb.mean(axis=2)
    # Per row, how much of the width has a level edge (a change down the picture, not across it).
    down = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)) / 4.0
    across = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)) / 4.0
    level = (down > GROUND_EDGE_STEP) & (down > 2.0 * across)
    span = cv2.dilate(level.astype(np.uint8), np.ones((3, 1), np.uint8)).mean(axis=1)
    low = int(GROUND_TOP * rows)
    candidates = [row for row in range(low, int(GROUND_BOTTOM * rows)) if span[row] >= GROUND_EDGE_SPAN]
    if not candidates:
        return None
    mask = np.zeros((rows, columns), bool)
    mask[max(candidates) + 2 :] = True
    character = _character(work, parts)
    if character is not None:
        mask &= ~character
    return work.region(mask, colours=lambda hsv: np.ones(hsv.val.shape, bool), feather=0.02, min_share=0.12)


# A wet street's ground lies below a level edge across this much of the width, found between these shares of the
# picture's height.
GROUND_EDGE_SPAN: Final = 0.6
GROUND_EDGE_STEP: Final = 0.04
GROUND_TOP: Final = 0.4
GROUND_BOTTOM: Final = 0.9


def _character(work: _Work, parts: Parts | None) -> Binary | None:
    """The character on the working copy (a picture with a face), whose clothes are never water or leaves."""
    if parts is None or parts.face is None:
        return None
    small = cv2.resize(parts.subject, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_AREA)
    return np.asarray(small > 0.3)


def long_axis(region: Region) -> tuple[float, float]:
    """The unit vector (dx, dy) along which the region is longest (its mask's principal axis), pointing down or,
    for a level one, right."""
    ys, xs = np.nonzero(region.alpha > 0.5)
    if xs.size < 3:
        return 1.0, 0.0
    cov = np.cov(np.stack([xs.astype(np.float64), ys.astype(np.float64)]))
    _, vectors = np.linalg.eigh(cov)
    dx, dy = float(vectors[0, -1]), float(vectors[1, -1])
    if dy < -1e-6 or (abs(dy) <= 1e-6 and dx < 0):
        dx, dy = -dx, -dy
    return dx, dy


# -- flames ----------------------------------------------------------------------------------------------


def find_flames(image: RGBFrame, *, max_count: int = 6) -> list[Region]:
    """Bright, warm (orange to yellow) blobs with a white-hot part, clearly brighter than what lies around them,
    largest first (at most `max_count`). Flames in a warm glow of their own (a fire in a lit hearth, where the
    glow and the fire are one warm area) are the brightest tongues of that area, a little brighter than the rest."""
    work = _Work.of(image)
    warm, core = _warm(work), _white_hot(work)
    # The white-hot heart is part of a flame where the flame's colour surrounds it, not a pale thing beside it
    # (the wax of the candle it burns on).
    flame = _fill_enclosed(warm, max_share=0.01) | (core & warm)
    sky = _sky_mask(work)
    if sky is not None:
        flame &= ~sky
    flame = _open_close(flame, open_px=1, close_px=3)
    found: list[tuple[float, Region]] = []

    def consider(part: Binary, area: int, around: Binary, *, min_contrast: float) -> bool:
        if area > 0.2 * part.size or not _compact(part, area):
            return False  # a wall of warm colour, or a gold cord or picture frame, not a flame
        ring = cv2.dilate(part.astype(np.uint8), _kernel(9)).astype(bool) & ~part & around
        contrast = float(work.val[part].mean()) - (float(work.val[ring].mean()) if ring.any() else 0.0)
        # A flame glows against what lies around it, and burns white-hot somewhere inside.
        if contrast < min_contrast or warm[part].mean() < 0.3 or float(work.val[part].max()) < 0.95:
            return False
        region = work.region(part, colours=_flame_colours, feather=0.004, min_share=0.0)
        if region is None:
            return False
        found.append((area * contrast, region))
        return True

    everywhere = np.ones(work.shape, dtype=bool)
    for part, _, _ in _components(flame, min_share=0.0003):
        alone = _flame_only(part)
        if consider(alone, int(np.count_nonzero(alone)), everywhere, min_contrast=FLAME_CONTRAST):
            continue
        # Within a warm area that is no flame as a whole: its brightest tongues, against the rest of it.
        values = work.val[part]
        bright = part & (work.val >= max(0.93, float(np.percentile(values, 70))))
        bright = _open_close(bright, open_px=1, close_px=1)
        for tongue, tongue_area, _ in _components(bright, min_share=0.0003):
            if core[tongue].any():  # burning white-hot somewhere: bright orange fur or paint does not
                consider(tongue, tongue_area, part, min_contrast=FLAME_IN_GLOW_CONTRAST)
    found.sort(key=lambda item: -item[0])
    return [region for _, region in found[:max_count]]


# A flame widens from its tip down, evenly; what it stands on in lit, warm colours (a candle's wax, a log) is much
# wider at once: from the row FLAME_BASE_JUMP times wider than any more than FLAME_BASE_ROWS rows above it, the part
# is not flame (nor the row before it, where that widening starts).
FLAME_BASE_JUMP: Final = 1.8
FLAME_BASE_ROWS: Final = 3
FLAME_TIP_ROWS: Final = 6  # (working rows) a flame widens quickly just below its tip: no cut there


def _flame_only(part: Binary) -> Binary:
    """`part` without the lit wax or wood under the flame: cut where it suddenly grows much wider."""
    rows = np.flatnonzero(part.any(axis=1))
    widths = part[rows[0] : rows[-1] + 1].sum(axis=1)
    widest = np.maximum.accumulate(widths)
    lag = FLAME_BASE_ROWS
    if widths.size <= lag:
        return part
    jumps = np.flatnonzero((widths[lag:] > FLAME_BASE_JUMP * widest[:-lag]) & (widest[:-lag] >= 3))
    jumps = jumps[jumps + lag >= FLAME_TIP_ROWS]
    if jumps.size == 0:
        return part
    cut = part.copy()
    cut[rows[0] + int(jumps[0]) + lag - 1 :] = False
    return cut


def _compact(part: Binary, area: int) -> bool:
    """A flame is a tongue or a heap: no more than five times as tall as wide, filling a good share of its box."""
    rows, columns = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1
    return bool(height <= 5 * width and area >= 0.3 * height * width)


# -- plants ----------------------------------------------------------------------------------------------


def find_foliage(image: RGBFrame, *, parts: Parts | None = None) -> Region | None:
    """Green, textured regions (leaves, grass), not the sky, not a character in front."""
    work = _Work.of(image)
    green = _green(work)
    textured = work.grad >= 0.02
    plants = _open_close(green & textured, open_px=1, close_px=5)
    plants = _open_close(plants, open_px=3, close_px=1)
    sky = _sky_mask(work)
    if sky is not None:
        plants &= ~sky
    character = _character(work, parts)
    if character is not None:
        plants &= ~character
    found = [part for part, _, _ in _components(plants, min_share=0.01)]
    if not found:
        return None
    return work.region(np.logical_or.reduce(found), colours=_green, feather=0.01, min_share=0.01)


def without(region: Region, other: Region, *, margin_px: int = 2) -> Region:
    """`region` with `other` (and `margin_px` around it) taken out of its alpha; its box and `inside` are kept (a
    hole inside a region moves nothing, it only stays as the picture is)."""
    x0, y0, x1, y1 = region.box
    ox0, oy0, ox1, oy1 = other.box
    ix0, iy0, ix1, iy1 = max(x0, ox0), max(y0, oy0), min(x1, ox1), min(y1, oy1)
    if ix0 >= ix1 or iy0 >= iy1:
        return region
    overlap = np.zeros(region.alpha.shape, np.uint8)
    overlap[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = other.alpha[iy0 - oy0 : iy1 - oy0, ix0 - ox0 : ix1 - ox0] > 0.0
    taken = cv2.dilate(overlap, _kernel(2 * margin_px + 1)) > 0
    alpha = np.where(taken, np.float32(0.0), region.alpha).astype(np.float32)
    return Region(region.box, alpha, region.inside)


# -- a boat on the water -----------------------------------------------------------------------------------


def find_boat(image: RGBFrame, *, parts: Parts | None = None) -> Region | None:
    """A boat on the water: the largest compact thing that is neither water nor sky, standing in the water (its
    lower edge bordered by water) and clear of the picture's sides and bottom (a shore, a pier run off the
    frame), 0.2% to 15% of the picture, with what stands on it (a sail, a mast and its flag). None when there is
    no water or no such thing."""
    work = _Work.of(image)
    sky = _sky_mask(work)
    water, _ = _water_mask(work, "flow", sky, _character(work, parts))
    if water is None:
        return None
    rows, columns = work.shape
    other = ~water
    if sky is not None:
        other &= ~sky
    other = _open_close(other, open_px=3, close_px=3)
    best: tuple[Binary, int] | None = None
    for part, area, _ in _components(other, min_share=0.002):
        if area > 0.15 * rows * columns or part[:, 0].any() or part[:, -1].any() or part[-1].any():
            continue
        # The hull's lower edge: the lowest pixel of each of its columns, and what lies just under it.
        lowest = rows - 1 - np.argmax(part[::-1], axis=0)
        has = part.any(axis=0)
        under = np.clip(lowest + 2, 0, rows - 1)
        on_water = water[under[has], np.flatnonzero(has)]
        if float(on_water.mean()) < 0.7:
            continue
        if best is None or area > best[1]:
            best = (part, area)
    if best is None:
        return None
    # What stands on the hull (a sail, a cabin, a mast and its flag): the other parts within its width, joined to
    # it or to what already joined it, as they are drawn (a mast is too thin for the opening above).
    hull = best[0]
    hull_columns = np.flatnonzero(hull.any(axis=0))
    left, right = int(hull_columns[0]), int(hull_columns[-1])
    slack = max(2, round(0.1 * (right - left + 1)))
    # The sky's test takes a white sail for a cloud and the water's a sail beside the sea for foam: only their
    # blue is left out here.
    blue = _blue(work)
    raw = ~(water & blue) if sky is None else ~(water & blue) & ~(sky & blue)
    raw[:, : max(0, left - slack)] = False
    raw[:, right + 1 + slack :] = False
    _, labels = cv2.connectedComponents(raw.astype(np.uint8), connectivity=8)
    boat = hull.copy()
    for _ in range(4):
        near = cv2.dilate(boat.astype(np.uint8), _kernel(5)).astype(bool)
        joined = np.isin(labels, [label for label in np.unique(labels[near]) if label > 0])
        if not (joined & ~boat).any():
            break
        boat |= joined
    # Not a horizon's thin line beside it (a vertical opening keeps a mast, drops what is a pixel or two tall)...
    opened = np.asarray(cv2.morphologyEx(boat.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 1), np.uint8)), bool)
    # ... but a flag's thin tip, up in the sky, is the boat's.
    water_rows = np.flatnonzero(water[:, left : right + 1].any(axis=1))
    sky_rows = np.arange(rows)[:, None] < (int(water_rows[0]) - 2 if water_rows.size else rows)
    beside = cv2.dilate(opened.astype(np.uint8), _kernel(3)).astype(bool)
    boat = opened | hull | (boat & beside & sky_rows)
    boat = np.asarray(cv2.morphologyEx(boat.astype(np.uint8), cv2.MORPH_CLOSE, _kernel(5)), dtype=bool)
    # Its outline at full size: whatever lies within a working pixel or two of it, sky and water alike (a
    # sail's white edge against the sky is the boat's).
    return work.region(boat, colours=_anything, feather=0.004, min_share=0.002)


def _anything(c: _Hsv) -> Binary:
    return np.ones(c.val.shape, dtype=bool)


# -- where vapour rises from -----------------------------------------------------------------------------


def _rim(work: _Work) -> Source | None:
    """A bright elliptical rim, wider than tall, whose outline an ellipse fits closely: a cup seen from above
    or aside. Its centre and width, in picture pixels. The drink inside a rim (a darker ellipse the bright rim
    encloses) is the surest sign of an opening and is preferred to a bright blob's outline."""
    rows, columns = work.shape
    threshold = max(0.6, float(np.percentile(work.val, 80)))
    bright = (work.val >= threshold) & (work.sat <= 0.35)
    bright = _open_close(bright, open_px=1, close_px=3)
    contours, _ = cv2.findContours(bright.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    candidates = [(contour, False) for contour in contours]
    # Dark level ellipses (a drink) inside a pale, brighter ring (the rim).
    for part, _area, _ in _components(work.val < 0.5, min_share=0.005):
        ring = cv2.dilate(part.astype(np.uint8), _kernel(5)).astype(bool) & ~part
        if not ring.any() or float(work.val[ring].mean()) < float(work.val[part].mean()) + 0.3:
            continue
        if float((work.sat[ring] <= 0.35).mean()) < 0.6:
            continue
        found, _ = cv2.findContours(part.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        candidates += [(contour, True) for contour in found]
    best: tuple[float, Source] | None = None
    for contour, opening in candidates:
        fit = _level_ellipse(contour, rows, columns)
        if fit is None:
            continue
        (cx, cy), major, minor, overlap = fit
        score = overlap * major * minor * (OPENING_PREFERENCE if opening else 1.0)
        if best is None or score > best[0]:
            width = (0.9 if opening else 0.6) * major / work.scale
            best = (score, Source(cx / work.scale, cy / work.scale, width, "rim"))
    return None if best is None else best[1]


def _level_ellipse(contour: Any, rows: int, columns: int) -> tuple[tuple[float, float], float, float, float] | None:
    """The ellipse fitted to `contour` (centre, major and minor axes, and how closely it fits: intersection
    over union of the two shapes) when it is a level ellipse, wider than tall, of a plausible size; else None."""
    if len(contour) < 12 or cv2.contourArea(contour) < 0.005 * rows * columns:
        return None
    (cx, cy), (first, second), angle = cv2.fitEllipse(contour)
    major, minor = max(first, second), min(first, second)
    if not (0.08 * columns <= major <= 0.8 * columns and 0.2 <= minor / max(major, 1e-6) <= 1.0):
        return None
    # The major axis lies within 30 degrees of level (cv2's angle turns the first axis from the x axis).
    theta = math.radians(angle if first >= second else angle + 90.0)
    if abs(math.sin(theta)) > 0.5:
        return None
    shape_mask = np.zeros((rows, columns), np.uint8)
    cv2.drawContours(shape_mask, [contour], -1, 1, -1)
    fitted = np.zeros((rows, columns), np.uint8)
    cv2.ellipse(fitted, ((cx, cy), (first, second), angle), 1, -1)
    union = float(np.count_nonzero(shape_mask | fitted))
    overlap = float(np.count_nonzero(shape_mask & fitted)) / max(union, 1.0)
    if overlap < 0.86:  # a square fits its ellipse at about 0.8: window panes and boxes are no rims
        return None
    return (cx, cy), major, minor, overlap


def find_vapour_source(image: RGBFrame, parts: Parts, *, flames: list[Region] | None = None) -> Source:
    """Where steam or smoke rises from: the top of the largest flame (when `flames` are given), a bright
    elliptical rim, the top of a segmented subject without a face, or the lower middle of the frame."""
    height, width = image.shape[:2]
    if flames:
        x0, y0, x1, _ = flames[0].box
        return Source((x0 + x1) / 2.0, float(y0), max(8.0, 0.8 * (x1 - x0)), "flame")
    rim = _rim(_Work.of(image))
    if rim is not None:
        return rim
    # Without a face, a subject segmented from the picture ("...+segment"), not the centre-ellipse guess.
    if parts.face is None and parts.method.endswith("segment"):
        subject = parts.subject > 0.5
        rows = np.flatnonzero(subject.any(axis=1))
        if rows.size and rows[0] > 0.05 * height:
            top = int(rows[0])
            band = subject[top : top + max(2, int(0.04 * height))]
            columns = np.flatnonzero(band.any(axis=0))
            span = np.flatnonzero(subject.any(axis=0))
            return Source(float(columns.mean()), float(top), max(8.0, 0.4 * (span[-1] - span[0] + 1)), "subject")
    return Source(width / 2.0, 0.75 * height, 0.2 * width, "frame")
