"""Face layers painted onto the canvas before it is warped: eyelids that close and a mouth that opens.

A warp alone cannot close an eye: within the 0.7x..1.4x stretch limit the eye's own pixels always stay
on screen. So, as a Live2D rig has a separate eyelid drawing, each eye gets a "closed" patch made once
per clip (the eye opening inpainted with the surrounding skin, a lash line drawn where the lids meet),
and a blink slides that patch down over the opening, lash line first. A mouth that opens gets a dark
interior painted along the lip line, which the jaw's warp then stretches open.

Layers are painted in canvas coordinates before the warp, so head motion and the camera carry them
along. Each frame touches only a small region, restored after the frame is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Patch = npt.NDArray[np.float32]  # (h, w, 3) float32, a small region of the canvas

# The eye opening inside an eye box (already the opening, see `regions.FaceGeometry`), as fractions of the
# box's half-sizes.
OPENING_RX: Final = 0.96
OPENING_RY: Final = 0.96
_SUBPIXEL_BITS: Final = 4  # cv2 draws with 1/16 px precision
_SUBPIXEL: Final = 1 << _SUBPIXEL_BITS
# A mouth open at 1.0 has a painted gap this tall, as a fraction of the mouth box (the warp adds to it).
MOUTH_GAP_H: Final = 0.36
# ... and at least this share of the face's height: a line-drawn mouth is only as tall as its line.
MOUTH_GAP_FACE_H: Final = 0.035
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


def _grain(patch: RGBFrame, ring: npt.NDArray[np.bool_], inside: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """`(count(inside), 3)` soft noise about as strong as the skin texture in `ring`. Fixed (not seeded
    per clip): it is part of the lid's drawing, the same in every frame."""
    count = int(np.count_nonzero(inside))
    if count == 0 or not np.any(ring):
        return np.zeros((count, 3), dtype=np.float32)
    grey = patch.astype(np.float32).mean(axis=2)
    detail = grey - cv2.GaussianBlur(grey, (0, 0), 1.5)
    strength = float(np.clip(0.6 * detail[ring].std(), 0.0, 8.0))
    noise = np.random.default_rng(0).normal(0.0, 1.0, grey.shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 0.7)
    noise *= strength / max(float(noise.std()), 1e-6)
    return np.repeat(noise[inside][:, None], 3, axis=1)


def _darkest_colour(pixels: RGBFrame, share: float) -> npt.NDArray[np.float32]:
    """Mean colour of the darkest `share` of `pixels` (N, 3)."""
    flat = pixels.reshape(-1, 3).astype(np.float32)
    luma = flat @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    count = max(1, int(share * luma.size))
    darkest = np.argpartition(luma, count - 1)[:count]
    return np.asarray(flat[darkest].mean(axis=0), dtype=np.float32)


@dataclass(frozen=True)
class Eyelid:
    region: Region
    closed: Patch  # (h, w, 3) the eye with its opening covered by skin and a lash line
    opening: Patch  # (h, w) soft mask of the eye opening
    lash_y: npt.NDArray[np.float32]  # (w,) row of the lash line in each column of the closed patch
    travel_px: float  # how far the lid edge moves from open to closed
    below_lash_px: float  # from the lash line to the bottom of the opening

    @classmethod
    def build(cls, canvas: RGBFrame, eye: Box, *, offset: tuple[int, int], drawn: bool) -> Eyelid | None:
        """The lid for `eye`, the opening's box in image coordinates (`offset`: the canvas margins).

        Photos: the opening filled smoothly from the skin around it, with a little grain so that it does
        not look like plastic, and a thin lash line. Drawings: the eye's box holds the whole drawn eye
        (white included), so the lid covers a little more and is one flat skin colour under a bold line.
        """
        size = (canvas.shape[1], canvas.shape[0])
        region = Region.around(eye, grow_x=0.35, grow_y=0.8, offset=offset, size=size)
        if region.empty:
            return None
        patch = np.ascontiguousarray(region.view(canvas))  # (h, w, 3) uint8
        rows, columns = patch.shape[:2]
        cx = eye.cx + offset[0] - region.x0
        cy = eye.cy + offset[1] - region.y0
        rx, ry = (0.6 * eye.w, 0.56 * eye.h) if drawn else (0.5 * OPENING_RX * eye.w, 0.5 * OPENING_RY * eye.h)
        opening = _soft_ellipse((rows, columns), cx, cy, rx, ry, feather_px=1.5)

        hole = np.zeros((rows, columns), dtype=np.uint8)
        cv2.ellipse(hole, (round(cx), round(cy)), (round(rx) + 2, round(ry) + 2), 0, 0, 360, 255, -1)
        inside = hole > 0
        ring = (cv2.dilate(hole, np.ones((5, 5), np.uint8), iterations=2) > 0) & ~inside
        if drawn:
            skin = np.median(patch[ring], axis=0) if np.any(ring) else patch.reshape(-1, 3).mean(axis=0)
            closed = patch.astype(np.float32)
            closed[inside] = skin
        else:
            # Lashes and the shadowed corners around the opening would darken the lid: fill from skin only.
            luma = patch.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
            skin_floor = float(np.percentile(luma[ring], 40)) if np.any(ring) else 0.0
            known = (~inside) & ((luma >= skin_floor) | ~ring)
            closed = fill_hole(patch.astype(np.float32), known.astype(np.float32))
            closed[inside] += _grain(patch, ring, inside)

        # The lash line: a gentle downward arc through the lower part of the opening.
        lash_cy = cy + 0.1 * ry
        lash_ry = 0.4 * ry
        darkest = _darkest_colour(patch[inside] if np.any(inside) else patch, 0.08)
        if drawn:
            colour = darkest
            thickness = max(2, round(0.06 * eye.w))
        else:
            # Darker than the lid, but not drawn-on black; thin, as a closed eye's lash line is.
            colour = 0.6 * darkest + 0.4 * 0.6 * closed[inside].mean(axis=0) if np.any(inside) else darkest
            thickness = max(1, round(0.035 * eye.w))
        cv2.ellipse(
            closed,
            (round(cx * _SUBPIXEL), round(lash_cy * _SUBPIXEL)),
            (round(0.95 * rx * _SUBPIXEL), round(lash_ry * _SUBPIXEL)),
            0,
            0,
            180,
            tuple(float(c) for c in colour),
            thickness,
            cv2.LINE_AA,
            _SUBPIXEL_BITS,
        )
        columns_x = np.arange(columns, dtype=np.float32)
        across = np.clip((columns_x - cx) / max(0.95 * rx, 0.5), -1.0, 1.0)
        lash_y = np.asarray(lash_cy + lash_ry * np.sqrt(1.0 - across * across), dtype=np.float32)
        top = cy - ry
        return cls(
            region=region,
            closed=np.asarray(closed, dtype=np.float32),
            opening=opening,
            lash_y=lash_y,
            travel_px=float(lash_cy + lash_ry - top),
            below_lash_px=float(cy + ry - (lash_cy + lash_ry)) + thickness + 1.5,
        )

    def paint(self, canvas: RGBFrame, closure: float) -> None:
        """Paint the lid at `closure` (0 open .. 1 closed) into `canvas`, over what is there."""
        region = self.region
        base = region.view(canvas).astype(np.float32)
        rows, columns = base.shape[:2]
        # The lid slides down: the closed patch is drawn `lift` px higher than where it ends up.
        lift = (1.0 - closure) * self.travel_px
        shifted = cv2.warpAffine(
            self.closed,
            np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -lift]], dtype=np.float32),
            (columns, rows),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        # Below the lid's edge the open eye still shows; as the lid lands, the lower lid closes the rest.
        landing = float(np.clip((closure - 0.75) / 0.25, 0.0, 1.0))
        edge = self.lash_y - lift + 1.0 + landing * landing * (3.0 - 2.0 * landing) * self.below_lash_px  # (w,)
        rows_y = np.arange(rows, dtype=np.float32)[:, None]
        above_edge = np.clip((edge[None, :] - rows_y) / 1.5 + 0.5, 0.0, 1.0)
        alpha = (self.opening * above_edge)[..., None]  # (h, w, 1)
        mixed = base + alpha * (shifted - base)
        region.view(canvas)[:] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class MouthInterior:
    region: Region
    centre: tuple[float, float]  # in region coordinates
    half_width: float
    half_gap: float  # half-height of the gap at opening 1.0
    colour: npt.NDArray[np.float32]  # (3,)
    # A drawn mouth opens as a "D": the dark below the line through its corners, down past the line.
    below_only: bool = False

    @classmethod
    def build(
        cls, canvas: RGBFrame, mouth: Box, *, offset: tuple[int, int], face: Box | None = None, drawn: bool = False
    ) -> MouthInterior | None:
        size = (canvas.shape[1], canvas.shape[0])
        half_gap = 0.5 * max(MOUTH_GAP_H * mouth.h, MOUTH_GAP_FACE_H * face.h if face is not None else 0.0)
        if drawn:
            # From the corners' line down through the drawn line and a gap's height beyond it.
            half_gap = 0.85 * mouth.h + 2.0 * half_gap
        grow_y = max(0.6, (half_gap + 3.0) / max(mouth.h, 1.0) + (0.0 if drawn else -0.5))
        region = Region.around(mouth, grow_x=0.2, grow_y=grow_y, offset=offset, size=size)
        if region.empty:
            return None
        pixels = region.view(canvas)
        # Darker than anything on the lips: the inside of a mouth is mostly shadow, tinted red.
        darkest = _darkest_colour(pixels, 0.05)
        shadow = np.array([50.0, 16.0, 20.0], dtype=np.float32)
        colour = np.asarray(0.25 * darkest + 0.75 * shadow, dtype=np.float32)
        if drawn:
            centre = (mouth.cx + offset[0] - region.x0, mouth.y + 0.15 * mouth.h + offset[1] - region.y0)
            return cls(region, centre, 0.42 * mouth.w, half_gap, colour, below_only=True)
        centre = (mouth.cx + offset[0] - region.x0, mouth.cy + offset[1] - region.y0)
        return cls(region, centre, 0.34 * mouth.w, half_gap, colour)

    def _presence(self, opening: float) -> float:
        """How opaque the gap is: a drawn mouth barely parted would show as a faint seam along its corners'
        line, so it stays shut until it opens properly."""
        if self.below_only:
            return float(np.clip((opening - 0.1) / 0.2, 0.0, 1.0))
        return min(1.0, opening * 4.0)

    def paint(self, canvas: RGBFrame, opening: float) -> None:
        """Paint the gap at `opening` (0 closed .. 1 open) into `canvas`, over what is there."""
        region = self.region
        base = region.view(canvas).astype(np.float32)
        rows, columns = base.shape[:2]
        half_height = max(self.half_gap * opening, 0.3)
        cx, cy = self.centre
        alpha = (
            0.92
            * self._presence(opening)
            * _soft_ellipse(
                (rows, columns), cx, cy, self.half_width * (0.75 + 0.25 * opening), half_height, feather_px=1.2
            )
        )
        if self.below_only:
            alpha = alpha * np.clip(np.arange(rows, dtype=np.float32)[:, None] - cy + 0.5, 0.0, 1.0)
        mixed = base + alpha[..., None] * (self.colour - base)
        region.view(canvas)[:] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


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
        self.mouth = (
            MouthInterior.build(canvas, mouth, offset=offset, face=face, drawn=drawn) if mouth is not None else None
        )
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
