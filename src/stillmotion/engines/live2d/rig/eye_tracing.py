"""Reading an eye from the picture, once per clip, column by column: where the lash line, the opening
and its rim lie in each column of the eye, for the lids of `eyelids.py` to move. A photo's eye
(`_trace_eye` -> `_EyeTrace`) and a drawing's (`_trace_drawn_eye` -> `_DrawnTrace`).

A photo's eye is sorted into skin and eye (dark: lashes, iris, pupil; white: much less colourful than the
skin): the lash line is where skin last turns into eye above the eye's middle, the rim where eye turns
back into skin below it, and the ceiling whatever lies on the lid's skin above the lash line (a brow, a
glasses frame).

A drawing is flat colour: its lash line, the bold line drawn over the eye (often an arc wider than the eye
white, with a thin gap of skin under it), is followed as a stroke from the eye's middle outwards, across
gaps and beyond the opening's ends, not up into bangs that touch it; its soft edges are measured to a
fraction of a pixel. The opening is the eye under it (white, iris, pupil), its rim where it ends below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box
from stillmotion.engines.live2d.rig.tracing import _LUMA, _first_run

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Columns = npt.NDArray[np.float32]  # (w,) float32, one value per column of a region

# The lash line is searched from this share of the eye box's height above the box down to its middle.
LASH_SEARCH_ABOVE: Final = 0.3

# A drawing's eye is whatever is further than this from its skin's colour (RGB distance); what is closer
# than DRAWN_SKIN_DISTANCE is its skin (a soft edge's pixel lies between).
DRAWN_EYE_DISTANCE: Final = 40.0
DRAWN_SKIN_DISTANCE: Final = 20.0
# Its lash line is darker than this share of the way from the darkest pixels around the eye to the skin.
DRAWN_LASH_DARK: Final = 0.3
# The lash line lies over the opening, over at most this share of the opening's height of skin, and in a
# column it is at most DRAWN_LASH_TALLEST of it tall (taller, it ran into bangs or a brow).
DRAWN_LASH_GAP: Final = 0.2
DRAWN_LASH_TALLEST: Final = 0.4
# The line is followed beyond the opening's ends at most this share of the opening's width (an arc's ends),
# and across gaps (something drawn over it) of at most DRAWN_LASH_BRIDGE of it.
DRAWN_LASH_BEYOND: Final = 0.4
DRAWN_LASH_BRIDGE: Final = 0.25
# A drawn line's soft edge is at most this many pixels tall in a column.
DRAWN_SOFT_EDGE_PX: Final = 2


@dataclass(frozen=True)
class _EyeTrace:
    """What one eye's columns hold, as boundaries (region rows; NaN where not found)."""

    lash_top: Columns  # the top of the lash line
    edge: Columns  # the lid's edge under the lash line: where the eye opening starts
    rim: Columns  # the bottom of the opening
    ceiling: Columns  # the bottom of what lies on the lid's skin above the lash line (a brow, a frame, bangs)
    found: npt.NDArray[np.bool_]  # (w,) the columns a lash line was found in
    spans: npt.NDArray[np.bool_]  # (w,) the columns the lid spans

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
        )


def _trace_eye(patch: RGBFrame, box: Box, *, reach: float) -> _EyeTrace:
    """A photo's lash line, lid edge, rim and the ceiling above the lid (at most `reach` rows over the
    lash line) in each column of `patch`. `box`: the eye in patch coordinates.

    Pixels are sorted into skin and eye: the eye is dark (lashes, iris, pupil: darker than midway from the
    darkest pixels of the eye to the skin around it) or white (much less colourful than the skin). In each
    column the lash line is where skin last turns into eye above the eye's middle, and the rim where eye
    turns back into skin below it.
    """
    rows, columns = patch.shape[:2]
    pixels = patch.astype(np.float32)
    luma = np.asarray(pixels @ _LUMA, dtype=np.float32)
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

    # The lid spans the box and the lash line's ends beyond it.
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
    return _EyeTrace(lash_top, edge, rim, ceiling, found & spans, spans)


@dataclass(frozen=True)
class _DrawnTrace:
    """What a drawn eye's columns hold, as boundaries (region rows; NaN where not there)."""

    lash_top: Columns  # the drawn lash line's top: where the arc is, over the opening and beyond its ends
    lash_bottom: Columns  # ... and its bottom (to a fraction of a pixel: its soft edges' share of its colour)
    opening_top: Columns  # the top of the opening (eye white, iris), in the opening's columns
    rim: Columns  # the bottom of the opening: the eye's last pixel (its soft edge included)
    lid_top: Columns  # where the lid's skin may start: over the line, and its soft pixels, a skin pixel higher
    skin: npt.NDArray[np.float32]  # (3,) the skin's colour


def _run_around(mask: npt.NDArray[np.bool_], low: int, high: int) -> tuple[int, int] | None:
    """The rows (first, last) of the runs of `mask` (one column) that touch rows `low..high`, or None."""
    rows = mask.size
    hits = np.flatnonzero(mask[max(low, 0) : min(high, rows - 1) + 1])
    if hits.size == 0:
        return None
    first, last = max(low, 0) + int(hits[0]), max(low, 0) + int(hits[-1])
    while first > 0 and mask[first - 1]:
        first -= 1
    while last < rows - 1 and mask[last + 1]:
        last += 1
    return first, last


def _trace_drawn_eye(patch: RGBFrame, box: Box) -> _DrawnTrace | None:
    """A drawn eye's lash line, opening and rim in each column of `patch`; `box`: the eye in patch
    coordinates, which need not fit it (a detector's box may be off by a quarter of the eye).

    A drawing is flat colour: the eye is whatever is not the skin's colour, its lash line the darkest of
    it. The lash line is the dark band the drawing puts over the eye, touching it or over a little skin:
    found over the middle of the eye's lighter colours (white, iris) where they overlap the box most, it
    is followed column by column as a stroke, along the eye and beyond its ends (an arc is often wider
    than the eye white), and not up into bangs that touch it. The opening is then the eye under the lash
    line (white, iris, pupil, however thin); its rim, in each column, where it ends below.
    """
    rows, columns = patch.shape[:2]
    pixels = patch.astype(np.float32)
    luma = np.asarray(pixels @ _LUMA, dtype=np.float32)
    cx, cy, rx, ry = box.cx, box.cy, 0.5 * box.w, 0.5 * box.h
    yy = np.arange(rows, dtype=np.float32)[:, None]
    xx = np.arange(columns, dtype=np.float32)[None, :]
    radius = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    inside = radius <= 1.0
    below = (yy > box.y + box.h + 0.5) & (np.abs(xx - cx) <= rx)
    beside = (np.abs(yy - cy) <= 0.25 * box.h) & (np.abs(xx - cx) > 1.1 * rx)
    ring = below | beside
    if not np.any(ring) or not np.any(inside):
        return None
    skin = np.median(pixels[ring], axis=0).astype(np.float32)
    distance = np.sqrt(((pixels - skin) ** 2).sum(axis=2))
    eye = distance > DRAWN_EYE_DISTANCE
    drawn_on = distance > DRAWN_SKIN_DISTANCE
    darkest = float(np.percentile(luma[radius <= 1.7], 5))
    contrast = float(skin @ _LUMA) - darkest
    if contrast < 30.0:
        return None
    lash_dark = luma < darkest + DRAWN_LASH_DARK * contrast

    # Where the eye is: its lighter colours' largest patch over the box, thin parts (a soft edge) left out.
    light = (eye & ~lash_dark).astype(np.uint8)
    opened = cv2.morphologyEx(light, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    count, labels = cv2.connectedComponents(opened, connectivity=4)
    if count < 2:
        return None
    overlap = np.bincount(labels[inside], minlength=count)
    overlap[0] = 0
    best = int(np.argmax(overlap))
    if overlap[best] < 0.1 * np.count_nonzero(inside):
        return None
    core = labels == best
    core_rows = np.flatnonzero(core.any(axis=1))
    core_columns = np.flatnonzero(core.any(axis=0))
    first, last = int(core_columns[0]), int(core_columns[-1])
    tall = max(int(core_rows[-1]) - int(core_rows[0]) + 1, round(box.h))
    gap = max(2, round(DRAWN_LASH_GAP * tall))
    tallest = max(4, round(DRAWN_LASH_TALLEST * tall))

    # The lash line over the eye's middle: the first dark band over the top of its lighter colours, over
    # at most `gap` rows of skin; its top no higher than its thickness where it stands free (bangs as dark
    # as the line may touch it).
    def band_over(x: int) -> tuple[int, int] | None:
        held = np.flatnonzero(core[:, x])
        if held.size == 0:
            return None
        start = int(held[0]) - 1
        while start > 0 and light[start, x]:  # the thin top of the lighter colours
            start -= 1
        for row in range(start, max(start - gap - 1, -1), -1):
            if lash_dark[row, x]:
                run = _run_around(lash_dark[:, x], row, row)
                return None if run is None else (run[0], row)
        return None

    middle = 0.5 * (first + last)
    seeds = [x for x in range(first, last + 1) if abs(x - middle) <= max(1.0, (last - first) / 6.0)]
    found = [(x, band) for x in seeds if (band := band_over(x)) is not None]
    free = [bottom - top + 1 for _, (top, bottom) in found if bottom - top + 1 <= tallest // 2]
    thickness = int(np.median(free)) if free else max(2, round(0.06 * tall))
    lash = np.full((columns, 2), -1, dtype=np.int64)  # (first, last) pixel rows of the line in each column
    if found:
        start_x, (top, bottom) = min(found, key=lambda item: abs(item[0] - middle))
        start_band = (max(top, bottom - thickness), bottom)
        lash[start_x] = start_band
        beyond = max(2, round(DRAWN_LASH_BEYOND * (last - first + 1)))
        bridge = max(2, round(DRAWN_LASH_BRIDGE * (last - first + 1)))
        for step in (1, -1):
            x, (top, bottom), soft, slope, drift = start_x + step, start_band, 0, 0.0, 0
            while 0 <= x < columns and first - beyond <= x <= last + beyond:
                # The stroke goes on where the column holds the line's colour next to it (8-connected), and
                # past the eye's ends a column or two of its soft end.
                run = _run_around(lash_dark[:, x], top - 1, bottom + 1) if soft == 0 else None
                skipped = 0
                if run is None and soft == 0:
                    # A gap in the stroke (something drawn over it): it goes on a few columns further, where
                    # it was heading.
                    for ahead in range(1, bridge + 1):
                        probe = x + ahead * step
                        if not 0 <= probe < columns:
                            break
                        shift = drift * (ahead + 1)
                        run = _run_around(lash_dark[:, probe], top + shift - 1, bottom + shift + 1)
                        if run is not None:
                            skipped = ahead
                            break
                if run is None and not first <= x <= last and soft < DRAWN_SOFT_EDGE_PX:
                    run = _run_around(drawn_on[:, x], top - 1, bottom + 1)
                    soft += 1
                if run is None:
                    break
                # Its bottom may drop as far as it is tall (a steep end); its top rises only as far as its
                # bottom does, and lies no higher than a stroke of its thickness at that slope reaches (not
                # up into bangs that touch it).
                expected = bottom + drift * skipped
                lower = min(run[1], expected + max(2, bottom - top + 1))
                slope = max(slope, float(abs(lower - expected)))  # an arc's sides steepen towards its ends
                reach = round(thickness * np.sqrt(1.0 + slope * slope)) + 2
                run = (max(run[0], top + drift * skipped - 1 - max(expected - lower, 0), lower - reach), lower)
                if run[1] - run[0] + 1 > tallest:
                    break
                for gap_x in range(1, skipped + 1):  # the gap: the stroke drawn straight across it
                    part = gap_x / (skipped + 1)
                    lash[x + (gap_x - 1) * step] = (
                        round(top + part * (run[0] - top)),
                        round(bottom + part * (run[1] - bottom)),
                    )
                x += skipped * step
                drift = (run[1] - bottom) // (skipped + 1) if skipped else run[1] - bottom
                lash[x] = run
                top, bottom = run
                x += step

    # A soft edge's pixel is a blend of the line's colour and the skin's (not bangs that touch the line).
    traced_rows = [(x, int(lash[x, 0]), int(lash[x, 1])) for x in map(int, np.flatnonzero(lash[:, 0] >= 0))]
    blend = np.zeros((rows, columns), dtype=bool)
    share = np.zeros((rows, columns), dtype=np.float32)
    if traced_rows:
        ink = np.median(np.concatenate([pixels[top : bottom + 1, x] for x, top, bottom in traced_rows]), axis=0)
        towards = ink - skin
        share = np.clip(((pixels - skin) @ towards) / max(float(towards @ towards), 1e-3), 0.0, 1.0)
        apart = np.sqrt(((pixels - skin - share[..., None] * towards) ** 2).sum(axis=2))
        blend = drawn_on & ~lash_dark & (apart < DRAWN_EYE_DISTANCE)

    unknown = np.full(columns, np.nan, dtype=np.float32)
    lash_top, lash_bottom = unknown.copy(), unknown.copy()
    lid_top = unknown.copy()
    line = np.zeros((rows, columns), dtype=bool)
    for x, top, bottom in traced_rows:
        # The line's soft edges above it and below it, over skin (a steep stroke's edge crosses a column
        # over a few rows): its edges lie as far out as the share of its colour they hold.
        upper_edge, lower_edge = float(top) - 0.5, float(bottom) + 0.5
        for _ in range(DRAWN_SOFT_EDGE_PX):
            if top > 0 and blend[top - 1, x]:
                top -= 1
                upper_edge -= float(share[top, x])
            if bottom + 2 < rows and blend[bottom + 1, x] and not eye[bottom + 2, x]:
                bottom += 1
                lower_edge += float(share[bottom, x])
        lash_top[x], lash_bottom[x] = upper_edge, lower_edge
        lid_top[x] = top - 1.5 if top > 0 and not drawn_on[top - 1, x] else top - 0.5
        line[top : bottom + 1, x] = True

    # The opening: what of the eye lies under the line (white, iris, pupil), joined to its lighter colours.
    lowest = min(max(int(core_rows[-1]), int(np.ceil(box.y + box.h))) + max(3, round(0.12 * tall)), rows - 1)
    near_line = cv2.dilate(line.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    under = eye & ~near_line  # not the line's soft edge beside it either
    under[lowest + 1 :] = False
    traced = ~np.isnan(lash_bottom)
    if np.any(traced):
        column_index = np.arange(columns, dtype=np.float32)
        floor = np.interp(column_index, column_index[traced], lash_bottom[traced])
        under &= yy > floor[None, :]
    count, labels = cv2.connectedComponents(under.astype(np.uint8), connectivity=8)
    joined = np.bincount(labels[core & under], minlength=count)
    joined[0] = 0
    if count < 2 or joined.max() == 0:
        return None
    opening = labels == int(np.argmax(joined))
    opening_top, rim = unknown.copy(), unknown.copy()
    for x in map(int, np.flatnonzero(opening.any(axis=0))):
        held = np.flatnonzero(opening[:, x])
        opening_top[x], rim[x] = held[0] - 0.5, held[-1] + 0.5
    return _DrawnTrace(lash_top, lash_bottom, opening_top, rim, lid_top, skin)
