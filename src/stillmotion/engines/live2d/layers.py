"""Face layers painted onto the canvas before it is warped: eyelids that close and a mouth that opens.

A warp alone cannot close an eye: within the 0.7x..1.4x stretch limit the eye's own pixels always stay
on screen. So each eye gets its own lid, made from the picture: in every column of the eye, the lash line
(the dark band along the top of the opening) and the lower rim are found once per clip, and a blink moves
the lash line down to the rim with the lid's skin above it stretched down after it, as an upper lid
unfolds when it closes. The eye below the lid's edge stays as it is until the lid has passed over it.
A column whose lash line strays from the smooth curve through its neighbours (a catchlight taken for
skin) takes the curve's, and a photo's lid fades into the picture beyond the eye's ends.
What lies on the skin above the lid (a brow, a glasses frame, a drawing's bangs) stays where it is; a
drawing's lid, of flat colour, is its skin colour.

A photo's mouth opens the same way: the upper lip and teeth stay, the lower lip and the chin under it
move down, and the mouth's dark interior shows in the gap between them. A drawn mouth is a line: it
opens as a dark "D" hanging from the line through its corners, and bends into a smile as a line.

Layers are painted in canvas coordinates before the warp, so head motion and the camera carry them
along. Each frame touches only a small region, restored after the frame is drawn.

Rows and columns are pixel centres: pixel row i covers [i - 0.5, i + 0.5]. A "boundary" is a continuous
row: the pixels above it belong to one part (the lid, the upper lip), those below to the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Patch = npt.NDArray[np.float32]  # (h, w, 3) float32, a small region of the canvas
Columns = npt.NDArray[np.float32]  # (w,) float32, one value per column of a region
Flags = npt.NDArray[np.bool_]  # (w,) one flag per column of a region

# A photo's lid is its skin above the lash line, LID_SOURCE times as tall as the way the lid travels
# (closed, it is at most 1 + 1 / LID_SOURCE times as tall as it was) or up to a brow or a glasses frame
# above it, which stay where they are; but at least LID_SHORTEST travels tall (a frame closer than that
# is drawn into the lid, rather than a sliver of skin stretched further).
LID_SOURCE: Final = 1.3
LID_SHORTEST: Final = 0.25
# How the stretch is spread over the lid: 0 evenly, 1 most of it near the lash line and none at the brow.
LID_EASE: Final = 0.6
# The lash line is searched from this share of the eye box's height above the box down to its middle.
LASH_SEARCH_ABOVE: Final = 0.3
# A photo's lash line is a smooth curve: one that strays further than this share of the eye's height
# from the parabola through it (in a fifth of its columns) was not found, and the eye is left open rather
# than closed by a lid made of whatever lies there (a glasses frame over a misplaced eye box).
LASH_IRREGULAR: Final = 0.15
# A column whose lash line strays further than this share of the eye's height (and LASH_STRAY_PX) from
# the smooth curve through its neighbours was misread (a catchlight in the iris, a glint on glasses
# taken for skin): it takes the curve's value, so that no column of the eye is left out of the lid.
LASH_STRAY: Final = 0.1
LASH_STRAY_PX: Final = 1.5
# A photo's lash line comes down at least this tall: a thinner one, resampled, fades into the skin.
LASH_LEAST_PX: Final = 1.5
# A closed lid's edge lands this far below the lower rim, so that nothing of the eye stays.
LID_LANDING_PX: Final = 1.0
# A photo's lid travels in full over the opening and tapers from its ends to none this share of the eye's
# width (at least LID_TAPER_PX) beyond the last column of its lash line, fading into the picture there:
# towards the eye's corners, as a lid does, rather than ending in a hard column.
LID_TAPER: Final = 0.25
LID_TAPER_PX: Final = 3.0
# A mouth open at 1.0 has a gap this tall, as a fraction of the mouth box (the warp adds to it) ...
MOUTH_GAP_H: Final = 0.36
# ... and at least this share of the face's height: a line-drawn mouth is only as tall as its line.
MOUTH_GAP_FACE_H: Final = 0.035
# A photo's lower lip moves down as a whole over this share of the mouth box's height below the gap; the
# chin under it follows less and less, back at rest MOUTH_REACH_H mouth heights (plus the gap) lower.
MOUTH_HOLD_H: Final = 0.45
MOUTH_REACH_H: Final = 1.0
# A drawn smile at strength 1.0: the mouth's line bends up at its corners by this share of the face's
# width and widens by SMILE_WIDEN (the warp cannot bend a line a few cells long within its stretch limit).
SMILE_LIFT_FACE_W: Final = 0.04
SMILE_WIDEN: Final = 0.18
_LUMA: Final = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class Region:
    """A rectangle of the canvas: rows y0:y1, columns x0:x1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def around(
        cls, box: Box, *, grow_x: float, grow_y: float, offset: tuple[int, int], size: tuple[int, int]
    ) -> Region:
        """`box` (image coordinates) grown by `grow_*` times its size on each side, in canvas coordinates
        (`offset` = the canvas margins (left, top)), clipped to the canvas `size` (width, height)."""
        left, top = offset
        width, height = size
        x0 = int(np.floor(box.x - grow_x * box.w)) + left
        y0 = int(np.floor(box.y - grow_y * box.h)) + top
        x1 = int(np.ceil(box.x + box.w + grow_x * box.w)) + left
        y1 = int(np.ceil(box.y + box.h + grow_y * box.h)) + top
        return cls(max(x0, 0), max(y0, 0), min(x1, width), min(y1, height))

    @property
    def empty(self) -> bool:
        return self.x1 - self.x0 < 3 or self.y1 - self.y0 < 3

    def view(self, canvas: RGBFrame) -> RGBFrame:
        return canvas[self.y0 : self.y1, self.x0 : self.x1]


def _soft_ellipse(shape: tuple[int, int], cx: float, cy: float, rx: float, ry: float, feather_px: float) -> Patch:
    """`(h, w)` float32: 1 inside the ellipse, 0 outside, a `feather_px` wide soft edge."""
    rows, columns = shape
    yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
    radius = np.sqrt(((xx - cx) / max(rx, 0.5)) ** 2 + ((yy - cy) / max(ry, 0.5)) ** 2)
    edge = feather_px / max(min(rx, ry), 0.5)
    return np.asarray(np.clip((1.0 - radius) / edge + 0.5, 0.0, 1.0), dtype=np.float32)


def fill_hole(patch: Patch, known: npt.NDArray[np.float32]) -> Patch:
    """`patch` `(h, w, 3)` with the pixels where `known` `(h, w)` is 0 filled smoothly from the known ones
    around them (push-pull: average down a pyramid of known colours, then blend back up). About 0.1 ms for
    an eye; cv2.inpaint takes ~100 ms for the same region with a useful radius."""
    levels: list[tuple[Patch, npt.NDArray[np.float32]]] = []
    colour_sum = patch * known[..., None]
    weight = known.astype(np.float32)
    while min(weight.shape) > 2:
        levels.append((colour_sum, weight))
        half = (max(1, weight.shape[1] // 2), max(1, weight.shape[0] // 2))
        colour_sum = np.asarray(cv2.resize(colour_sum, half, interpolation=cv2.INTER_AREA), dtype=np.float32)
        weight = np.asarray(cv2.resize(weight, half, interpolation=cv2.INTER_AREA), dtype=np.float32)
    mean = (patch * known[..., None]).sum(axis=(0, 1)) / max(float(known.sum()), 1e-6)
    estimate = np.where(weight[..., None] > 1e-6, colour_sum / np.maximum(weight, 1e-6)[..., None], mean)
    for level_sum, level_weight in reversed(levels):
        coarse = cv2.resize(estimate, (level_weight.shape[1], level_weight.shape[0]), interpolation=cv2.INTER_LINEAR)
        local = level_sum / np.maximum(level_weight, 1e-6)[..., None]
        trust = np.clip(level_weight, 0.0, 1.0)[..., None]
        estimate = trust * local + (1.0 - trust) * coarse
    return np.asarray(np.where(known[..., None] > 0.5, patch, estimate), dtype=np.float32)


def _column_curve(values: Columns, known: npt.NDArray[np.bool_], sigma: float) -> Columns:
    """`values` (w,) with the unknown entries filled from the nearest known ones, then a median over five
    columns (one stray column does not bend the curve) and a Gaussian blur of `sigma` columns."""
    columns = values.size
    if not np.any(known):
        return values.astype(np.float32)
    index = np.arange(columns, dtype=np.float32)
    filled = np.interp(index, index[known], values[known]).astype(np.float32)
    padded = np.pad(filled, 2, mode="edge")
    median = np.median(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1).astype(np.float32)
    if sigma <= 0.0:
        return median
    radius = max(1, int(np.ceil(3.0 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1, dtype=np.float32) / sigma) ** 2)
    kernel /= kernel.sum()
    return np.convolve(np.pad(median, radius, mode="edge"), kernel, mode="valid").astype(np.float32)


def _robust_columns(values: Columns, known: Flags, tolerance: float) -> tuple[Columns, Flags]:
    """A smooth reference through `values[known]` (w,) and the known columns that stray further than
    `tolerance` from it. The reference is a parabola fitted with the columns far from it weighted down,
    plus the median over about a quarter of the columns of what they add to it (an eye's corners bend
    more than a parabola does): a few neighbouring columns that stray together do not move it."""
    columns = values.size
    index = np.flatnonzero(known)
    if index.size < 4:
        return values.astype(np.float32), np.zeros(columns, dtype=bool)
    xs = np.linspace(-1.0, 1.0, columns)
    weight = np.ones(index.size)
    fit = np.zeros(columns)
    for _ in range(4):
        fit = np.asarray(np.polyval(np.polyfit(xs[index], values[index], 2, w=np.sqrt(weight)), xs), np.float64)
        weight = 1.0 / (1.0 + ((values[index] - fit[index]) / tolerance) ** 2)
    added = np.interp(np.arange(columns), index, values[index] - fit[index])
    reach = max(4, round(0.12 * columns))
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(added, reach, mode="edge"), 2 * reach + 1)
    reference = (fit + np.median(windows, axis=1)).astype(np.float32)
    stray = known & (np.abs(values - reference) > tolerance)
    return reference, stray


def _smooth_lash_line(lash_top: Columns, found: npt.NDArray[np.bool_], eye_h: float) -> bool:
    """Whether the lash line found in the columns `found` follows a parabola (LASH_IRREGULAR)."""
    if np.count_nonzero(found) < 4:
        return True  # too little found to judge: the box's ellipse stands in
    xs = np.flatnonzero(found).astype(np.float64)
    fit = np.polyval(np.polyfit(xs, lash_top[found], 2), xs)
    return float(np.percentile(np.abs(lash_top[found] - fit), 80)) <= LASH_IRREGULAR * eye_h


def _smoothstep(values: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    clipped = np.clip(values, 0.0, 1.0)
    return np.asarray(clipped * clipped * (3.0 - 2.0 * clipped), dtype=np.float32)


def _first_run(mask: npt.NDArray[np.bool_], value: bool, start: int) -> int:
    """The index at which the run of `value` starting at `start` in `mask` (1-D) ends."""
    stop = start
    while stop < mask.size and bool(mask[stop]) == value:
        stop += 1
    return stop


def _darkest_colour(pixels: RGBFrame, share: float) -> npt.NDArray[np.float32]:
    """Mean colour of the darkest `share` of `pixels` (N, 3)."""
    flat = pixels.reshape(-1, 3).astype(np.float32)
    luma = flat @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    count = max(1, int(share * luma.size))
    darkest = np.argpartition(luma, count - 1)[:count]
    return np.asarray(flat[darkest].mean(axis=0), dtype=np.float32)


@dataclass(frozen=True)
class _EyeTrace:
    """What one eye's columns hold, as boundaries (region rows; NaN where not found)."""

    lash_top: Columns  # the top of the lash line
    edge: Columns  # the lid's edge under the lash line: where the eye opening starts
    rim: Columns  # the bottom of the opening
    ceiling: Columns  # the bottom of what lies on the lid's skin above the lash line (a brow, a frame, bangs)
    found: npt.NDArray[np.bool_]  # (w,) the columns a lash line was found in
    spans: npt.NDArray[np.bool_]  # (w,) the columns the lid spans
    skin: npt.NDArray[np.float32] | None = None  # (3,) a drawing's skin colour

    def widened(self, left: int, right: int) -> _EyeTrace:
        """The trace with `left` and `right` columns added on either side, where nothing was found."""

        def pad(values: Columns) -> Columns:
            return np.pad(values, (left, right), constant_values=np.nan).astype(np.float32)

        def pad_mask(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
            return np.pad(mask, (left, right), constant_values=False)

        return _EyeTrace(
            pad(self.lash_top),
            pad(self.edge),
            pad(self.rim),
            pad(self.ceiling),
            pad_mask(self.found),
            pad_mask(self.spans),
            self.skin,
        )


def _trace_eye(patch: RGBFrame, box: Box, *, drawn: bool, reach: float) -> _EyeTrace:
    """The lash line, lid edge, rim and the ceiling above the lid (at most `reach` rows over the lash
    line) in each column of `patch`. `box`: the eye in patch coordinates.

    Pixels are sorted into skin and eye. In a photo the eye is dark (lashes, iris, pupil: darker than
    midway from the darkest pixels of the eye to the skin around it) or white (much less colourful than the
    skin); in a drawing, of flat colours, the eye is whatever is not the skin's colour. In each column the
    lash line is where skin last turns into eye above the eye's middle, and the rim where eye turns back
    into skin below it. A drawing's eye white is found that way under a little skin: its lash line is the
    bold dark band just above.
    """
    rows, columns = patch.shape[:2]
    pixels = patch.astype(np.float32)
    luma = np.asarray(pixels @ _LUMA, dtype=np.float32)
    if not drawn:
        luma = np.asarray(cv2.GaussianBlur(luma, (3, 1), 0), dtype=np.float32)  # along the row: less grain
    cx, cy, rx, ry = box.cx, box.cy, 0.5 * box.w, 0.5 * box.h
    xs = np.arange(columns, dtype=np.float32)
    in_box = np.abs(xs - cx) <= rx + 0.5  # the columns of the pixels the box touches
    unknown = np.full(columns, np.nan, dtype=np.float32)
    nothing = _EyeTrace(unknown, unknown, unknown, unknown, np.zeros(columns, dtype=bool), in_box)
    yy = np.arange(rows, dtype=np.float32)[:, None]
    xx = xs[None, :]
    inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
    below = (yy > box.y + box.h + 0.5) & (np.abs(xx - cx) <= rx)
    beside = (np.abs(yy - cy) <= 0.25 * box.h) & (np.abs(xx - cx) > 1.1 * rx)
    ring = below | beside
    if not np.any(ring) or not np.any(inside):
        return nothing
    skin_luma = float(np.median(luma[ring]))
    darkest = float(np.percentile(luma[inside], 5))
    contrast = skin_luma - darkest
    if contrast < 30.0:
        return nothing
    dark = luma < darkest + 0.55 * contrast
    skin: npt.NDArray[np.float32] | None = None
    if drawn:
        skin = np.median(pixels[ring], axis=0).astype(np.float32)
        eye = np.sqrt(((pixels - skin) ** 2).sum(axis=2)) > 40.0
        above_lid = eye  # bangs, a brow: anything drawn on the skin
    else:
        chroma = pixels.max(axis=2) - pixels.min(axis=2)
        # An eye white is grey, in the shade of the lids: much brighter than the skin is a glint (on glasses).
        white = (chroma < 0.6 * float(np.median(chroma[ring]))) & (luma < skin_luma + 40.0)
        eye = dark | white
        above_lid = luma < skin_luma - 0.22 * contrast  # a brow, a glasses frame, hair

    search_top = int(np.clip(np.floor(box.y - LASH_SEARCH_ABOVE * box.h), 2, rows - 1))
    centre = int(np.clip(round(cy), search_top, rows - 1))
    rim_limit = int(np.clip(np.ceil(box.y + 1.2 * box.h), centre + 2, rows))
    skin_gap = max(2, round(0.15 * box.h))
    tallest_lash = max(2, round(0.3 * box.h))
    lash_top, edge, rim, ceiling = unknown.copy(), unknown.copy(), unknown.copy(), unknown.copy()
    measured: list[int] = []  # heights of lash lines that end above an eye white
    straight_over = np.zeros(columns, dtype=bool)  # the lash line is the top of the dark run into the eye
    for x in range(columns):
        # Two rows of skin over the eye: a soft edge's single pixel between two colours is no skin.
        column = eye[search_top - 2 : centre + 1, x]
        starts = np.flatnonzero(~column[:-2] & ~column[1:-1] & column[2:])
        if starts.size == 0:
            continue
        top = search_top + int(starts[-1])
        if dark[top, x] or dark[min(top + 1, rows - 1), x]:  # a lash line (its top may be soft)
            run = _first_run(dark[:, x], True, top + int(not dark[top, x])) - top
            if run < tallest_lash:
                measured.append(run)
            lash_row = top
            straight_over[x] = True
        else:
            lash_row = top
            for row in range(top - 1, max(top - 1 - skin_gap, 0), -1):
                if dark[row, x]:
                    lash_row = row
                    while lash_row > 0 and dark[lash_row - 1, x]:
                        lash_row -= 1
                    break
            edge[x] = top - 0.5
        lash_top[x] = lash_row - 0.5
        # Up from the lash line (past its soft top) through the lid's skin to whatever lies above it.
        row, highest = lash_row - 1, max(int(lash_row - reach), 0)
        while row > lash_row - 3 and row > highest and above_lid[row, x]:
            row -= 1
        while row > highest and not above_lid[row, x]:
            row -= 1
        if row > highest:
            ceiling[x] = row + 0.5
    lash_h = float(np.median(measured)) if len(measured) >= 3 else float(np.clip(0.15 * box.h, 1.0, 4.0))
    edge[straight_over] = lash_top[straight_over] + float(np.clip(lash_h, 1.0, tallest_lash))
    for index in np.flatnonzero(in_box):
        column = eye[centre:rim_limit, index]
        skin_pairs = np.flatnonzero(~column[:-1] & ~column[1:])
        rim[index] = centre + int(skin_pairs[0]) - 0.5 if skin_pairs.size else rim_limit - 0.5

    # The lid spans the box and the lash line's ends beyond it (a drawn arc is wider than the eye white).
    spans = in_box.copy()
    found = ~np.isnan(lash_top)
    if np.any(in_box):
        first, last = int(np.flatnonzero(in_box)[0]), int(np.flatnonzero(in_box)[-1])
        while first > 0 and found[first - 1]:
            first -= 1
            spans[first] = True
        while last < columns - 1 and found[last + 1]:
            last += 1
            spans[last] = True
    return _EyeTrace(lash_top, edge, rim, ceiling, found & spans, spans, skin)


@dataclass(frozen=True)
class Eyelid:
    """One eye's upper lid, made of the picture's own lid. Per column of `region` (region rows, as
    boundaries): where the lid's skin starts on the brow side (`lid_top`), its edge under the lash line
    (`edge`), the lash line's height (`lash`) and how far the edge moves down to close the eye (`travel`).

    Closing by c moves the edge down by c * travel; the lid's skin between `lid_top` and the lash line
    stretches to follow it (a drawing's is its skin colour), the lash line moves as it is, and the eye
    below the edge stays until the lid covers it. Above `lid_top` nothing moves.
    """

    region: Region
    source: RGBFrame  # (h, w, 3) the region as the picture has it
    smooth: RGBFrame  # ... blurred along its rows
    lid_top: Columns
    edge: Columns
    lash: Columns
    travel: Columns
    ease: Columns  # LID_EASE, less where the lid's skin is too short to stretch that unevenly
    blend: Columns  # how much of a photo's lid shows over the picture: 1 over the opening, fading out beyond
    skin: npt.NDArray[np.float32] | None  # (3,) a drawing's skin colour: its lid, instead of the stretched rows
    rows: npt.NDArray[np.float32]  # (h, 1) each row's index
    columns_map: npt.NDArray[np.float32]  # (h, w) each pixel's column: the remap's x

    @classmethod
    def build(cls, canvas: RGBFrame, eye: Box, *, offset: tuple[int, int], drawn: bool) -> Eyelid | None:
        """The lid for `eye`, the opening's box in image coordinates (`offset`: the canvas margins); a
        drawing's box holds its eye white, with a bold lash arc drawn above it."""
        if eye.w < 4.0 or eye.h < 2.0:
            return None
        height, width = canvas.shape[:2]
        above = LID_SOURCE * (eye.h + 2.0) + (LASH_SEARCH_ABOVE + 0.15) * eye.h + 3.0
        grow_x = 0.2 if drawn else 0.12
        search = Region(
            max(int(np.floor(eye.x - grow_x * eye.w)) + offset[0], 0),
            max(int(np.floor(eye.y - above)) + offset[1], 0),
            min(int(np.ceil(eye.x + (1.0 + grow_x) * eye.w)) + 1 + offset[0], width),
            min(int(np.ceil(eye.y + 1.3 * eye.h + 4.0)) + offset[1], height),
        )
        if search.empty:
            return None
        box = Box(eye.x + offset[0] - search.x0, eye.y + offset[1] - search.y0, eye.w, eye.h)
        traced = _trace_eye(search.view(canvas), box, drawn=drawn, reach=LID_SOURCE * (eye.h + 2.0))
        # Room beside the traced columns for the lid's travel to taper to none.
        taper = 1.5 if drawn else max(LID_TAPER_PX, LID_TAPER * eye.w)
        room = int(np.ceil(taper)) + 1
        left, right = min(room, search.x0), min(room, width - search.x1)
        search = Region(search.x0 - left, search.y0, search.x1 + right, search.y1)
        traced = traced.widened(left, right)
        box = Box(box.x + left, box.y, box.w, box.h)
        columns = search.x1 - search.x0
        xs = np.arange(columns, dtype=np.float32)
        # Where nothing was found: the box's ellipse (a pixel wider: its soft edge), a lash line of typical
        # height over it.
        half = 0.5 * box.h * np.sqrt(np.clip(1.0 - ((xs - box.cx) / (0.5 * box.w + 1.0)) ** 2, 0.0, 1.0))
        found, spans = traced.found, traced.spans
        lash_top, edge, ceiling_seen = traced.lash_top, traced.edge, traced.ceiling
        if traced.skin is None and not _smooth_lash_line(lash_top, found & (np.abs(xs - box.cx) <= 0.5 * box.w), box.h):
            return None
        if not np.any(found):
            found = spans
            lash_top = (box.cy - half - float(np.clip(0.15 * box.h, 1.0, 4.0))).astype(np.float32)
            edge = (box.cy - half).astype(np.float32)
        measured = found  # the columns whose lash line's height is known
        if np.any(traced.found):
            # A column whose lash line strays from the curve through its neighbours takes the curve's,
            # and its neighbours' lash height: a catchlight read as skin puts the lash line low in the
            # iris, and the iris above it would be stretched down the lid as a dark streak.
            reference, stray = _robust_columns(lash_top, found, max(LASH_STRAY_PX, LASH_STRAY * box.h))
            lash_top = np.where(stray, reference, lash_top).astype(np.float32)
            measured = found & ~stray if np.any(found & ~stray) else found
            ceiling_seen = np.where(stray, np.nan, ceiling_seen).astype(np.float32)
        sigma = 0.7 if drawn else 1.0
        lash_top = _column_curve(lash_top, found, sigma)
        lash = np.maximum(_column_curve(edge - lash_top, measured, sigma), 0.0 if drawn else LASH_LEAST_PX)
        edge = lash_top + lash
        # The rim: where the eye was seen to end, below the box's ellipse but not far (a shadowed corner
        # is as dark as an eye), and nowhere above the lid's edge.
        rim = np.where(spans & ~np.isnan(traced.rim), traced.rim, box.cy + half)
        rim = np.clip(rim, box.cy + half, box.cy + half + 0.15 * box.h + 1.0).astype(np.float32)
        rim = np.maximum(_column_curve(rim, spans, sigma), edge)

        # Full travel over the opening's columns, easing to none from its ends to a few columns beyond
        # the lid's: the lid blends into the picture, as a lid's edge meets the lower lid at the corners.
        # A drawing's lash arc comes down whole, its ends too.
        lid_columns = np.flatnonzero(spans)
        if lid_columns.size == 0:
            return None
        first, last = float(lid_columns[0]), float(lid_columns[-1])
        start, end = (first, last) if drawn else (max(box.x - 0.5, first), min(box.x + box.w + 0.5, last))
        beyond = np.maximum((start - xs) / (start - first + taper), (xs - end) / (last - end + taper))
        window = 1.0 - _smoothstep(beyond)
        travel = (np.maximum(rim + LID_LANDING_PX - edge, 0.0) * window).astype(np.float32)
        longest = float(travel.max())
        if longest < 0.5:
            return None
        # The lid's skin: LID_SOURCE travels tall, or up to what lies on the skin above it (a brow, a glasses
        # frame, bangs), which stays where it is. A drawing's lid is its flat skin colour, up to what lies
        # above it in each column. A photo's lid is its own skin, stretched: as tall along the whole lash
        # line (columns stretched differently would tear its texture) and at least LID_SHORTEST travels.
        known = ~np.isnan(ceiling_seen)
        if traced.skin is not None:
            ceiling = np.full(columns, -np.inf, dtype=np.float32)
            if np.any(known):  # columns where no lash line was found take their neighbours' ceiling
                ceiling = np.interp(xs, xs[known], ceiling_seen[known]).astype(np.float32)
            windows = np.lib.stride_tricks.sliding_window_view(np.pad(ceiling, 2, mode="edge"), 5)
            lid_top = np.minimum(np.maximum(lash_top - LID_SOURCE * longest, windows.max(axis=1)), lash_top)
        else:
            lid_h = LID_SOURCE * longest
            lifting = known & (travel > 0.5 * longest)
            if np.any(lifting):
                clear = float(np.percentile(lash_top[lifting] - ceiling_seen[lifting], 20))
                lid_h = float(np.clip(clear, LID_SHORTEST * longest, lid_h))
            lid_top = lash_top - lid_h
        lid_top = np.maximum(lid_top, -0.5).astype(np.float32)
        # Uneven, but nowhere stretched more than twice the lid's stretch on average.
        ease = np.clip(0.5 * (lash_top - lid_top) / np.maximum(travel, 1e-3), 0.0, LID_EASE).astype(np.float32)

        # Paint only what moves: from the highest lid top to the lowest landing, the columns that travel.
        moving = np.flatnonzero(travel > 0.0)
        x0, x1 = max(int(moving[0]) - 1, 0), min(int(moving[-1]) + 2, columns)
        y0 = max(int(np.floor(float(lid_top[x0:x1].min()))), 0)
        y1 = min(int(np.ceil(float((edge + travel)[x0:x1].max()))) + 2, search.y1 - search.y0)
        region = Region(search.x0 + x0, search.y0 + y0, search.x0 + x1, search.y0 + y1)
        rows_h, columns_w = y1 - y0, x1 - x0
        source = np.ascontiguousarray(region.view(canvas))
        return cls(
            region=region,
            source=source,
            smooth=np.asarray(cv2.GaussianBlur(source, (0, 0), sigmaX=1.2, sigmaY=0.01), dtype=np.uint8),
            lid_top=np.ascontiguousarray(lid_top[x0:x1] - y0),
            edge=np.ascontiguousarray(edge[x0:x1] - y0),
            lash=np.ascontiguousarray(lash[x0:x1]),
            travel=np.ascontiguousarray(travel[x0:x1]),
            ease=np.ascontiguousarray(ease[x0:x1]),
            blend=np.ascontiguousarray((np.ones_like(window) if drawn else window)[x0:x1]),
            skin=traced.skin,
            rows=np.arange(rows_h, dtype=np.float32)[:, None],
            columns_map=np.ascontiguousarray(
                np.broadcast_to(np.arange(columns_w, dtype=np.float32), (rows_h, columns_w))
            ),
        )

    def paint(self, canvas: RGBFrame, closure: float) -> None:
        """Paint the lid at `closure` (0 open .. 1 closed) into `canvas`."""
        moved = np.float32(closure) * self.travel  # (w,)
        edge = self.edge + moved
        # Rows under the lid's edge are the eye as it is: only the rows down to the edge change.
        rows_h = min(int(np.ceil(float(edge.max()))) + 2, self.source.shape[0])
        rows, source = self.rows[:rows_h], self.source[:rows_h]
        span = np.maximum(edge - self.lash - self.lid_top, 1e-3)  # the lid's skin as it is now tall
        along = np.clip((rows - self.lid_top) / span, 0.0, 1.0)  # (h, w) 0 at the lid's top .. 1 at the lash
        shift = moved * along * (1.0 - self.ease + self.ease * along)
        sample_y = rows - shift
        columns_map = self.columns_map[:rows_h]
        lid = np.asarray(
            cv2.remap(self.source, columns_map, sample_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
            dtype=np.float32,
        )
        if self.skin is None:
            # Skin stretched far turns its grain into streaks down the lid: there, the grain is smoothed
            # along the rows, as a lid's skin is smooth when it is stretched.
            rate = 1.0 - moved * (1.0 - self.ease + 2.0 * self.ease * along) / span  # source rows per row
            streaky = np.clip((1.0 / np.maximum(rate, 0.05) - 1.5) / 1.5, 0.0, 1.0) * ((along > 0.0) & (along < 1.0))
            if np.any(streaky > 0.0):
                soft = cv2.remap(self.smooth, columns_map, sample_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                lid += streaky[..., None] * (np.asarray(soft, dtype=np.float32) - lid)
        else:
            # How much of each pixel the lid's skin covers, between its top and the lash line.
            skin = np.clip(edge - self.lash - rows + 0.5, 0.0, 1.0) * np.clip(rows + 0.5 - self.lid_top, 0.0, 1.0)
            skin *= np.minimum(moved, 1.0)  # a column that stays keeps its own pixels
            lid += skin[..., None] * (self.skin - lid)
        # How much of each pixel the lid covers; towards its ends it fades into the picture along the row,
        # so that what the picture holds beside the lid (a glint on glasses) meets it in no hard column.
        cover = (np.clip(edge - rows + 0.5, 0.0, 1.0) * self.blend)[..., None]
        base = source.astype(np.float32)
        mixed = base + cover * (lid - base)
        self.region.view(canvas)[:rows_h] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def _mouth_colour(pixels: RGBFrame) -> npt.NDArray[np.float32]:
    """The inside of a mouth: mostly shadow, tinted red, darker than anything on the lips."""
    shadow = np.array([50.0, 16.0, 20.0], dtype=np.float32)
    return np.asarray(0.25 * _darkest_colour(pixels, 0.05) + 0.75 * shadow, dtype=np.float32)


def _smooth_curve(values: Columns, weights: Columns, *, bend: float) -> Columns:
    """A parabola through `values` (w,), fitted with `weights` and refitted twice with the columns far
    from it (over `bend` rows) weighted down, plus what the columns add to it within `bend` rows,
    smoothed: a lip line is a smooth curve, a column's darkest row not always on it."""
    xs = np.linspace(-1.0, 1.0, values.size)
    weight = weights.astype(np.float64)
    fit = np.full(values.size, float(np.average(values, weights=weight)) if weight.sum() > 0 else 0.0)
    for _ in range(3):
        if weight.sum() <= 0 or np.count_nonzero(weight) < 3:
            break
        fit = np.polyval(np.polyfit(xs, values, 2, w=np.sqrt(weight)), xs)
        weight = weights / (1.0 + ((values - fit) / max(bend, 1e-3)) ** 2)
    detail = np.clip(values - fit, -bend, bend).astype(np.float32)
    return (fit + _column_curve(detail, np.ones(values.size, dtype=bool), 1.5)).astype(np.float32)


def _trace_lip_line(patch: RGBFrame, box: Box) -> tuple[Columns, float, float]:
    """Per column of `patch`: the boundary under the upper lip, or under the upper teeth where the mouth
    shows them; and the mouth's middle and half-width (columns). `box`: the mouth in patch coordinates, its
    middle near the lip line.

    Closed lips meet in a dark seam: the darkest row near the box's middle. Teeth are brighter and less
    colourful than the skin around the mouth; where they show, the line runs under them. The line is a
    smooth curve through what the columns show, the middle ones trusted most. The mouth spans the columns
    where the line is clearly darker than the rows around it, or the teeth show."""
    rows, columns = patch.shape[:2]
    pixels = patch.astype(np.float32)
    luma = np.asarray(cv2.GaussianBlur(np.asarray(pixels @ _LUMA, dtype=np.float32), (3, 3), 0), dtype=np.float32)
    chroma = pixels.max(axis=2) - pixels.min(axis=2)
    top = int(np.clip(np.floor(box.cy - 0.9 * box.h), 0, rows - 1))
    bottom = int(np.clip(np.ceil(box.cy + 0.55 * box.h), top, rows - 1))
    window = np.arange(top, bottom + 1, dtype=np.float32)[:, None]
    score = luma[top : bottom + 1] + 40.0 * np.abs(window - box.cy) / max(box.h, 1.0)
    line = (top + np.argmin(score, axis=0)).astype(np.float32)
    across = (np.arange(columns, dtype=np.float32) - box.cx) / (0.5 * box.w)
    trust = np.clip(1.0 - across * across, 0.0, 1.0).astype(np.float32)

    yy = np.arange(rows, dtype=np.float32)[:, None]
    xx = np.arange(columns, dtype=np.float32)[None, :]
    skin = ((yy < box.y - 0.15 * box.h) & (np.abs(xx - box.cx) <= 0.4 * box.w)) | (
        (np.abs(yy - box.cy) <= 0.3 * box.h) & (np.abs(xx - box.cx) > 0.55 * box.w)
    )
    teeth_line: Columns | None = None
    if np.any(skin):
        skin_luma = float(np.median(luma[skin]))
        skin_chroma = float(np.median(chroma[skin]))
        teeth = (luma > skin_luma + 0.3 * (255.0 - skin_luma)) & (chroma < 0.75 * skin_chroma)
        teeth &= (yy >= top) & (yy <= bottom) & (np.abs(xx - box.cx) <= 0.42 * box.w)
        per_column = teeth.sum(axis=0)
        shown = per_column >= 2
        if int(per_column.sum()) >= max(8, 0.015 * teeth[top : bottom + 1].size) and np.count_nonzero(shown) >= 3:
            # The upper teeth: the first run of teeth pixels down each column (a glint on the lower lip
            # is no tooth), over gaps of a pixel.
            bridged = teeth | (np.roll(teeth, 1, axis=0) & np.roll(teeth, -1, axis=0))
            first = np.argmax(bridged, axis=0)
            lowest = np.array([_first_run(bridged[:, x], True, int(first[x])) for x in range(columns)], np.float32)
            teeth_line = np.where(shown, lowest + 0.5, np.nan).astype(np.float32)
            line = np.where(shown, teeth_line, line).astype(np.float32)
            trust = np.where(shown, 1.0, 0.3 * trust).astype(np.float32)
    curve = _smooth_curve(line, trust, bend=0.1 * box.h)
    if teeth_line is not None:
        # Under the teeth everywhere: the curve is lowered to below nearly all of them, and no tooth is cut.
        shown = ~np.isnan(teeth_line)
        curve += max(float(np.percentile(teeth_line[shown] - curve[shown], 75)), 0.0)
        lowered = np.where(shown, np.minimum(np.maximum(curve, teeth_line), curve + 0.1 * box.h), curve)
        # A tooth that reaches lower bends the line around it, over a few columns rather than one.
        widest = np.max(np.lib.stride_tricks.sliding_window_view(np.pad(lowered, 1, mode="edge"), 3), axis=1)
        curve = _column_curve(widest.astype(np.float32), np.ones(columns, dtype=bool), 0.8)

    # The corners: out from the middle while the line is darker than what is around it.
    rows_at = np.clip(np.rint(curve).astype(np.intp), 0, rows - 1)
    reach = max(2, round(0.3 * box.h))
    above = luma[np.clip(rows_at - reach, 0, rows - 1), np.arange(columns)]
    below = luma[np.clip(rows_at + reach, 0, rows - 1), np.arange(columns)]
    darker = _column_curve(0.5 * (above + below) - luma[rows_at, np.arange(columns)], np.ones(columns, bool), 2.0)
    middle = int(np.clip(round(box.cx), 0, columns - 1))
    inner = darker[max(middle - round(0.25 * box.w), 0) : middle + round(0.25 * box.w) + 1]
    open_ = darker >= 0.35 * float(inner.max()) if inner.size and float(inner.max()) > 0.0 else darker > -np.inf
    if teeth_line is not None:
        open_ |= ~np.isnan(teeth_line)
    left, right = middle, middle
    while left > 0 and open_[left - 1]:
        left -= 1
    while right < columns - 1 and open_[right + 1]:
        right += 1
    half = float(np.clip(0.5 * (right - left + 1), 0.25 * box.w, 0.5 * box.w))
    centre = float(np.clip(0.5 * (left + right), box.cx - 0.5 * box.w + half, box.cx + 0.5 * box.w - half))
    return curve, centre, half


@dataclass(frozen=True)
class MouthOpening:
    """A photo's mouth that opens: the upper lip and teeth stay where they are, the lower lip and the
    chin under it move down, and the mouth's interior shows in the gap between. Per column of `region`
    (region rows): the boundary under the upper lip or teeth (`line`) and the gap at opening 1.0 (`gap`,
    widest in the middle, none at the corners)."""

    region: Region
    source: RGBFrame  # (h, w, 3) the region as the picture has it
    line: Columns
    gap: Columns
    hold: float  # the lower lip moves as a whole this far under the gap ...
    reach: float  # ... and what is under it less and less, at rest this much further down
    colour: npt.NDArray[np.float32]  # (3,)
    rows: npt.NDArray[np.float32]  # (h, 1) each row's index
    columns_map: npt.NDArray[np.float32]  # (h, w) each pixel's column: the remap's x

    @classmethod
    def build(
        cls, canvas: RGBFrame, mouth: Box, *, offset: tuple[int, int], face: Box | None = None
    ) -> MouthOpening | None:
        gap_px = max(MOUTH_GAP_H * mouth.h, MOUTH_GAP_FACE_H * face.h if face is not None else 0.0)
        hold = MOUTH_HOLD_H * mouth.h
        reach = MOUTH_REACH_H * mouth.h + gap_px
        height, width = canvas.shape[:2]
        search = Region(
            max(int(np.floor(mouth.x - 0.1 * mouth.w)) + offset[0], 0),
            max(int(np.floor(mouth.cy - 1.0 * mouth.h)) + offset[1], 0),
            min(int(np.ceil(mouth.x + 1.1 * mouth.w)) + 1 + offset[0], width),
            min(int(np.ceil(mouth.cy + 0.55 * mouth.h + gap_px + hold + reach)) + 2 + offset[1], height),
        )
        if search.empty:
            return None
        patch = search.view(canvas)
        box = Box(mouth.x + offset[0] - search.x0, mouth.y + offset[1] - search.y0, mouth.w, mouth.h)
        line, centre, half = _trace_lip_line(patch, box)
        across = (np.arange(patch.shape[1], dtype=np.float32) - centre) / half
        gap = (gap_px * np.sqrt(np.clip(1.0 - across * across, 0.0, 1.0))).astype(np.float32)
        opens = np.flatnonzero(gap > 0.0)
        if opens.size == 0:
            return None
        inner = patch[max(int(box.y), 0) : max(int(np.ceil(box.y + box.h)), 1), int(opens[0]) : int(opens[-1]) + 1]
        # Paint only what moves: the columns that open, from the upper lip's edge down.
        x0, x1 = max(int(opens[0]) - 1, 0), min(int(opens[-1]) + 2, patch.shape[1])
        y0 = max(int(np.floor(float(line[x0:x1].min()))) - 1, 0)
        y1 = min(int(np.ceil(float(line[x0:x1].max()) + gap_px + hold + reach)) + 2, patch.shape[0])
        if y1 - y0 < 3:
            return None
        region = Region(search.x0 + x0, search.y0 + y0, search.x0 + x1, search.y0 + y1)
        rows, columns = y1 - y0, x1 - x0
        return cls(
            region=region,
            source=np.ascontiguousarray(region.view(canvas)),
            line=np.ascontiguousarray(line[x0:x1] - y0),
            gap=np.ascontiguousarray(gap[x0:x1]),
            hold=hold,
            reach=reach,
            colour=_mouth_colour(inner if inner.size else patch),
            rows=np.arange(rows, dtype=np.float32)[:, None],
            columns_map=np.ascontiguousarray(np.broadcast_to(np.arange(columns, dtype=np.float32), (rows, columns))),
        )

    def paint(self, canvas: RGBFrame, opening: float) -> None:
        """Paint the mouth at `opening` (0 closed .. 1 open) into `canvas`."""
        source, rows, line = self.source, self.rows, self.line
        gap = np.float32(opening) * self.gap  # (w,)
        # Rows from the lip line down show the lower lip moved down by the gap, then less and less.
        follow = 1.0 - _smoothstep((rows - line - gap - self.hold) / self.reach)
        shift = np.where(rows >= line - 1.0, gap * follow, 0.0)
        moved = cv2.remap(source, self.columns_map, rows - shift, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # Around the gap, each pixel's shares of the upper lip (as it is), the gap and the moved lower lip.
        top = max(int(np.floor(float(line.min()))) - 1, 0)
        bottom = min(int(np.ceil(float((line + gap).max()))) + 2, source.shape[0])
        band, edge, opened = rows[top:bottom], line, line + gap
        upper_share = np.clip(edge - band + 0.5, 0.0, 1.0)
        gap_share = np.clip(np.minimum(band + 0.5, opened) - np.maximum(band - 0.5, edge), 0.0, 1.0)
        lower_share = np.clip(1.0 - upper_share - gap_share, 0.0, 1.0)
        # The interior: in the upper lip's shadow at the top, a little lighter further in.
        depth = np.clip((band - edge) / np.maximum(gap, 1.0), 0.0, 1.0)
        interior = self.colour * (0.75 + 0.4 * depth)[..., None]
        mixed = (
            upper_share[..., None] * source[top:bottom].astype(np.float32)
            + gap_share[..., None] * interior
            + lower_share[..., None] * moved[top:bottom].astype(np.float32)
        )
        moved[top:bottom] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
        self.region.view(canvas)[:] = moved


@dataclass(frozen=True)
class MouthInterior:
    """A drawn mouth that opens. A line has no lips to part: the mouth's dark is painted as a "D" hanging
    from the line through its corners, down past the drawn line, and the jaw's warp stretches it further."""

    region: Region
    centre: tuple[float, float]  # region coordinates: the middle of the corners' line
    half_width: float
    depth: float  # how far the "D" reaches below the corners' line at opening 1.0
    colour: npt.NDArray[np.float32]  # (3,)

    @classmethod
    def build(
        cls, canvas: RGBFrame, mouth: Box, *, offset: tuple[int, int], face: Box | None = None
    ) -> MouthInterior | None:
        size = (canvas.shape[1], canvas.shape[0])
        gap = max(MOUTH_GAP_H * mouth.h, MOUTH_GAP_FACE_H * face.h if face is not None else 0.0)
        # From the corners' line down through the drawn line and a gap's height beyond it.
        depth = 0.85 * mouth.h + gap
        region = Region.around(
            mouth, grow_x=0.2, grow_y=max(0.6, (depth + 3.0) / max(mouth.h, 1.0)), offset=offset, size=size
        )
        if region.empty:
            return None
        centre = (mouth.cx + offset[0] - region.x0, mouth.y + 0.15 * mouth.h + offset[1] - region.y0)
        return cls(region, centre, 0.42 * mouth.w, depth, _mouth_colour(region.view(canvas)))

    def paint(self, canvas: RGBFrame, opening: float) -> None:
        """Paint the "D" at `opening` (0 closed .. 1 open) into `canvas`, over what is there."""
        view = self.region.view(canvas)
        base = view.astype(np.float32)
        rows, columns = base.shape[:2]
        # Barely parted, the "D" would be a faint seam along the corners' line: it shows once it opens.
        presence = float(np.clip((opening - 0.1) / 0.2, 0.0, 1.0))
        cx, cy = self.centre
        width = self.half_width * (0.75 + 0.25 * opening)
        alpha = 0.92 * presence * _soft_ellipse((rows, columns), cx, cy, width, max(self.depth * opening, 0.3), 1.2)
        alpha = alpha * np.clip(np.arange(rows, dtype=np.float32)[:, None] - cy + 0.5, 0.0, 1.0)
        mixed = base + alpha[..., None] * (self.colour - base)
        view[:] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class MouthCurve:
    """A drawn mouth's line, lifted off the skin so that it can be redrawn bent into a smile: corners up
    and out, the middle where it was, the line's own thickness and colour kept."""

    region: Region
    erased: Patch  # (h, w, 3) the region with the line painted over in skin colour
    line: npt.NDArray[np.float32]  # (h, w) how much line colour each pixel holds, 0..1
    colour: npt.NDArray[np.float32]  # (3,)
    centre_x: float  # region coordinates
    half_width: float  # half the line's length
    lift_px: float  # how far the corners rise at strength 1.0

    @classmethod
    def build(cls, canvas: RGBFrame, mouth: Box, face: Box, *, offset: tuple[int, int]) -> MouthCurve | None:
        lift = SMILE_LIFT_FACE_W * face.w
        size = (canvas.shape[1], canvas.shape[0])
        # Room for the corners to rise (at up to 1.43 strength) and spread.
        grow_y = (1.5 * lift + 4.0) / max(mouth.h, 1.0)
        region = Region.around(mouth, grow_x=0.5, grow_y=grow_y, offset=offset, size=size)
        if region.empty:
            return None
        patch = region.view(canvas).astype(np.float32)  # (h, w, 3)
        rows, columns = patch.shape[:2]
        yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
        box_x0, box_y0 = mouth.x + offset[0] - region.x0, mouth.y + offset[1] - region.y0
        near = (
            (xx >= box_x0 - 0.1 * mouth.w)
            & (xx <= box_x0 + 1.1 * mouth.w)
            & (yy >= box_y0 - 0.3 * mouth.h)
            & (yy <= box_y0 + 1.3 * mouth.h)
        )
        if not np.any(~near):
            return None
        skin = np.median(patch[~near], axis=0).astype(np.float32)
        darker = float(skin @ _LUMA) - patch @ _LUMA  # (h, w) levels darker than the skin
        contrast = float(np.percentile(darker[near], 99)) if np.any(near) else 0.0
        if contrast < 20.0:
            return None  # no line to bend
        line = np.where(near, np.clip(darker / contrast, 0.0, 1.0), 0.0).astype(np.float32)
        inked = line > 0.5
        if not np.any(inked):
            return None
        colour = patch[line > 0.8].mean(axis=0) if np.any(line > 0.8) else patch[inked].mean(axis=0)
        # Unmix: a pixel is skin + coverage * (colour - skin); take the line out, leave the skin.
        erased = patch - line[..., None] * (colour - skin)
        ink_columns = xx[inked]
        return cls(
            region=region,
            erased=np.asarray(np.clip(erased, 0.0, 255.0), dtype=np.float32),
            line=line,
            colour=np.asarray(colour, dtype=np.float32),
            centre_x=0.5 * float(ink_columns.min() + ink_columns.max()),
            half_width=max(0.5 * float(ink_columns.max() - ink_columns.min()), 2.0),
            lift_px=lift,
        )

    def paint(self, canvas: RGBFrame, strength: float) -> None:
        """Paint the line bent at `strength` (0 as drawn .. 1 a natural smile) into `canvas`."""
        rows, columns = self.line.shape
        widen = 1.0 + SMILE_WIDEN * strength
        xs = np.arange(columns, dtype=np.float32)
        source_x = self.centre_x + (xs - self.centre_x) / widen  # (w,)
        # The bend grows with the square of the distance from the middle: corners rise, the middle stays.
        along = np.clip((source_x - self.centre_x) / self.half_width, -1.2, 1.2)
        source_y_shift = strength * self.lift_px * along * along  # (w,)
        map_x = np.broadcast_to(source_x[None, :], (rows, columns)).astype(np.float32)
        map_y = (np.arange(rows, dtype=np.float32)[:, None] + source_y_shift[None, :]).astype(np.float32)
        bent = cv2.remap(self.line, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        alpha = np.asarray(bent, dtype=np.float32)[..., None]
        mixed = self.erased + alpha * (self.colour - self.erased)
        self.region.view(canvas)[:] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


class FaceLayers:
    """The eyelids and mouth of one clip, painted per frame into a working copy of the canvas."""

    def __init__(
        self,
        canvas: RGBFrame,
        *,
        offset: tuple[int, int],
        eyes: dict[str, Box],
        mouth: Box | None,
        drawn: bool,
        face: Box | None = None,
        smile_mouth: Box | None = None,
    ) -> None:
        """`mouth`: a mouth that opens; `smile_mouth`: a drawn mouth whose line bends into a smile (needs
        `face`, which also sets the least opening of a line-drawn mouth)."""
        self._original = canvas
        built = {side: Eyelid.build(canvas, box, offset=offset, drawn=drawn) for side, box in eyes.items()}
        self.eyelids = {side: lid for side, lid in built.items() if lid is not None}
        if len(built) > 1 and len(self.eyelids) < len(built):
            # Eyes asked to close together close together or not at all: one lid alone is a wink.
            self.eyelids = {}
        self.mouth: MouthInterior | MouthOpening | None = None
        if mouth is not None and drawn:
            self.mouth = MouthInterior.build(canvas, mouth, offset=offset, face=face)
        elif mouth is not None:
            self.mouth = MouthOpening.build(canvas, mouth, offset=offset, face=face)
        self.smile = (
            MouthCurve.build(canvas, smile_mouth, face, offset=offset)
            if smile_mouth is not None and face is not None
            else None
        )
        self._working = canvas.copy()
        self._dirty: list[Region] = []

    def canvas_for(self, lids: Mapping[str, float], mouth_open: float, smile: float = 0.0) -> RGBFrame:
        """The canvas with the layers at these strengths; regions painted for the previous frame are
        restored first. The result is reused by the next call."""
        for region in self._dirty:
            region.view(self._working)[:] = region.view(self._original)
        self._dirty.clear()
        # Each layer paints over what is already there, so overlapping regions (a small face) compose:
        # the bent line first, an opening over it.
        if self.smile is not None and smile > 0.0:
            self.smile.paint(self._working, smile)
            self._dirty.append(self.smile.region)
        if self.mouth is not None and mouth_open > 0.0:
            self.mouth.paint(self._working, mouth_open)
            self._dirty.append(self.mouth.region)
        for side, lid in self.eyelids.items():
            closure = lids.get(side, 0.0)
            if closure > 0.0:
                lid.paint(self._working, min(closure, 1.0))
                self._dirty.append(lid.region)
        return self._working
