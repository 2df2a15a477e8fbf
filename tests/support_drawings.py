"""Anime-style characters drawn in code, with the ground truth the drawing knows.

Reusable by any test or evaluation (`tests/` is on pytest's path): `draw_character` paints flat colours
with OpenCV (hair behind the head, a torso, a neck, a face ellipse, big eyes with dark pupils and
highlights, a mouth line, bangs) and returns the picture together with where it put every part, so
that detection and motion can be scored against exact answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

RGB = tuple[int, int, int]
# A named fill, one colour, or a whole `(H, W, 3)` uint8 RGB picture to paint the character over.
Background = Literal["gradient", "plain"] | RGB | npt.NDArray[np.uint8]

SKIN: RGB = (252, 224, 200)
EYE_WHITE: RGB = (255, 255, 255)
PUPIL: RGB = (25, 20, 30)
LASH: RGB = (35, 25, 30)
SHIRT_COLORS: tuple[RGB, ...] = ((70, 90, 160), (200, 60, 70), (60, 130, 90), (240, 240, 245))
IRIS_COLORS: tuple[RGB, ...] = ((60, 110, 200), (40, 150, 90), (150, 60, 40), (140, 60, 170))
HAIR_COLORS: tuple[RGB, ...] = ((90, 50, 30), (240, 210, 110), (40, 40, 55), (230, 120, 150), (110, 150, 230))

# Label values of the truth map, painted in the same order as the colours so that occlusion matches.
_BACKGROUND, _HAIR, _BODY, _SKIN, _EYE, _MOUTH = 0, 1, 2, 3, 4, 5


@dataclass(frozen=True)
class DrawnTruth:
    face_box: tuple[float, float, float, float]  # (x, y, w, h) px of the face ellipse's bounding box
    left_eye: tuple[float, float]  # (x, y) px, the eye nearer the image's left edge
    right_eye: tuple[float, float]
    eye_size: tuple[float, float]  # (w, h) px of one eye
    mouth: tuple[float, float]  # (x, y) px
    neck: tuple[float, float]  # (x, y) px, the top of the neck under the chin
    labels: npt.NDArray[np.uint8]  # (H, W): 0 background, 1 hair, 2 body, 3 skin, 4 eye, 5 mouth
    # The colours the drawing used (filled in by `draw_character`; the defaults are its fixed ones).
    iris_color: RGB = (0, 0, 0)
    hair_color: RGB = (0, 0, 0)
    skin_color: RGB = SKIN
    eye_white_color: RGB = EYE_WHITE
    pupil_color: RGB = PUPIL
    lash_color: RGB = LASH

    @property
    def hair_mask(self) -> npt.NDArray[np.bool_]:  # (H, W)
        mask: npt.NDArray[np.bool_] = self.labels == _HAIR
        return mask

    @property
    def body_mask(self) -> npt.NDArray[np.bool_]:  # (H, W) torso (shirt), not the neck
        mask: npt.NDArray[np.bool_] = self.labels == _BODY
        return mask

    @property
    def subject_mask(self) -> npt.NDArray[np.bool_]:  # (H, W) everything but the background
        mask: npt.NDArray[np.bool_] = self.labels != _BACKGROUND
        return mask

    @property
    def face_centre(self) -> tuple[float, float]:
        x, y, w, h = self.face_box
        return x + w / 2, y + h / 2


def _background(width: int, height: int, background: Background, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    if isinstance(background, np.ndarray):
        if background.shape != (height, width, 3) or background.dtype != np.uint8:
            raise ValueError(f"a background picture must be ({height}, {width}, 3) uint8, got {background.shape}")
        return np.ascontiguousarray(background).copy()
    if isinstance(background, tuple):
        return np.broadcast_to(np.array(background, np.uint8), (height, width, 3)).copy()
    if background == "plain":
        return np.broadcast_to(np.array((225, 235, 245), np.uint8), (height, width, 3)).copy()
    tops = ((150, 200, 250), (200, 185, 240), (200, 230, 200))
    top = np.array(tops[int(rng.integers(len(tops)))], np.float32)
    bottom = np.array((250, 250, 245), np.float32)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]  # (H, 1, 1)
    rows = (1 - t) * top + t * bottom  # (H, 1, 3)
    return np.ascontiguousarray(np.broadcast_to(rows, (height, width, 3)), dtype=np.uint8)


def draw_character(
    width: int,
    height: int,
    *,
    seed: int = 0,
    hair_color: RGB | None = None,
    background: Background = "gradient",
    eye_scale: float = 1.0,
) -> tuple[npt.NDArray[np.uint8], DrawnTruth]:
    """A front-facing anime-style bust: `(H, W, 3)` uint8 RGB and its `DrawnTruth`.

    `seed` varies placement, size and colours a little; the head is always fully inside the frame.
    `background` may be a picture of the output size: the character is painted over it, and the same
    character over a flat colour differs from it only where the background shows. `eye_scale` sizes
    the eyes (irises, pupils, highlights and lash lines with them) about their centres.
    """
    rng = np.random.default_rng(seed)
    hair = hair_color if hair_color is not None else HAIR_COLORS[int(rng.integers(len(HAIR_COLORS)))]
    shirt = SHIRT_COLORS[int(rng.integers(len(SHIRT_COLORS)))]
    iris = IRIS_COLORS[int(rng.integers(len(IRIS_COLORS)))]

    image = _background(width, height, background, rng)  # (H, W, 3) RGB
    labels = np.zeros((height, width), np.uint8)
    short = min(width, height)

    # Face ellipse: semi-axes (a, b), a bit taller than wide, in the upper-middle of the frame.
    a = short * rng.uniform(0.17, 0.21)
    b = a * 1.12
    cx = width / 2 + short * rng.uniform(-0.05, 0.05)
    cy = max(height * rng.uniform(0.36, 0.42), b * 1.6)
    dark = tuple(int(c * 0.55) for c in hair)

    def ellipse(centre: tuple[float, float], axes: tuple[float, float], color: RGB, label: int) -> None:
        c = (round(centre[0]), round(centre[1]))
        ax = (max(1, round(axes[0])), max(1, round(axes[1])))
        cv2.ellipse(image, c, ax, 0, 0, 360, color, -1, cv2.LINE_AA)
        cv2.ellipse(labels, c, ax, 0, 0, 360, label, -1)

    def polygon(points: list[tuple[float, float]], color: RGB, label: int) -> None:
        pts = np.round(np.array(points)).astype(np.int32)  # (N, 2) x, y
        cv2.fillPoly(image, [pts], color, cv2.LINE_AA)
        cv2.fillPoly(labels, [pts], label)

    # Hair behind the head: a big cap plus long locks falling to the shoulders.
    ellipse((cx, cy - 0.15 * b), (1.32 * a, 1.3 * b), hair, _HAIR)
    polygon(
        [(cx - 1.3 * a, cy - 0.2 * b), (cx - 1.45 * a, cy + 1.6 * b), (cx - 0.6 * a, cy + 1.5 * b), (cx - 0.5 * a, cy)],
        hair,
        _HAIR,
    )
    polygon(
        [(cx + 1.3 * a, cy - 0.2 * b), (cx + 1.45 * a, cy + 1.6 * b), (cx + 0.6 * a, cy + 1.5 * b), (cx + 0.5 * a, cy)],
        hair,
        _HAIR,
    )

    # Torso: shoulders below the chin down to the bottom edge.
    chin_y = cy + b
    shoulder_y = chin_y + 0.45 * b
    polygon(
        [
            (cx - 0.55 * a, shoulder_y - 0.1 * b),
            (cx + 0.55 * a, shoulder_y - 0.1 * b),
            (cx + 2.0 * a, shoulder_y + 0.5 * b),
            (cx + 2.3 * a, height + 2),
            (cx - 2.3 * a, height + 2),
            (cx - 2.0 * a, shoulder_y + 0.5 * b),
        ],
        shirt,
        _BODY,
    )
    # Neck, then the face over it.
    polygon(
        [
            (cx - 0.3 * a, cy + 0.5 * b),
            (cx + 0.3 * a, cy + 0.5 * b),
            (cx + 0.3 * a, shoulder_y),
            (cx - 0.3 * a, shoulder_y),
        ],
        SKIN,
        _SKIN,
    )
    ellipse((cx, cy), (a, b), SKIN, _SKIN)

    # Bangs: a cap over the forehead with a jagged lower edge, so the eyes stay uncovered.
    fringe_y = cy - 0.3 * b
    bangs = [(cx - 1.1 * a, cy - 0.05 * b)]
    teeth = 5
    for i in range(teeth + 1):
        x = cx - a + 2 * a * i / teeth
        bangs.append((x, fringe_y + (0.18 * b if 0 < i < teeth else 0.0)))
        if i < teeth:
            bangs.append((x + a / teeth, fringe_y - 0.05 * b))
    bangs += [(cx + 1.1 * a, cy - 0.05 * b), (cx + 1.05 * a, cy - 0.9 * b)]
    bangs += [(cx, cy - 1.2 * b), (cx - 1.05 * a, cy - 0.9 * b)]
    polygon(bangs, hair, _HAIR)

    # Eyes: big white ellipse, iris, dark pupil, two highlights; a brow-like upper lash line.
    eye_dx = 0.42 * a
    eye_y = cy + 0.12 * b
    e = a * eye_scale if eye_scale != 1.0 else a  # the eyes' own unit (exactly `a` at the default size)
    eye_ax = (0.2 * e, 0.27 * e)
    eyes = ((cx - eye_dx, eye_y), (cx + eye_dx, eye_y))
    for ex, ey in eyes:
        ellipse((ex, ey), eye_ax, EYE_WHITE, _EYE)
        ellipse((ex, ey + 0.03 * e), (0.16 * e, 0.23 * e), iris, _EYE)
        ellipse((ex, ey + 0.05 * e), (0.09 * e, 0.13 * e), PUPIL, _EYE)
        ellipse((ex - 0.06 * e, ey - 0.08 * e), (0.05 * e, 0.05 * e), EYE_WHITE, _EYE)
        ellipse((ex + 0.05 * e, ey + 0.1 * e), (0.025 * e, 0.025 * e), EYE_WHITE, _EYE)
        lash, lash_axes = (round(ex), round(ey - 0.02 * e)), (round(0.24 * e), round(0.3 * e))
        cv2.ellipse(image, lash, lash_axes, 0, 200, 340, LASH, max(2, round(0.04 * e)), cv2.LINE_AA)
    # Mouth: a short smiling arc.
    mouth = (cx, cy + 0.6 * b)
    thickness = max(2, round(0.035 * a))
    arc_centre, arc_axes = (round(mouth[0]), round(mouth[1] - 0.06 * a)), (round(0.14 * a), round(0.08 * a))
    cv2.ellipse(image, arc_centre, arc_axes, 0, 20, 160, (150, 60, 60), thickness, cv2.LINE_AA)
    cv2.ellipse(labels, arc_centre, arc_axes, 0, 20, 160, _MOUTH, thickness)
    # A thin darker outline of the face reads as line art without changing the labels.
    outline = max(1, round(0.02 * a))
    cv2.ellipse(image, (round(cx), round(cy)), (round(a), round(b)), 0, -10, 190, dark, outline, cv2.LINE_AA)

    truth = DrawnTruth(
        face_box=(cx - a, cy - b, 2 * a, 2 * b),
        left_eye=eyes[0],
        right_eye=eyes[1],
        eye_size=(2 * eye_ax[0], 2 * eye_ax[1]),
        mouth=mouth,
        neck=(cx, chin_y),
        labels=labels,
        iris_color=iris,
        hair_color=hair,
    )
    return np.ascontiguousarray(image), truth


def brick_wall(width: int, height: int, seed: int) -> npt.NDArray[np.uint8]:
    """Bricks of varied reds with noise, between light mortar lines: a background that is all edges."""
    rng = np.random.default_rng(seed)
    wall = np.full((height, width, 3), (205, 195, 180), np.float32)
    brick_w, brick_h, mortar = 64, 26, 4
    for row, top in enumerate(range(0, height, brick_h)):
        shift = (row % 2) * brick_w // 2
        for left in range(-shift, width, brick_w):
            colour = rng.uniform((120, 40, 30), (190, 80, 60))
            y0, x0 = top + mortar // 2, max(0, left + mortar // 2)
            wall[y0 : top + brick_h - mortar // 2, x0 : max(x0, left + brick_w - mortar // 2)] = colour
    wall += rng.normal(0.0, 8.0, wall.shape)
    return np.asarray(np.clip(wall, 0, 255), dtype=np.uint8)
