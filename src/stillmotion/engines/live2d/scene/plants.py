"""Plants swaying: leaves and grass pushed sideways by the wind, more the farther from where they grow.

The green, textured region (`regions.find_foliage`) is a layer over the background (`_layered`: what its rim
hides, as far as a sway reaches, is painted in from around it), so that a crown's outline moves against a still
sky or mountain. Each of its pixels is displaced sideways by an amount that grows from nothing at the plants'
foot (the lowest pixel of each upright run of green: a crown, a bush) to their tips; a meadow running down to
the picture's bottom edge sways all over, its nearer blades the most. The sway is a gust travelling across the
frame (the wind's direction when the words give one, leaning that way as well) plus a faster flutter whose phase
differs from clump to clump. Laid on the background plate; fades in from nothing.

The trees alone (`kind="trees"`) are what stands above where the ground's plants begin (`ground_tops`), rooted
there; the ground's plants alone (`kind="grass"`) the rest, fading in below that line so that a still crown and
the grass swaying under it do not tear apart.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.scene.flow import (
    Floats,
    Patch,
    RGBFrame,
    SceneTime,
    fixed_maps,
    grid_of,
    noise,
    remap,
    weights8,
)
from stillmotion.engines.live2d.scene.regions import Region

SWAY_SHARE: Final = 0.009  # sway at the tips at amplitude 0.7, as a share of the short side
# The ground's plants (a meadow) reach the picture's bottom rows (this share of its height) in at least this share
# of the columns; elsewhere there is no ground of plants, only plants standing (pines on a shore).
GROUND_ROWS: Final = 0.1
GROUND_COLUMNS: Final = 0.3
# Where the plants begin, column by column, is the ground's top unless it is higher than most (this percentile of
# the columns) by more than GROUND_CROWN of the short side: there a crown stands above the ground.
GROUND_PERCENTILE: Final = 60
GROUND_CROWN: Final = 0.05
# The ground's plants fade in below that line over this share of the short side: where a crown stands on the
# meadow, the still crown and the swaying grass below it do not tear apart.
GROUND_FADE: Final = 0.04
# Fewer pixels than this share of the plants' box left to sway: the split failed, all of them sway.
LEAST_KIND_SHARE: Final = 0.02

# A crown swayed alone is rooted where the ground begins, most of it well below its top; the top of a tree sways
# further than a blade of grass does (a longer lever), by this much.
TREE_SWAY_GAIN: Final = 1.5

# The plants are a layer over a still background, whose hidden rim (this far inside their outline beyond the sway's
# reach) is painted in; their colour is unmixed from it down to this cover.
LAYER_RING_PX: Final = 2
LEAST_COVER: Final = 0.05

PlantKind = Literal["all", "trees", "grass"]


class Sway:
    front = False

    def __init__(
        self,
        plate: RGBFrame,
        region: Region,
        time: SceneTime,
        rng: np.random.Generator,
        *,
        direction: str | None,
        amplitude: float,
        kind: PlantKind = "all",
    ) -> None:
        height, width = plate.shape[:2]
        short = min(width, height)
        sway = SWAY_SHARE * short * amplitude / 0.7
        band = math.ceil(2.5 * sway) + 2
        rx0, ry0, rx1, ry1 = region.box
        x0, y0, x1, y1 = max(0, rx0 - band), max(0, ry0 - band), min(width, rx1 + band), min(height, ry1 + band)
        self.box = (x0, y0, x1, y1)
        self.time = time
        box_w, box_h = x1 - x0, y1 - y0
        green = np.zeros((box_h, box_w), np.float32)
        green[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0] = region.alpha > 0.0
        self.kind, rise = _kind_rise(green > 0.0, kind, short=short, on_bottom_edge=y1 >= height)
        moving = np.flatnonzero(rise.any(axis=1))
        self.drawn_box = (rx0, max(ry0, y0 + int(moving[0])), rx1, min(ry1, y0 + int(moving[-1]) + 1))
        # Spread into the band around, so that a crown's outline moves against the sky behind it.
        rise = np.asarray(cv2.dilate(rise, np.ones((3, 3), np.uint8), iterations=band // 2 + 1), np.float32)
        grown = cv2.dilate(green, np.ones((3, 3), np.uint8), iterations=band // 2 + 1)
        near = cv2.GaussianBlur(grown, (0, 0), band / 2)
        self.weight = np.asarray(np.clip(near, 0.0, 1.0) * rise * sway, np.float32)  # px at full sway
        self.alpha = np.asarray(np.clip(near * 1.5, 0.0, 1.0), np.float32)
        self.alpha8 = weights8(self.alpha)
        xs, ys = grid_of(box_w, box_h)
        self.base = (xs, ys)
        self.source = np.ascontiguousarray(plate[y0:y1, x0:x1])
        self.back, self.fore, self.cover, self.under = _layered(self.source, green > 0.0, reach=band + LAYER_RING_PX)
        sign = {"left": -1.0, "right": 1.0}.get(direction or "", 0.0)
        self.lean = 0.5 * sign
        gust_k = 2.0 * math.pi / (0.8 * width) * (sign or 1.0)
        clumps = noise((box_h, box_w), rng, cell_px=0.05 * short, octaves=2) * 1.8
        self.terms: list[tuple[Floats, Floats, float, float]] = []
        for psi, hz, share in ((-gust_k * (xs + x0), 0.35, 0.7), (clumps, 1.1, 0.35)):
            self.terms.append(
                (np.asarray(np.sin(psi), np.float32), np.asarray(np.cos(psi), np.float32), time.frequency(hz), share)
            )

    def patches(self, index: int) -> list[Patch]:
        strength = float(self.time.strength[index])
        if strength <= 0.0:
            return []
        t = float(self.time.flow[index])
        shift = np.full_like(self.weight, self.lean)
        for sin_psi, cos_psi, hz, share in self.terms:
            angle = 2.0 * math.pi * hz * t
            shift = np.asarray(cv2.scaleAdd(sin_psi, share * math.cos(angle), shift), np.float32)
            shift = np.asarray(cv2.scaleAdd(cos_psi, share * math.sin(angle), shift), np.float32)
        dx = cv2.multiply(shift, self.weight, scale=strength)
        maps = fixed_maps(cv2.subtract(self.base[0], dx), self.base[1])
        # The plants moved over what lies behind them, which stays: a crown sways against a still mountain.
        fore, cover = remap(self.fore, maps), remap(self.cover, maps)
        colour = cv2.add(self.under, cv2.multiply(cv2.subtract(fore, self.back), cv2.merge([cover, cover, cover])))
        return [Patch(self.box, np.clip(colour, 0, 255).astype(np.uint8), self.alpha, alpha8=self.alpha8)]


def _layered(source: RGBFrame, plants: npt.NDArray[np.bool_], *, reach: int) -> tuple[Floats, Floats, Floats, Floats]:
    """`source` as `plants` over a background, float32: (background, the plants' own colour, their cover, and what
    lies under them). The background under the plants' rim (within `reach` px of their outline, all a sway can
    uncover) is painted in from what lies around them; the plants' colour is unmixed from it where their cover
    is partial. `background + cover * (colour - background)` drawn over what lies under them is `source` again,
    exactly: where unmixing clips (a partial cover over a very different background), what is left over is kept
    in what lies under them."""
    # The plants' outline is as crisp as the picture draws it: their mask barely softened, not a region's feather.
    cover = np.asarray(cv2.GaussianBlur(plants.astype(np.float32), (0, 0), 0.6), np.float32)
    bare = (cover <= 0.0).astype(np.uint8)
    rim = (cover > 0.0) & (cv2.dilate(bare, np.ones((3, 3), np.uint8), iterations=reach) > 0)
    picture = np.asarray(source, np.float32)
    back = picture
    if rim.any() and bare.any():
        back = np.asarray(cv2.inpaint(source, rim.astype(np.uint8), 3, cv2.INPAINT_TELEA), np.float32)
    cover3 = cv2.merge([cover, cover, cover])
    fore = np.asarray(np.clip(back + (picture - back) / np.maximum(cover3, LEAST_COVER), 0.0, 255.0), np.float32)
    rest = cv2.add(back, cv2.multiply(cv2.subtract(fore, back), cover3))
    under = np.asarray(cv2.add(back, cv2.subtract(picture, rest)), np.float32)
    return back, fore, cover, under


def ground_tops(green: npt.NDArray[np.bool_], *, short: int) -> npt.NDArray[np.int64] | None:
    """Column by column, the row where the ground's plants begin (the picture's height where a column has none);
    None when the plants do not cover the ground (too few columns of them in the bottom rows)."""
    height, width = green.shape
    bottom = green[height - max(1, round(GROUND_ROWS * height)) :].any(axis=0)
    has = green.any(axis=0)
    if np.count_nonzero(bottom) < GROUND_COLUMNS * width:
        return None
    top = np.argmax(green, axis=0)
    usual = float(np.percentile(top[has], GROUND_PERCENTILE))
    tops = np.where(top < usual - GROUND_CROWN * short, round(usual), top)
    return np.where(has, tops, height).astype(np.int64)


def _kind_rise(
    green: npt.NDArray[np.bool_], kind: PlantKind, *, short: int, on_bottom_edge: bool
) -> tuple[PlantKind, Floats]:
    """The kind of plant drawn and how far each pixel of it sways (`_rise`): all of them; the trees (what stands
    above the ground line, rooted on it); or the ground's plants (below it, fading in from it). A kind the picture
    does not tell apart falls back to all the plants."""
    tops = ground_tops(green, short=short) if on_bottom_edge else None
    if kind == "all" or (kind == "grass" and tops is None):
        return "all", _rise(green, short=short, on_bottom_edge=on_bottom_edge)
    rows = np.arange(green.shape[0])[:, None]
    if kind == "trees":
        # Cut where the ground begins, a crown standing on the meadow is rooted there.
        part = green if tops is None else green & (rows < tops[None, :])
        rise = _rise(part, short=short, on_bottom_edge=False) * TREE_SWAY_GAIN
    else:
        assert tops is not None
        part = green & (rows >= tops[None, :])
        fade = np.clip((rows - tops[None, :]) / max(1.0, GROUND_FADE * short), 0.0, 1.0).astype(np.float32)
        rise = _rise(part, short=short, on_bottom_edge=True) * fade
    if np.count_nonzero(rise > 0.05) < LEAST_KIND_SHARE * green.size:
        return "all", _rise(green, short=short, on_bottom_edge=on_bottom_edge)
    return kind, np.asarray(rise, np.float32)


def _closed(green: npt.NDArray[np.bool_], short: int) -> npt.NDArray[np.bool_]:
    """`green` with gaps of a few pixels (a dark stroke in the grass) closed, up and down."""
    kernel = np.ones((max(3, round(0.02 * short)), 1), np.uint8)
    return cv2.morphologyEx(green.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)


def _rise(green: npt.NDArray[np.bool_], *, short: int, on_bottom_edge: bool) -> Floats:
    """`(h, w)` 0..1: how far each green pixel sways, by the upright run of green it is in (a crown, a bush, a
    meadow). A run standing on something (a crown on its trunk, a bush on a path) is rooted at its lowest pixel and
    sways more towards its top. A run down to the picture's bottom edge (the box's, when `on_bottom_edge`) is ground
    seen in perspective, each blade rooted where it stands: it all sways, the nearer (lower) the more."""
    height = green.shape[0]
    rows = np.arange(height, dtype=np.int32)[:, None]
    closed = _closed(green, short)  # gaps of a few pixels do not split a run
    above = np.maximum.accumulate(np.where(closed, -1, rows), axis=0)  # the last gap at or above
    below = np.minimum.accumulate(np.where(closed, height, rows)[::-1], axis=0)[::-1]  # the first gap at or below
    top, foot = (above + 1).astype(np.float32), (below - 1).astype(np.float32)
    here = rows.astype(np.float32)
    tall = np.maximum(foot - top, 0.15 * short)
    rooted = np.clip((foot - here) / tall, 0.0, 1.0) ** 1.3
    ground = 0.6 + 0.4 * np.clip((here - top) / np.maximum(foot - top, 1.0), 0.0, 1.0)
    meadow = (below >= height) & on_bottom_edge
    return np.asarray(np.where(closed, np.where(meadow, ground, rooted), 0.0), np.float32)
