"""Eyelids that close (`Eyelid`), each made from the picture's own lid, and the tracing of an eye they are
built from (`_trace_eye`).

A warp alone cannot close an eye: within the 0.7x..1.4x stretch limit the eye's own pixels always stay
on screen. So each eye gets its own lid, made from the picture: in every column of the eye, the lash line
(the dark band along the top of the opening) and the lower rim are found once per clip, and a blink moves
the lash line down to the rim with the lid's skin above it stretched down after it, as an upper lid
unfolds when it closes. The eye below the lid's edge stays as it is until the lid has passed over it.
A column whose lash line strays from the smooth curve through its neighbours (a catchlight taken for
skin) takes the curve's, and a photo's lid fades into the picture beyond the eye's ends.
What lies on the skin above the lid (a brow, a glasses frame, a drawing's bangs) stays where it is; a
drawing's lid, of flat colour, is its skin colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box
from stillmotion.engines.live2d.rig.tracing import _LUMA, Region, _column_curve, _first_run, _smoothstep

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
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
