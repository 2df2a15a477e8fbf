"""The mouth's layers: a photo's mouth that opens (`MouthOpening`, from the lip line `_trace_lip_line`
finds), a drawn mouth that opens (`MouthInterior`) and a drawn mouth's line bent into a smile
(`MouthCurve`).

A photo's mouth opens as a lid closes (`eyelids.py`), from the picture's own pixels: the upper lip and
teeth stay, the lower lip and the chin under it move down, and the mouth's dark interior shows in the
gap between them. A drawn mouth is a line: it opens as a dark "D" hanging from the line through its
corners, and bends into a smile as a line.
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
Patch = npt.NDArray[np.float32]  # (h, w, 3) float32, a small region of the canvas

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


def _soft_ellipse(shape: tuple[int, int], cx: float, cy: float, rx: float, ry: float, feather_px: float) -> Patch:
    """`(h, w)` float32: 1 inside the ellipse, 0 outside, a `feather_px` wide soft edge."""
    rows, columns = shape
    yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
    radius = np.sqrt(((xx - cx) / max(rx, 0.5)) ** 2 + ((yy - cy) / max(ry, 0.5)) ** 2)
    edge = feather_px / max(min(rx, ry), 0.5)
    return np.asarray(np.clip((1.0 - radius) / edge + 0.5, 0.0, 1.0), dtype=np.float32)


def _darkest_colour(pixels: RGBFrame, share: float) -> npt.NDArray[np.float32]:
    """Mean colour of the darkest `share` of `pixels` (N, 3)."""
    flat = pixels.reshape(-1, 3).astype(np.float32)
    luma = flat @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    count = max(1, int(share * luma.size))
    darkest = np.argpartition(luma, count - 1)[:count]
    return np.asarray(flat[darkest].mean(axis=0), dtype=np.float32)


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
        """Paint the line bent at `strength` (0 as drawn .. 1 a natural smile; below 0 the corners go down, a
        frown, and the line narrows a little) into `canvas`."""
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
