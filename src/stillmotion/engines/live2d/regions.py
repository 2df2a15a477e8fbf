"""Where the parts of the image are, on the coarse grid the renderer's fields live on.

`Grid`: coarse nodes at the centres of `cell_px` cells, with one extra ring of cells around the image
so that the upsampled map is exact up to the image edges. `FaceGeometry`: the detected face with every
feature placed (estimated from the face box where detection left a gap; a photo's eye boxes shrunk to
the eye openings and its mouth moved onto the lip line). `Regions`: soft weights on the grid, built once
per clip: subject, body, hair, head, the face's features, and the distances that pin every field to
the image border.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box, Face, Parts

if TYPE_CHECKING:
    from stillmotion.engines.live2d.rig.animal import Appendages

Field = npt.NDArray[np.float32]  # (h, w) float32 on the coarse grid
Vector = npt.NDArray[np.float32]  # (h, w, 2) float32 on the coarse grid: (dx, dy) in image pixels
RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Side = Literal["left", "right"]

# The border fade: at least this share of the short side, wider for large displacements so that the
# fade's own strain stays under _BORDER_FADE_STRAIN.
_MIN_BORDER_BAND: Final = 0.05
_BORDER_FADE_STRAIN: Final = 0.2


# -- the grid -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """Coarse nodes over the image plus one ring of cells: node j sits at x = (j + 0.5) * cell - 0.5 - cell."""

    width: int
    height: int
    cell_px: int
    x: Field  # (h, w) image pixels
    y: Field

    @classmethod
    def for_frame(cls, width: int, height: int, *, cell_px: int = 8) -> Grid:
        if cell_px < 1:
            raise ValueError(f"cell_px must be >= 1, got {cell_px}")
        columns = math.ceil((width + 2 * cell_px) / cell_px)
        rows = math.ceil((height + 2 * cell_px) / cell_px)
        xs = (np.arange(columns, dtype=np.float32) + 0.5) * cell_px - 0.5 - cell_px
        ys = (np.arange(rows, dtype=np.float32) + 0.5) * cell_px - 0.5 - cell_px
        grid_x, grid_y = np.meshgrid(xs, ys)
        return cls(width=width, height=height, cell_px=cell_px, x=grid_x, y=grid_y)

    @property
    def shape(self) -> tuple[int, int]:
        rows, columns = self.x.shape
        return rows, columns

    @property
    def extended_size(self) -> tuple[int, int]:
        """(width, height) in full-resolution pixels of the area the grid's cells cover."""
        rows, columns = self.shape
        return columns * self.cell_px, rows * self.cell_px

    def resample(self, mask: npt.NDArray[np.float32]) -> Field:
        """A full-resolution `(H, W)` mask averaged over each node's cell (edges extended outwards)."""
        if mask.shape != (self.height, self.width):
            mask = np.asarray(cv2.resize(mask, (self.width, self.height), interpolation=cv2.INTER_LINEAR))
        extended_w, extended_h = self.extended_size
        cell = self.cell_px
        padded = cv2.copyMakeBorder(
            np.ascontiguousarray(mask, dtype=np.float32),
            cell,
            extended_h - self.height - cell,
            cell,
            extended_w - self.width - cell,
            cv2.BORDER_REPLICATE,
        )
        rows, columns = self.shape
        return np.asarray(cv2.resize(padded, (columns, rows), interpolation=cv2.INTER_AREA), dtype=np.float32)

    def blur(self, values: Field, sigma_px: float) -> Field:
        sigma = max(sigma_px / self.cell_px, 0.3)
        return np.asarray(cv2.GaussianBlur(values, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE), dtype=np.float32)

    def ellipse_radius(self, cx: float, cy: float, rx: float, ry: float) -> Field:
        """Normalised elliptical distance from (cx, cy): 1 on the ellipse with radii (rx, ry)."""
        dx = (self.x - np.float32(cx)) / np.float32(max(rx, 1e-3))
        dy = (self.y - np.float32(cy)) / np.float32(max(ry, 1e-3))
        return np.asarray(np.sqrt(dx * dx + dy * dy), dtype=np.float32)

    def gaussian(self, cx: float, cy: float, sx: float, sy: float) -> Field:
        dx = (self.x - np.float32(cx)) / np.float32(max(sx, 1e-3))
        dy = (self.y - np.float32(cy)) / np.float32(max(sy, 1e-3))
        return np.asarray(np.exp(-0.5 * (dx * dx + dy * dy)), dtype=np.float32)


def falloff(distance: Field, inner: float, outer: float) -> Field:
    """1 up to `inner`, smoothly down to 0 at `outer`."""
    u = np.clip((distance - np.float32(inner)) / np.float32(outer - inner), 0.0, 1.0)
    return np.asarray(1.0 - u * u * (3.0 - 2.0 * u), dtype=np.float32)


def rise(values: Field, start: float, end: float) -> Field:
    """0 up to `start`, smoothly up to 1 at `end`."""
    return np.asarray(1.0 - falloff(values, start, end), dtype=np.float32)


def vector(
    dx: npt.NDArray[np.floating[Any]] | float, dy: npt.NDArray[np.floating[Any]] | float, shape: tuple[int, int]
) -> Vector:
    """`(h, w, 2)` float32 from its x and y parts (arrays or constants)."""
    out = np.empty((*shape, 2), dtype=np.float32)
    out[..., 0] = dx
    out[..., 1] = dy
    return out


# -- the parts, completed -----------------------------------------------------------------------------


def _luma(image: RGBFrame, box: Box) -> tuple[npt.NDArray[np.float32], int, int] | None:
    """Luma of the part of `image` under `box` and the crop's (x0, y0), or None when too small."""
    height, width = image.shape[:2]
    x0, y0 = max(0, int(box.x)), max(0, int(box.y))
    x1, y1 = min(width, int(np.ceil(box.x + box.w))), min(height, int(np.ceil(box.y + box.h)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    crop = image[y0:y1, x0:x1].astype(np.float32)
    return np.asarray(crop @ np.array([0.299, 0.587, 0.114], dtype=np.float32), dtype=np.float32), x0, y0


def eye_opening(image: RGBFrame, box: Box) -> Box:
    """The eye opening inside a photo's eye box. Haar eye boxes are squares around the eye with the brow
    and lids in them; the opening is a wide, low ellipse around the pupil, which is the darkest thing
    near the box's centre (darkness is weighed against distance so that glasses frames and brows, at
    the box's edges, lose)."""
    found = _luma(image, box)
    if found is None:
        return box
    luma, x0, y0 = found
    rows, columns = luma.shape
    yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
    off_x = (xx + x0 + 0.5 - box.cx) / (0.5 * box.w)
    off_y = (yy + y0 + 0.5 - box.cy) / (0.5 * box.h)
    score = luma + 90.0 * (off_x * off_x + off_y * off_y)
    count = max(3, int(0.04 * score.size))
    darkest = np.argpartition(score.reshape(-1), count - 1)[:count]
    pupil_x = float(np.median(xx.reshape(-1)[darkest])) + x0 + 0.5
    pupil_y = float(np.median(yy.reshape(-1)[darkest])) + y0 + 0.5
    half_w = 0.38 * box.w
    half_h = min(0.5 * box.h, 0.42 * half_w)
    centre_x = 0.25 * box.cx + 0.75 * pupil_x  # the pupil may look aside; the opening leans towards the box
    centre_y = float(np.clip(pupil_y, box.y + half_h, box.y + box.h - half_h))
    return Box(centre_x - half_w, centre_y - half_h, 2 * half_w, 2 * half_h)


def place_mouth(image: RGBFrame, mouth: Box, left_eye: Box, right_eye: Box) -> Box:
    """A photo's mouth, placed on its lip line. Faces keep their proportions better than face boxes do
    (a Haar box may take in a hat brim): the lips meet about 1.25 eye distances below the eyes. The lip
    line is the darkest row across the middle of the face between the given box and that prediction,
    below the nostrils (~0.95 eye distances down), preferring rows near the prediction."""
    eye_distance = math.hypot(right_eye.cx - left_eye.cx, right_eye.cy - left_eye.cy)
    if eye_distance < 4.0:
        return mouth
    eyes_y = 0.5 * (left_eye.cy + right_eye.cy)
    centre_x = 0.5 * (left_eye.cx + right_eye.cx)
    predicted = eyes_y + 1.25 * eye_distance
    top = max(min(mouth.cy, predicted) - 0.2 * eye_distance, eyes_y + 0.95 * eye_distance)
    bottom = max(mouth.cy, predicted) + 0.25 * eye_distance
    found = _luma(image, Box(centre_x - 0.3 * eye_distance, top, 0.6 * eye_distance, max(bottom - top, 4.0)))
    line = predicted
    if found is not None:
        luma, _, y0 = found
        profile = cv2.GaussianBlur(luma.mean(axis=1).reshape(-1, 1), (1, 0), 1.5).reshape(-1)  # (rows,)
        rows = np.arange(profile.size, dtype=np.float32) + y0 + 0.5
        penalty = 25.0 * np.abs(rows - predicted) / eye_distance
        line = float(rows[int(np.argmin(profile + penalty))])
    width = max(mouth.w, 1.0 * eye_distance)
    height = max(mouth.h, 0.3 * eye_distance)
    return Box(centre_x - 0.5 * width, line - 0.5 * height, width, height)


@dataclass(frozen=True)
class FaceGeometry:
    """The face with every feature placed: detected where detection gave it, estimated from the face box
    (typical proportions) where not; eye boxes are the eye *openings*. `estimated` names the estimates."""

    face: Box
    left_eye: Box
    right_eye: Box
    mouth: Box
    neck: tuple[float, float]
    estimated: tuple[str, ...] = ()

    @classmethod
    def from_face(cls, face: Face, image: RGBFrame | None = None) -> FaceGeometry:
        """`image` (the frame the face was found in) lets a photo's eye boxes shrink to the openings and
        its mouth move onto the lip line; drawn faces' boxes are taken as they are."""
        box = face.box
        estimated: list[str] = []
        refine = image is not None and face.kind == "photo"

        def eye(found: Box | None, centre_x: float, name: str) -> Box:
            if found is None or found.w <= 1 or found.h <= 1:
                estimated.append(name)
                found = Box(box.x + (centre_x - 0.12) * box.w, box.y + 0.33 * box.h, 0.24 * box.w, 0.14 * box.h)
            return eye_opening(image, found) if refine and image is not None else found

        left_eye = eye(face.left_eye, 0.31, "left_eye")
        right_eye = eye(face.right_eye, 0.69, "right_eye")
        mouth = face.mouth
        if mouth is None or mouth.w <= 1 or mouth.h <= 1:
            estimated.append("mouth")
            w, h = 0.42 * box.w, 0.15 * box.h
            mouth = Box(box.cx - w / 2, box.y + 0.79 * box.h - h / 2, w, h)
        if refine and image is not None:
            mouth = place_mouth(image, mouth, left_eye, right_eye)
        neck = face.neck
        if neck is None:
            estimated.append("neck")
            neck = (box.cx, box.y + 1.12 * box.h)
        return cls(box, left_eye, right_eye, mouth, neck, tuple(estimated))

    def eye(self, side: Side) -> Box:
        return self.left_eye if side == "left" else self.right_eye

    @property
    def head_centre(self) -> tuple[float, float]:
        """Centre of the head including hair: a little above the face box's centre."""
        return self.face.cx, self.face.cy - 0.12 * self.face.h

    @property
    def head_radii(self) -> tuple[float, float]:
        return 0.68 * self.face.w, 0.82 * self.face.h


@dataclass(frozen=True)
class Regions:
    """Soft weights on the grid, computed once per clip."""

    grid: Grid
    geometry: FaceGeometry | None
    subject: Field  # foreground, blurred
    body: Field  # subject below the head, blurred
    hair: Field  # hair around the face, blurred (zeros without a face)
    inside_x: Field  # distance (px) from the nearer of the left and right edges, <= 0 outside
    inside_y: Field  # ... from the nearer of the top and bottom edges
    subject_box: Box  # bounding box of the subject mask
    carried: Field  # the subject with its soft edge moved outside its outline: moves the outline in full
    head: Field | None = None  # head and hair, fading to 0 at the neck and shoulders
    face_inner: Field | None = None  # the features: eyes, nose, mouth
    head_radius: Field | None = None  # normalised elliptical distance from the head centre
    # An animal's tail and ears the plan moves, found once for the clip (`rig.animal.find_appendages`).
    appendages: Appendages | None = None

    @classmethod
    def build(
        cls, parts: Parts, grid: Grid, image: RGBFrame | None = None, *, appendages: Appendages | None = None
    ) -> Regions:
        """`image`: the frame the parts were found in, to place a photo's eyes and mouth precisely."""
        width, height = grid.width, grid.height
        scale = min(width, height)
        sharp_subject = grid.resample(parts.subject)
        subject = grid.blur(sharp_subject, 0.03 * scale)
        carried = _carried(grid, sharp_subject, 0.03 * scale)
        body = grid.blur(grid.resample(parts.body), 0.03 * scale)
        if float(body.max()) < 0.05:
            body = subject  # a detector that found no separate body: the subject is the body
        inside_x = np.minimum(grid.x, np.float32(width - 1) - grid.x)
        inside_y = np.minimum(grid.y, np.float32(height - 1) - grid.y)
        subject_box = _mask_box(parts.subject, width=width, height=height)

        if parts.face is None:
            hair = np.zeros(grid.shape, dtype=np.float32)
            return cls(
                grid, None, subject, body, hair, inside_x, inside_y, subject_box, carried, appendages=appendages
            )

        geometry = FaceGeometry.from_face(parts.face, image)
        face = geometry.face
        hx, hy = geometry.head_centre
        rx, ry = geometry.head_radii
        head_radius = grid.ellipse_radius(hx, hy, rx, ry)
        chin = face.y + face.h
        shoulders = geometry.neck[1] + 0.45 * face.h
        below_chin = falloff(grid.y, chin, max(shoulders, chin + 1.0))
        hair = grid.blur(grid.resample(parts.hair), 0.22 * face.w)
        head = falloff(head_radius, 1.0, 2.0)
        if float(hair.max()) > 0.05:
            # Long hair moves with the head near it, not down to its ends.
            head = np.maximum(head, np.clip(hair / max(float(hair.max()), 1e-3), 0, 1) * falloff(head_radius, 1.5, 2.8))
        head = np.asarray(head * below_chin, dtype=np.float32)
        face_inner = falloff(
            grid.ellipse_radius(face.cx, face.cy + 0.02 * face.h, 0.5 * face.w, 0.55 * face.h), 0.5, 1.15
        )
        return cls(
            grid,
            geometry,
            subject,
            body,
            hair,
            inside_x,
            inside_y,
            subject_box,
            carried,
            head=head,
            face_inner=face_inner,
            head_radius=head_radius,
            appendages=appendages,
        )

    def pin_to_border(self, basis: Vector, peak: float) -> Vector:
        """`basis` with its x part faded to 0 at the left and right edges and its y part at the top and
        bottom. The band grows with the displacement (`peak` times the basis), so that the fade itself
        stays within the stretch limit: a smoothstep over `band` px has a slope of 1.5 / band."""
        pinned = np.empty_like(basis)
        least = _MIN_BORDER_BAND * min(self.grid.width, self.grid.height)
        for axis, inside in ((0, self.inside_x), (1, self.inside_y)):
            reach = peak * float(np.abs(basis[..., axis]).max()) if basis.size else 0.0
            widest = 0.5 * (self.grid.width if axis == 0 else self.grid.height)
            band = min(max(least, reach * 1.5 / _BORDER_FADE_STRAIN), widest)
            pinned[..., axis] = basis[..., axis] * rise(inside, 0.0, band)
        return pinned


def _carried(grid: Grid, sharp_subject: Field, sigma_px: float) -> Field:
    """`sharp_subject` grown by 1.5 `sigma_px`, then blurred by `sigma_px`: 0.93 on the outline. A motion of
    the whole subject weighted by this moves its outline (often all the texture a drawing's torso has)
    nearly in full, and drags the air just outside it instead of the subject's own edge."""
    radius = max(1, round(1.5 * sigma_px / grid.cell_px))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    grown = np.asarray(cv2.dilate(np.ascontiguousarray(sharp_subject), kernel), dtype=np.float32)
    return grid.blur(grown, sigma_px)


def _mask_box(mask: npt.NDArray[np.float32], *, width: int, height: int) -> Box:
    rows = np.flatnonzero(mask.max(axis=1) > 0.5) if mask.size else np.empty(0, dtype=np.intp)
    columns = np.flatnonzero(mask.max(axis=0) > 0.5) if mask.size else np.empty(0, dtype=np.intp)
    if rows.size == 0 or columns.size == 0:
        return Box(0.2 * width, 0.15 * height, 0.6 * width, 0.85 * height)  # a centred, plausible subject
    sy = height / mask.shape[0]
    sx = width / mask.shape[1]
    return Box(
        float(columns[0]) * sx,
        float(rows[0]) * sy,
        float(columns[-1] - columns[0] + 1) * sx,
        float(rows[-1] - rows[0] + 1) * sy,
    )


def fallback_parts(width: int, height: int, *, method: str = "fallback") -> Parts:
    """Parts for an image nothing was detected in: a centred, soft subject, no face, no hair."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = np.sqrt(((xx - 0.5 * width) / (0.36 * width)) ** 2 + ((yy - 0.6 * height) / (0.5 * height)) ** 2)
    subject = np.asarray(np.clip(1.4 - radius, 0.0, 1.0), dtype=np.float32)  # (H, W), soft-edged
    body = np.asarray(subject * np.clip((yy / height - 0.35) / 0.15, 0.0, 1.0), dtype=np.float32)
    return Parts(
        width=width,
        height=height,
        face=None,
        subject=subject,
        hair=np.zeros((height, width), dtype=np.float32),
        body=body,
        background=np.asarray(1.0 - subject, dtype=np.float32),
        method=method,
    )
