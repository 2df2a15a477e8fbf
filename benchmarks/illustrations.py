"""Drawn characters for the motion evaluation, with the parts' true positions.

The characters come from `tests/support_drawings.py` (flat anime-style colours). Flat colour gives
optical flow nothing to hold on to except edges, so the "detailed" variants add what real
illustrations have: a background with shapes (bokeh circles, a window frame) and hair strands. The
"flat" variant is the drawing as is, the hard case for flow-based scoring.

For the artefact measures (`artefacts.py`) a character comes as a PAIR: painted over a textured wall
(bricks with mortar lines and per-brick colour, a window with frame bars, a poster with shapes and
lines of "text") and the same character over one flat colour. Where the two pictures differ is
background; the rest is the subject (`subject_from_pair`, which works for any such pair). With it
come the parts' truth the measures need (`PartTruth`): eye ellipses, colours, face, bangs, hair tips.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support_drawings import RGB, DrawnTruth, draw_character

RGBImage = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
BoolMask = npt.NDArray[np.bool_]  # (H, W)

# Portrait 3:4 with a 720 px short side: the engine's output size, so no resizing between the
# drawing's truth and the rendered frames.
WIDTH: Final = 720
HEIGHT: Final = 960


@dataclass(frozen=True)
class Illustration:
    image: RGBImage
    truth: DrawnTruth
    background: BoolMask  # where the drawing shows background


def _detail_background(image: RGBImage, background: BoolMask, rng: np.random.Generator) -> None:
    """Paint soft circles and a window frame, only on background pixels (in place)."""
    height, width = background.shape
    layer = image.copy()
    for _ in range(70):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = int(rng.integers(8, 45))
        colour = tuple(int(c) for c in rng.integers(120, 255, 3))
        cv2.circle(layer, centre, radius, colour, -1, cv2.LINE_AA)
        cv2.circle(layer, centre, radius, tuple(int(c * 0.7) for c in colour), 2, cv2.LINE_AA)
    frame_colour = (110, 90, 80)
    for x in (int(0.08 * width), int(0.92 * width)):
        cv2.line(layer, (x, 0), (x, height), frame_colour, 6, cv2.LINE_AA)
    for y in (int(0.12 * height), int(0.55 * height)):
        cv2.line(layer, (0, y), (width, y), frame_colour, 6, cv2.LINE_AA)
    image[background] = layer[background]


def _hair_strands(image: RGBImage, hair: BoolMask, rng: np.random.Generator) -> None:
    """Darker and lighter strand lines inside the hair (in place)."""
    ys, xs = np.nonzero(hair)
    if len(xs) == 0:
        return
    base = np.median(image[hair], axis=0)
    layer = image.copy()
    for _ in range(160):
        pick = int(rng.integers(len(xs)))
        x0, y0 = int(xs[pick]), int(ys[pick])
        length = int(rng.integers(20, 70))
        angle = rng.uniform(0.3, 2.8)  # mostly downward strands
        x1, y1 = int(x0 + length * np.cos(angle)), int(y0 + length * np.sin(angle))
        shade = 0.65 if rng.random() < 0.6 else 1.3
        colour = tuple(int(min(255, c * shade)) for c in base)
        cv2.line(layer, (x0, y0), (x1, y1), colour, int(rng.integers(2, 4)), cv2.LINE_AA)
    image[hair] = layer[hair]


def illustration(
    kind: Literal["detailed", "flat"], *, seed: int, hair_color: tuple[int, int, int] | None = None
) -> Illustration:
    """A drawn character at the engine's output size; `detailed` adds background shapes and strands."""
    image, truth = draw_character(WIDTH, HEIGHT, seed=seed, hair_color=hair_color)
    image = image.copy()
    background = truth.labels == 0
    if kind == "detailed":
        rng = np.random.default_rng(1000 + seed)
        _detail_background(image, background, rng)
        _hair_strands(image, truth.hair_mask, rng)
    return Illustration(image=image, truth=truth, background=background)


def png_bytes(image: RGBImage) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return bytes(encoded.tobytes())


# --- characters on a textured wall, and the same ones on a flat colour ------------------------------

FLAT_BACKGROUND: Final[RGB] = (206, 222, 214)  # a pale green-grey no wall pixel is likely to match exactly


@dataclass(frozen=True)
class Ellipse:
    """An axis-aligned ellipse in pixels: centre and semi-axes."""

    cx: float
    cy: float
    ax: float
    ay: float

    def mask(self, height: int, width: int, *, grow: float = 1.0, shift: tuple[float, float] = (0.0, 0.0)) -> BoolMask:
        """`(height, width)` bool, True inside the ellipse with its semi-axes times `grow`, moved by `shift`."""
        ys, xs = np.ogrid[:height, :width]
        dx = (xs + 0.5 - (self.cx + shift[0])) / (self.ax * grow)
        dy = (ys + 0.5 - (self.cy + shift[1])) / (self.ay * grow)
        inside: BoolMask = dx * dx + dy * dy <= 1.0
        return inside

    def mapped(self, matrix: npt.NDArray[np.float64]) -> Ellipse:
        """This ellipse moved by the 2x3 affine `matrix` (axes scaled by its mean scale)."""
        cx, cy = matrix @ np.array([self.cx, self.cy, 1.0])
        zoom = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
        return Ellipse(float(cx), float(cy), self.ax * zoom, self.ay * zoom)


@dataclass(frozen=True)
class PartTruth:
    """What the artefact measures look at, in the picture's pixels.

    Masks are `(H, W)` bool. `eyes` are (viewer's left, viewer's right); "her left eye" is the second.
    """

    eyes: tuple[Ellipse, Ellipse]
    iris: RGB
    pupil: RGB
    eye_white: RGB
    skin: RGB
    face_width: float  # px, the face ellipse's width
    subject: BoolMask  # from the pair's difference
    hair: BoolMask  # hair label, subject only
    bangs: BoolMask  # hair inside the face box above the eyes
    hair_tips: BoolMask  # the lowest quarter of the side locks
    face: BoolMask  # skin inside the face ellipse, eyes (with their lash lines) and mouth left out
    mouth: BoolMask

    def mapped(self, matrix: npt.NDArray[np.float64], width: int, height: int) -> PartTruth:
        """The same truth moved by the 2x3 affine `matrix` into a `width` x `height` frame."""

        def move(mask: BoolMask) -> BoolMask:
            moved = cv2.warpAffine(mask.astype(np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST)
            return np.asarray(moved, dtype=bool)

        zoom = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
        return PartTruth(
            eyes=(self.eyes[0].mapped(matrix), self.eyes[1].mapped(matrix)),
            iris=self.iris,
            pupil=self.pupil,
            eye_white=self.eye_white,
            skin=self.skin,
            face_width=self.face_width * zoom,
            subject=move(self.subject),
            hair=move(self.hair),
            bangs=move(self.bangs),
            hair_tips=move(self.hair_tips),
            face=move(self.face),
            mouth=move(self.mouth),
        )


@dataclass(frozen=True)
class CharacterPair:
    """One character over the wall (`textured`) and over `FLAT_BACKGROUND` (`flat`)."""

    name: str
    textured: RGBImage
    flat: RGBImage
    truth: DrawnTruth
    parts: PartTruth

    @property
    def background(self) -> BoolMask:
        return ~self.parts.subject


def brick_wall(width: int, height: int, *, seed: int) -> RGBImage:
    """A brick wall with mortar lines and per-brick colour jitter, a window (frame bars, glass) on the
    left and a poster (shapes, lines of "text") on the right. `(height, width, 3)` uint8 RGB.

    The bricks are irregular (course heights, brick lengths and joint offsets vary, each brick has its
    own shading ramp and grain): a perfectly regular wall is mirror-symmetric about every joint, which
    would make any mirror test fire on the wall itself.
    """
    rng = np.random.default_rng(seed)
    unit = width / 720  # everything is sized for a 720 px wide picture
    brick_w, brick_h, mortar = 64 * unit, 27 * unit, max(2, round(4 * unit))
    wall = np.empty((height, width, 3), np.float32)
    wall[:] = (196, 190, 178)  # mortar
    top = -rng.uniform(0.2, 0.8) * brick_h
    while top < height:
        course = brick_h * rng.uniform(0.8, 1.25)
        left = -rng.uniform(0.1, 1.0) * brick_w
        while left < width:
            length = brick_w * rng.uniform(0.7, 1.35)
            y0, y1 = max(0, round(top) + mortar // 2), min(height, round(top + course) - (mortar - mortar // 2))
            x0, x1 = max(0, round(left) + mortar // 2), min(width, round(left + length) - (mortar - mortar // 2))
            if y1 > y0 and x1 > x0:
                base = np.array((158, 78, 58), np.float32) * rng.uniform(0.78, 1.12) + rng.uniform(-14, 14, 3)
                ramp = rng.uniform(-0.12, 0.12) * np.linspace(-1.0, 1.0, x1 - x0, dtype=np.float32)
                wall[y0:y1, x0:x1] = base * (1.0 + ramp)[None, :, None]
            left += length
        top += course
    grain = cv2.GaussianBlur(rng.normal(0.0, 9.0, (height, width)).astype(np.float32), (0, 0), 1.2)
    wall += grain[..., None] * 1.6
    image = np.clip(wall, 0, 255).astype(np.uint8)

    def box(fx: float, fy: float, fw: float, fh: float) -> tuple[int, int, int, int]:
        return round(fx * width), round(fy * height), round((fx + fw) * width), round((fy + fh) * height)

    # Window: glass with a vertical gradient and a pale reflection, a wide frame and cross bars.
    x0, y0, x1, y1 = box(0.03, 0.07, 0.19, 0.3)
    t = np.linspace(0.0, 1.0, y1 - y0, dtype=np.float32)[:, None, None]
    glass = (1 - t) * np.array((150, 190, 230), np.float32) + t * np.array((205, 225, 240), np.float32)
    image[y0:y1, x0:x1] = np.broadcast_to(glass, (y1 - y0, x1 - x0, 3)).astype(np.uint8)
    reflection = np.array(
        [[x0 + 0.2 * (x1 - x0), y1], [x0 + 0.45 * (x1 - x0), y1], [x1, y0 + 0.2 * (y1 - y0)], [x1, y0]]
    )
    cv2.fillPoly(image, [np.round(reflection).astype(np.int32)], (222, 236, 246), cv2.LINE_AA)
    frame_colour, bar = (236, 232, 220), max(4, round(9 * unit))
    cv2.rectangle(image, (x0, y0), (x1, y1), frame_colour, bar, cv2.LINE_AA)
    cv2.line(image, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), frame_colour, bar * 2 // 3, cv2.LINE_AA)
    cv2.line(image, (x0, (y0 + y1) // 2), (x1, (y0 + y1) // 2), frame_colour, bar * 2 // 3, cv2.LINE_AA)
    cv2.rectangle(image, (x0 - bar, y1), (x1 + bar, y1 + bar), (150, 145, 140), -1)  # the sill

    # Poster: paper, a sun, a triangle, a title bar and lines of "text" of random lengths.
    x0, y0, x1, y1 = box(0.78, 0.1, 0.19, 0.27)
    cv2.rectangle(image, (x0, y0), (x1, y1), (244, 236, 206), -1)
    cv2.rectangle(image, (x0, y0), (x1, y1), (90, 80, 70), max(1, round(2 * unit)), cv2.LINE_AA)
    pw, ph = x1 - x0, y1 - y0
    cv2.circle(image, (x0 + round(0.3 * pw), y0 + round(0.25 * ph)), round(0.14 * pw), (235, 160, 40), -1, cv2.LINE_AA)
    triangle = np.array(
        [[x0 + 0.45 * pw, y0 + 0.45 * ph], [x0 + 0.9 * pw, y0 + 0.45 * ph], [x0 + 0.68 * pw, y0 + 0.1 * ph]]
    )
    cv2.fillPoly(image, [np.round(triangle).astype(np.int32)], (60, 120, 170), cv2.LINE_AA)
    cv2.rectangle(
        image,
        (x0 + round(0.08 * pw), y0 + round(0.52 * ph)),
        (x1 - round(0.08 * pw), y0 + round(0.6 * ph)),
        (180, 50, 60),
        -1,
    )
    line_h = max(2, round(3 * unit))
    for y in np.arange(y0 + 0.66 * ph, y1 - 0.05 * ph, 0.07 * ph):
        length = rng.uniform(0.4, 0.84) * pw
        cv2.line(
            image,
            (x0 + round(0.08 * pw), round(y)),
            (x0 + round(0.08 * pw + length), round(y)),
            (70, 65, 60),
            line_h,
            cv2.LINE_AA,
        )
    return image


def subject_from_pair(textured: RGBImage, flat: RGBImage, *, min_area_fraction: float = 0.002) -> BoolMask:
    """The subject of a character drawn over two backgrounds: the pixels where the pictures agree.

    A background pixel that happens to match exactly, and specks of them, are dropped (an opening and
    components under `min_area_fraction` of the picture); holes in the subject under the same area are
    filled. Anti-aliased outline pixels blend with the background, so they count as background.
    """
    if textured.shape != flat.shape:
        raise ValueError(f"the pictures differ in size: {textured.shape} vs {flat.shape}")
    same = np.all(textured == flat, axis=2).astype(np.uint8)
    same = cv2.morphologyEx(same, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    min_area = min_area_fraction * same.size

    def big_parts(mask: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        keep = np.zeros(count, bool)
        keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
        return np.asarray(keep[labels], dtype=np.uint8)

    subject = big_parts(np.asarray(same, dtype=np.uint8))
    holes = big_parts(
        np.asarray(1 - subject, dtype=np.uint8)
    )  # background pieces big enough to be real; the rest are holes
    result: BoolMask = holes == 0
    return result


def _part_truth(truth: DrawnTruth, subject: BoolMask, eye_scale: float) -> PartTruth:
    labels = truth.labels
    height, width = labels.shape
    fx, fy, fw, fh = truth.face_box
    a, b = fw / 2, fh / 2
    cx, cy = fx + a, fy + b
    eye_w, eye_h = truth.eye_size
    eyes = (
        Ellipse(truth.left_eye[0], truth.left_eye[1], eye_w / 2, eye_h / 2),
        Ellipse(truth.right_eye[0], truth.right_eye[1], eye_w / 2, eye_h / 2),
    )
    ys, xs = np.mgrid[:height, :width]
    hair = truth.hair_mask & subject
    eye_top = min(e.cy - e.ay for e in eyes)
    bangs = hair & (xs >= fx) & (xs < fx + fw) & (ys >= fy) & (ys < eye_top)
    # Side locks run from 0.2 b above the face centre down to the lowest hair pixel.
    lock_top = cy - 0.2 * b
    lowest = float(ys[hair].max())
    tips = hair & (ys >= lowest - 0.25 * (lowest - lock_top)) & (np.abs(xs - cx) >= 0.5 * a)
    face_ellipse = Ellipse(cx, cy, a, b).mask(height, width)
    # The lash line reaches 0.32 e above the eye centre and 0.24 e to its sides: 1.2x the eye's axes.
    lashes = eyes[0].mask(height, width, grow=1.25) | eyes[1].mask(height, width, grow=1.25)
    mx, my = truth.mouth
    mouth = Ellipse(mx, my - 0.04 * a, 0.22 * a, 0.14 * a).mask(height, width)
    face = face_ellipse & (labels == 3) & subject & ~lashes & ~mouth
    return PartTruth(
        eyes=eyes,
        iris=truth.iris_color,
        pupil=truth.pupil_color,
        eye_white=truth.eye_white_color,
        skin=truth.skin_color,
        face_width=fw,
        subject=subject,
        hair=hair,
        bangs=bangs,
        hair_tips=tips,
        face=face,
        mouth=mouth,
    )


# name -> (width, height, seed, hair colour, eye scale). "main" is 3:4 at the engine's portrait size;
# "held-out" is a 5:4 landscape with another seed, pink hair and smaller eyes, so that a measure tuned
# on one picture shows it.
PAIR_LAYOUTS: Final[dict[str, tuple[int, int, int, RGB | None, float]]] = {
    "brick-main": (WIDTH, HEIGHT, 2, (60, 45, 40), 1.0),
    "brick-heldout": (900, 720, 11, (230, 120, 150), 0.8),
}


def character_pair(name: str) -> CharacterPair:
    """The character `name` (a `PAIR_LAYOUTS` key) over the brick wall and over a flat colour."""
    width, height, seed, hair_color, eye_scale = PAIR_LAYOUTS[name]
    wall = brick_wall(width, height, seed=100 + seed)
    images = []
    truth: DrawnTruth | None = None
    for background in (wall, FLAT_BACKGROUND):
        image, truth = draw_character(
            width, height, seed=seed, hair_color=hair_color, background=background, eye_scale=eye_scale
        )
        image = image.copy()
        _hair_strands(image, truth.hair_mask, np.random.default_rng(2000 + seed))
        images.append(image)
    assert truth is not None
    subject = subject_from_pair(images[0], images[1])
    return CharacterPair(
        name=name, textured=images[0], flat=images[1], truth=truth, parts=_part_truth(truth, subject, eye_scale)
    )
