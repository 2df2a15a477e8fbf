"""Eyelids that close (`Eyelid`), each made from the picture's own lid: a photo's (`PhotoEyelid`, from
`_trace_eye`) and a drawing's (`DrawnEyelid`, from `_trace_drawn_eye`).

A warp alone cannot close an eye: within the 0.7x..1.4x stretch limit the eye's own pixels always stay
on screen. So each eye gets its own lid, made from the picture: in every column of the eye, the lash line
and the lower rim are found once per clip, and a blink moves the lash line down to the rim, a pixel under
it at full closure, as an upper lid unfolds when it closes. The eye below the lash line stays as it is
until the lid has passed over it, and nothing under the rim ever changes.

A photo's lash line is the dark band along the top of the opening; the lid's skin above it is stretched
down after it. A column whose lash line strays from the smooth curve through its neighbours (a
catchlight taken for skin) takes the curve's, and the lid fades into the picture beyond the eye's ends.
What lies on the skin above the lid (a brow, a glasses frame) stays where it is.

A drawing's lash line is the bold line drawn over the eye, often an arc wider than the eye white with a
thin gap of skin under it: traced as a stroke, it comes down whole, its own pixels, flattening from the
arc it was to the curve of the opening's bottom, its ends beyond the opening thinning away. Where it
passes, the lid is the skin's flat colour (the skin gap, the eye white, the iris); what is drawn above the
line (bangs) stays where it is.

Each eye is read from the picture by `eye_tracing.py`; this module builds the lids from what it found
and paints them per frame (a remap of the lid's own columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box
from stillmotion.engines.live2d.parts.segmentation import flat_skin
from stillmotion.engines.live2d.rig.eye_tracing import LASH_SEARCH_ABOVE, _trace_drawn_eye, _trace_eye
from stillmotion.engines.live2d.rig.tracing import Region, _column_curve, _smoothstep

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

# Closed, a drawing's lash line thins from its middle towards the opening's ends by this share of its
# thickness, and is at most DRAWN_CLOSED_RUN times as tall as thick in a column (where the rim is steep).
DRAWN_CLOSED_TAPER: Final = 0.75
DRAWN_CLOSED_RUN: Final = 2.5
# The drawn eye is searched this share of the box's size beside, above and below it (a box may be off).
DRAWN_SEARCH_BESIDE: Final = 0.35
DRAWN_SEARCH_ABOVE: Final = 0.6
DRAWN_SEARCH_BELOW: Final = 0.4


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


def _blurred(values: npt.NDArray[np.floating[Any]], sigma: float) -> npt.NDArray[np.float64]:
    """`values` (w,) blurred along the columns by a Gaussian of `sigma` columns, the ends held."""
    radius = max(1, int(np.ceil(3.0 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1, dtype=np.float64) / sigma) ** 2)
    return np.convolve(np.pad(values.astype(np.float64), radius, mode="edge"), kernel / kernel.sum(), mode="valid")


class Eyelid:
    """One eye's upper lid, made from the picture (`PhotoEyelid`, `DrawnEyelid`): painted over the
    canvas's `region` at a closure from 0 (open) to 1 (closed)."""

    region: Region

    @staticmethod
    def build(canvas: RGBFrame, eye: Box, *, offset: tuple[int, int], drawn: bool) -> Eyelid | None:
        """The lid for `eye`, the opening's box in image coordinates (`offset`: the canvas margins); a
        drawing's box holds its eye white, with a bold lash line drawn over it. None where no lid is found."""
        if eye.w < 4.0 or eye.h < 2.0:
            return None
        if drawn:
            # A drawn eye without a lash arc to move (a plain dark eye) closes the way a photo's does; one in
            # drawn fur too, and where its own lash line cannot be told from the fur's strokes, over the box's
            # ellipse.
            drawn_lid = DrawnEyelid.from_drawing(canvas, eye, offset=offset)
            if drawn_lid is not None:
                return drawn_lid
            return PhotoEyelid.from_photo(canvas, eye, offset=offset) or PhotoEyelid.from_photo(
                canvas, eye, offset=offset, traced_lash=False
            )
        return PhotoEyelid.from_photo(canvas, eye, offset=offset)

    def paint(self, canvas: RGBFrame, closure: float) -> None:
        """Paint the lid at `closure` (0 open .. 1 closed) into `canvas`."""
        raise NotImplementedError


@dataclass(frozen=True)
class PhotoEyelid(Eyelid):
    """A photo's upper lid, made of its own lid. Per column of `region` (region rows, as boundaries):
    where the lid's skin starts on the brow side (`lid_top`), its edge under the lash line (`edge`), the
    lash line's height (`lash`) and how far the edge moves down to close the eye (`travel`).

    Closing by c moves the edge down by c * travel; the lid's skin between `lid_top` and the lash line
    stretches to follow it, the lash line moves as it is, and the eye below the edge stays until the lid
    covers it. Above `lid_top` nothing moves.
    """

    region: Region
    source: RGBFrame  # (h, w, 3) the region as the picture has it
    smooth: RGBFrame  # ... blurred along its rows
    lid_top: Columns
    edge: Columns
    lash: Columns
    travel: Columns
    ease: Columns  # LID_EASE, less where the lid's skin is too short to stretch that unevenly
    blend: Columns  # how much of the lid shows over the picture: 1 over the opening, fading out beyond
    rows: npt.NDArray[np.float32]  # (h, 1) each row's index
    columns_map: npt.NDArray[np.float32]  # (h, w) each pixel's column: the remap's x

    @classmethod
    def from_photo(
        cls, canvas: RGBFrame, eye: Box, *, offset: tuple[int, int], traced_lash: bool = True
    ) -> PhotoEyelid | None:
        """The lid for `eye`, the opening's box in image coordinates (`offset`: the canvas margins);
        without `traced_lash`, over the box's ellipse whatever the lash line traced (drawn fur)."""
        height, width = canvas.shape[:2]
        above = LID_SOURCE * (eye.h + 2.0) + (LASH_SEARCH_ABOVE + 0.15) * eye.h + 3.0
        grow_x = 0.12
        search = Region(
            max(int(np.floor(eye.x - grow_x * eye.w)) + offset[0], 0),
            max(int(np.floor(eye.y - above)) + offset[1], 0),
            min(int(np.ceil(eye.x + (1.0 + grow_x) * eye.w)) + 1 + offset[0], width),
            min(int(np.ceil(eye.y + 1.3 * eye.h + 4.0)) + offset[1], height),
        )
        if search.empty:
            return None
        box = Box(eye.x + offset[0] - search.x0, eye.y + offset[1] - search.y0, eye.w, eye.h)
        traced = _trace_eye(search.view(canvas), box, reach=LID_SOURCE * (eye.h + 2.0))
        # Room beside the traced columns for the lid's travel to taper to none.
        taper = max(LID_TAPER_PX, LID_TAPER * eye.w)
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
        if not traced_lash:
            found = np.zeros_like(found)
            spans = np.abs(xs - box.cx) <= 0.5 * box.w
            ceiling_seen = np.full_like(ceiling_seen, np.nan)
        elif not _smooth_lash_line(lash_top, found & (np.abs(xs - box.cx) <= 0.5 * box.w), box.h):
            return None
        if not np.any(found):
            found = spans
            lash_top = (box.cy - half - float(np.clip(0.15 * box.h, 1.0, 4.0))).astype(np.float32)
            edge = (box.cy - half).astype(np.float32)
        measured = found  # the columns whose lash line's height is known
        if traced_lash and np.any(traced.found):
            # A column whose lash line strays from the curve through its neighbours takes the curve's,
            # and its neighbours' lash height: a catchlight read as skin puts the lash line low in the
            # iris, and the iris above it would be stretched down the lid as a dark streak.
            reference, stray = _robust_columns(lash_top, found, max(LASH_STRAY_PX, LASH_STRAY * box.h))
            lash_top = np.where(stray, reference, lash_top).astype(np.float32)
            measured = found & ~stray if np.any(found & ~stray) else found
            ceiling_seen = np.where(stray, np.nan, ceiling_seen).astype(np.float32)
        lash_top = _column_curve(lash_top, found, 1.0)
        lash = np.maximum(_column_curve(edge - lash_top, measured, 1.0), LASH_LEAST_PX)
        edge = lash_top + lash
        # The rim: where the eye was seen to end, below the box's ellipse but not far (a shadowed corner
        # is as dark as an eye), and nowhere above the lid's edge.
        rim = np.where(spans & ~np.isnan(traced.rim) & traced_lash, traced.rim, box.cy + half)
        rim = np.clip(rim, box.cy + half, box.cy + half + 0.15 * box.h + 1.0).astype(np.float32)
        rim = np.maximum(_column_curve(rim, spans, 1.0), edge)

        # Full travel over the opening's columns, easing to none from its ends to a few columns beyond
        # the lid's: the lid blends into the picture, as a lid's edge meets the lower lid at the corners.
        lid_columns = np.flatnonzero(spans)
        if lid_columns.size == 0:
            return None
        first, last = float(lid_columns[0]), float(lid_columns[-1])
        start, end = max(box.x - 0.5, first), min(box.x + box.w + 0.5, last)
        beyond = np.maximum((start - xs) / (start - first + taper), (xs - end) / (last - end + taper))
        window = 1.0 - _smoothstep(beyond)
        travel = (np.maximum(rim + LID_LANDING_PX - edge, 0.0) * window).astype(np.float32)
        longest = float(travel.max())
        if longest < 0.5:
            return None
        # The lid's skin: LID_SOURCE travels tall, or up to what lies on the skin above it (a brow, a glasses
        # frame), which stays where it is; as tall along the whole lash line (columns stretched differently
        # would tear its texture) and at least LID_SHORTEST travels.
        known = ~np.isnan(ceiling_seen)
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
            blend=np.ascontiguousarray(window[x0:x1]),
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
        # Skin stretched far turns its grain into streaks down the lid: there, the grain is smoothed along
        # the rows, as a lid's skin is smooth when it is stretched.
        rate = 1.0 - moved * (1.0 - self.ease + 2.0 * self.ease * along) / span  # source rows per row
        streaky = np.clip((1.0 / np.maximum(rate, 0.05) - 1.5) / 1.5, 0.0, 1.0) * ((along > 0.0) & (along < 1.0))
        if np.any(streaky > 0.0):
            soft = cv2.remap(self.smooth, columns_map, sample_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            lid += streaky[..., None] * (np.asarray(soft, dtype=np.float32) - lid)
        # How much of each pixel the lid covers; towards its ends it fades into the picture along the row,
        # so that what the picture holds beside the lid (a glint on glasses) meets it in no hard column.
        cover = (np.clip(edge - rows + 0.5, 0.0, 1.0) * self.blend)[..., None]
        base = source.astype(np.float32)
        mixed = base + cover * (lid - base)
        self.region.view(canvas)[:rows_h] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def _around_eye_is_flat_skin(view: RGBFrame, box: Box, skin: npt.NDArray[np.float32]) -> bool:
    """Whether `view`'s pixels outside the eye's `box` (view coordinates) are a drawing's flat skin
    (`parts.segmentation.flat_skin`). A drawing's lid is that flat colour; over drawn fur a flat patch reads as a
    hole, so a furred eye's lid is a photo's, the fur itself come down."""
    around = np.ones(view.shape[:2], dtype=bool)
    around[max(int(box.y), 0) : int(np.ceil(box.y + box.h)), max(int(box.x), 0) : int(np.ceil(box.x + box.w))] = False
    return flat_skin(view[around], skin)


@dataclass(frozen=True)
class DrawnEyelid(Eyelid):
    """A drawing's upper lid: its own lash line, come down over the eye. Per column of `region` (region
    rows, as boundaries): the lash line's bottom (`edge`) and height (`lash`), how far it moves down to
    close the eye (`travel`: its bottom lands a pixel under the opening's rim), how tall it is then
    (`closed_lash`), and where the lid's skin starts above it (`lid_top`).

    Closing by c moves the line's bottom down by c * travel, its own pixels squeezed or stretched to a
    height going from `lash` to `closed_lash`; between `lid_top` and the line is the skin's flat colour
    (the skin gap the line passes over, the eye it covers), and below the line the picture is as it is.
    So nothing changes under the rim, and the line that closes the eye is the drawing's own: a thick arc
    over the eye comes down to lie along the bottom of the opening as a line of its own thickness, its
    ends beyond the opening thinning away into the skin.
    """

    region: Region
    source: RGBFrame  # (h, w, 3) the region as the picture has it
    lid_top: Columns
    edge: Columns
    lash: Columns
    closed_lash: Columns
    travel: Columns
    skin: npt.NDArray[np.float32]  # (3,) the skin's colour
    rows: npt.NDArray[np.float32]  # (h, 1) each row's index
    columns_map: npt.NDArray[np.float32]  # (h, w) each pixel's column: the remap's x

    @classmethod
    def from_drawing(cls, canvas: RGBFrame, eye: Box, *, offset: tuple[int, int]) -> DrawnEyelid | None:
        """The lid for `eye`, the drawn eye's box in image coordinates (`offset`: the canvas margins)."""
        height, width = canvas.shape[:2]
        search = Region(
            max(int(np.floor(eye.x - DRAWN_SEARCH_BESIDE * eye.w)) + offset[0], 0),
            max(int(np.floor(eye.y - DRAWN_SEARCH_ABOVE * eye.h - 4.0)) + offset[1], 0),
            min(int(np.ceil(eye.x + (1.0 + DRAWN_SEARCH_BESIDE) * eye.w)) + 1 + offset[0], width),
            min(int(np.ceil(eye.y + (1.0 + DRAWN_SEARCH_BELOW) * eye.h + 4.0)) + offset[1], height),
        )
        if search.empty:
            return None
        box = Box(eye.x + offset[0] - search.x0, eye.y + offset[1] - search.y0, eye.w, eye.h)
        traced = _trace_drawn_eye(search.view(canvas), box)
        if traced is None or not _around_eye_is_flat_skin(search.view(canvas), box, traced.skin):
            return None
        columns = search.x1 - search.x0
        xs = np.arange(columns, dtype=np.float32)
        opening = ~np.isnan(traced.rim)
        found = ~np.isnan(traced.lash_top)
        if np.any(found):
            spans = opening | found
            lash_top = np.interp(xs, xs[found], traced.lash_top[found]).astype(np.float32)
            lash_bottom = np.interp(xs, xs[found], traced.lash_bottom[found]).astype(np.float32)
            lid_top = np.where(found, traced.lid_top, lash_top).astype(np.float32)
        else:  # no line drawn over the eye: the lid's edge is the opening's top, a thin line over it
            spans = opening
            lash_bottom = np.where(opening, traced.opening_top, 0.0).astype(np.float32)
            lash_top = lash_bottom - float(np.clip(0.1 * eye.h, 1.0, 4.0))
            lid_top = lash_top
        lash = lash_bottom - lash_top
        # The line's bottom lands a pixel under the rim, on a smooth curve (the rim is whole pixels) that
        # nowhere goes further; beyond the opening's ends, at its ends' height.
        bound = np.interp(xs, xs[opening], traced.rim[opening] + LID_LANDING_PX)
        landing = np.maximum(np.minimum(_blurred(bound, 1.0), bound), lash_bottom).astype(np.float32)
        travel = np.where(spans, landing - lash_bottom, 0.0).astype(np.float32)
        if float(travel.max()) < 0.5:
            return None
        # Closed, the line keeps its thickness (its height where it is flattest, over the opening's middle),
        # thinning towards the opening's ends, along the rim's curve: taller where the rim is steep. Beyond
        # the opening it thins away.
        flat = opening & found
        centre = 0.5 * (float(xs[opening][0]) + float(xs[opening][-1]))
        half_width = max(0.5 * (float(xs[opening][-1]) - float(xs[opening][0])), 1.0)
        flattest = flat & (np.abs(xs - centre) <= 0.5 * half_width)
        thickness = float(np.median(lash[flattest if np.any(flattest) else (flat if np.any(flat) else spans)]))
        across = np.clip((xs - centre) / half_width, -1.0, 1.0)
        thick = thickness * (1.0 - DRAWN_CLOSED_TAPER * across * across)
        slope = np.gradient(_blurred(landing, 1.5))
        along = _blurred(thick * np.minimum(np.sqrt(1.0 + slope * slope), DRAWN_CLOSED_RUN), 1.0)
        closed = np.minimum(along, lash + travel)
        closed_lash = np.where(opening, closed, 0.0).astype(np.float32)

        # Paint only what moves: the lid's columns, from its top to the lowest landing.
        lid_columns = np.flatnonzero(spans)
        x0, x1 = max(int(lid_columns[0]) - 1, 0), min(int(lid_columns[-1]) + 2, columns)
        y0 = max(int(np.floor(float(np.where(spans, lid_top, np.inf)[x0:x1].min()))), 0)
        y1 = min(int(np.ceil(float(np.where(spans, landing, -np.inf)[x0:x1].max()))) + 2, search.y1 - search.y0)
        region = Region(search.x0 + x0, search.y0 + y0, search.x0 + x1, search.y0 + y1)
        rows_h, columns_w = y1 - y0, x1 - x0
        # Columns beside the lid hold nothing: a line of no height at the region's top that stays.
        still = ~spans[x0:x1]

        def local(values: Columns) -> Columns:
            return np.ascontiguousarray(np.where(still, -0.5, values[x0:x1] - y0), dtype=np.float32)

        def kept(values: Columns) -> Columns:
            return np.ascontiguousarray(np.where(still, 0.0, values[x0:x1]), dtype=np.float32)

        return cls(
            region=region,
            source=np.ascontiguousarray(region.view(canvas)),
            lid_top=local(lid_top),
            edge=local(lash_bottom),
            lash=kept(lash),
            closed_lash=kept(closed_lash),
            travel=kept(travel),
            skin=traced.skin,
            rows=np.arange(rows_h, dtype=np.float32)[:, None],
            columns_map=np.ascontiguousarray(
                np.broadcast_to(np.arange(columns_w, dtype=np.float32), (rows_h, columns_w))
            ),
        )

    def paint(self, canvas: RGBFrame, closure: float) -> None:
        """Paint the lid at `closure` (0 open .. 1 closed) into `canvas`."""
        c = np.float32(closure)
        edge = self.edge + c * self.travel  # (w,) the line's bottom now
        height = self.lash + c * (self.closed_lash - self.lash)  # ... and its height
        top = edge - height
        # Rows under the line are the picture as it is: only the rows down to it change.
        rows_h = min(int(np.ceil(float(edge.max()))) + 2, self.source.shape[0])
        rows, source = self.rows[:rows_h], self.source[:rows_h]
        lash_top = self.edge - self.lash
        # In the line: its own rows, from its top to its bottom; above the lid's top: the picture.
        within = lash_top + (rows - top) * (self.lash / np.maximum(height, 1e-3))
        sample_y = np.where(rows < self.lid_top, rows, np.clip(within, lash_top, self.edge)).astype(np.float32)
        lid = np.asarray(
            cv2.remap(
                self.source, self.columns_map[:rows_h], sample_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            ),
            dtype=np.float32,
        )
        # How much of each pixel the skin covers, between the lid's top and the line.
        skin = np.clip(top - rows + 0.5, 0.0, 1.0) * np.clip(rows + 0.5 - self.lid_top, 0.0, 1.0)
        lid += skin[..., None] * (self.skin - lid)
        cover = np.clip(edge - rows + 0.5, 0.0, 1.0)[..., None]
        base = source.astype(np.float32)
        mixed = base + cover * (lid - base)
        self.region.view(canvas)[:rows_h] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
