"""Test pictures for the prompt corpus, each with the regions where its effects should move.

`draw_scene(name)` returns a `Scene`: the RGB picture and named boolean masks in its own pixels. The
characters are those of `illustrations.py` (drawn, with their parts' truth) and the sample photos
(hand-labelled boxes from `motion_eval.PHOTOS`). The other scenes are painted here, procedurally and
deterministically (numpy + OpenCV, 720x480): value-noise shading and brush strokes give optical flow
texture to hold on to, as a painting or a photo would.

Region names shared by all scenes (a scene has those that make sense for it):
* `frame`: everything; `still`: what nothing in the corpus should move (mountains, a table, walls,
  a drawing's background): the scorer fits the camera's motion there.
* characters: `face`, `eyes`, `mouth`, `hair`, `body`, `cheeks` (under the eyes, where tears run and
  blushes show), `hand_area` (beside the head and shoulders and under the chin: where a raised hand,
  a wave or a hand on the chin would be drawn; the portraits show no hands), its three parts
  `hand_area_left`, `hand_area_right` and `hand_area_chin`, and below each the path of the arm that
  raises a hand there (`arm_left`, ...), `background`;
* nature: `sky` (with its clouds), `clouds`, `water` (river, lake, sea, a wet street), `waterfall`,
  `trees`, `grass`, `flowers`, `boat`, `flag`, `mountains`;
* objects and light: `cup`, `steam` (above the rim), `bottle`, `candles`, `flames`, `smoke` (above the
  flames), `neon`;
* animals: `face`, `eyes`, `mouth`, `ears`, `tail`, `body`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from illustrations import HEIGHT as CHARACTER_HEIGHT
from illustrations import WIDTH as CHARACTER_WIDTH
from illustrations import illustration

RGBImage = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
BoolMask = npt.NDArray[np.bool_]  # (H, W)
FloatImage = npt.NDArray[np.float32]

WIDTH: Final = 720
HEIGHT: Final = 480
FIXTURES: Final = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


@dataclass(frozen=True)
class Scene:
    name: str
    image: RGBImage
    masks: dict[str, BoolMask]

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def mask(self, region: str) -> BoolMask:
        if region == "frame":
            return np.ones(self.image.shape[:2], dtype=bool)
        try:
            return self.masks[region]
        except KeyError:
            raise KeyError(f"scene {self.name!r} has no region {region!r}; it has {sorted(self.masks)}") from None


# --- painting helpers ---------------------------------------------------------------------------------


def value_noise(height: int, width: int, rng: np.random.Generator, *, cells: int = 8, octaves: int = 4) -> FloatImage:
    """`(height, width)` float32 in about [-1, 1]: random grids of growing resolution, smoothly enlarged."""
    total = np.zeros((height, width), np.float32)
    amplitude, weight = 1.0, 0.0
    for octave in range(octaves):
        n = cells * 2**octave
        grid = rng.uniform(-1, 1, (max(2, n * height // width), n)).astype(np.float32)
        total += amplitude * np.asarray(cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC), np.float32)
        weight += amplitude
        amplitude *= 0.5
    return np.asarray(np.clip(total / weight, -1, 1), dtype=np.float32)


def _fill(
    image: RGBImage,
    mask: BoolMask,
    colour: tuple[int, int, int],
    rng: np.random.Generator,
    *,
    texture: float = 25.0,
    cells: int = 8,
) -> None:
    """Paint `colour` over `mask`, shaded by value noise of +-`texture` levels (in place)."""
    height, width = mask.shape
    shade = value_noise(height, width, rng, cells=cells)[..., None] * texture
    painted = np.clip(np.asarray(colour, np.float32) + shade, 0, 255).astype(np.uint8)
    image[mask] = painted[mask]


def _strokes(
    image: RGBImage,
    mask: BoolMask,
    rng: np.random.Generator,
    *,
    count: int,
    length: tuple[int, int],
    angle: tuple[float, float],
    shades: tuple[float, float] = (0.7, 1.25),
    thickness: tuple[int, int] = (1, 3),
) -> None:
    """Short brush strokes starting inside `mask`, each a darker or lighter shade of the pixel it starts
    on; only `mask` pixels are changed (in place). Angles in radians, 0 = right, pi/2 = down."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return
    layer = image.copy()
    for _ in range(count):
        pick = int(rng.integers(len(xs)))
        x0, y0 = int(xs[pick]), int(ys[pick])
        size = int(rng.integers(*length))
        theta = float(rng.uniform(*angle))
        x1, y1 = round(x0 + size * math.cos(theta)), round(y0 + size * math.sin(theta))
        factor = shades[0] if rng.random() < 0.5 else shades[1]
        colour = tuple(int(min(255, c * factor)) for c in image[y0, x0])
        cv2.line(layer, (x0, y0), (x1, y1), colour, int(rng.integers(*thickness)), cv2.LINE_AA)
    image[mask] = layer[mask]


def _polygon_mask(height: int, width: int, points: npt.ArrayLike) -> BoolMask:
    canvas = np.zeros((height, width), np.uint8)
    cv2.fillPoly(canvas, [np.asarray(points, np.int32).reshape(-1, 2)], 1)
    return canvas.astype(bool)


def _ellipse_mask(
    height: int, width: int, centre: tuple[float, float], axes: tuple[float, float], angle: float = 0.0
) -> BoolMask:
    canvas = np.zeros((height, width), np.uint8)
    cv2.ellipse(canvas, (round(centre[0]), round(centre[1])), (round(axes[0]), round(axes[1])), angle, 0, 360, 1, -1)
    return canvas.astype(bool)


def _box_mask(height: int, width: int, x0: float, y0: float, x1: float, y1: float) -> BoolMask:
    mask = np.zeros((height, width), dtype=bool)
    mask[max(0, round(y0)) : max(0, round(y1)), max(0, round(x0)) : max(0, round(x1))] = True
    return mask


def _vertical_gradient(height: int, width: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> RGBImage:
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    column = (1 - t) * np.asarray(top, np.float32) + t * np.asarray(bottom, np.float32)
    return np.repeat(column, width, axis=1).astype(np.uint8)


def _ridge(
    width: int, rng: np.random.Generator, *, base: float, spread: float, roughness: float
) -> npt.NDArray[np.int32]:
    """A mountain ridge: y for every 8th x, a smoothed random walk around `base`."""
    xs = np.arange(0, width + 8, 8)
    walk = np.cumsum(rng.normal(0, roughness, len(xs)))
    walk -= np.linspace(walk[0], walk[-1], len(xs))
    peaks = spread * np.sin(np.linspace(0, rng.uniform(2, 4) * math.pi, len(xs)) + rng.uniform(0, 6))
    ys = base + walk + peaks
    return np.stack([xs, ys.astype(np.int32)], axis=1).astype(np.int32)


def _mountains(image: RGBImage, rng: np.random.Generator, *, base: float, colour: tuple[int, int, int]) -> BoolMask:
    height, width = image.shape[:2]
    ridge = _ridge(width, rng, base=base, spread=0.08 * height, roughness=6)
    mask = _polygon_mask(height, width, [*ridge, (width, height), (0, height)])
    _fill(image, mask, colour, rng, texture=22, cells=10)
    _strokes(image, mask, rng, count=900, length=(8, 26), angle=(0.6, 1.3), shades=(0.75, 1.2))
    # Snow on the tops.
    snow = mask & ~np.roll(mask, 14, axis=0)
    _fill(image, snow, (235, 238, 245), rng, texture=10)
    return mask


def _clouds(image: RGBImage, rng: np.random.Generator, *, count: int, band: tuple[float, float]) -> BoolMask:
    """Cumulus clusters of soft ellipses, lit from above; returns where they cover the sky."""
    height, width = image.shape[:2]
    alpha = np.zeros((height, width), np.float32)
    for _ in range(count):
        cx = rng.uniform(0.05, 0.95) * width
        cy = rng.uniform(*band) * height
        for _ in range(int(rng.integers(5, 9))):
            centre = (cx + rng.normal(0, 0.05 * width), cy + rng.normal(0, 0.015 * height))
            axes = (rng.uniform(0.03, 0.07) * width, rng.uniform(0.02, 0.04) * height)
            blob = np.zeros((height, width), np.float32)
            cv2.ellipse(blob, (round(centre[0]), round(centre[1])), (round(axes[0]), round(axes[1])), 0, 0, 360, 1, -1)
            alpha = np.maximum(alpha, blob)
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), 4), np.float32)
    noise = value_noise(height, width, rng, cells=24) * 0.5 + 0.5
    rising = np.asarray(np.gradient(alpha, axis=0), dtype=np.float32).clip(-1, 0)  # cloud tops: lit
    shade = np.clip(0.78 + 0.3 * noise - 0.15 * rising * 20, 0.6, 1.05)
    cloud = np.asarray((250, 250, 252), np.float32) * shade[..., None]
    blended = image.astype(np.float32) * (1 - alpha[..., None]) + cloud * alpha[..., None]
    image[:] = np.clip(blended, 0, 255).astype(np.uint8)
    return alpha > 0.3


def _trees(
    image: RGBImage, rng: np.random.Generator, bases: list[tuple[float, float]], *, scale: float, pine: bool = False
) -> BoolMask:
    """Trees standing at `bases` (x, y of the trunk's foot); returns their crowns and trunks."""
    height, width = image.shape[:2]
    mask = np.zeros((height, width), dtype=bool)
    for bx, by in bases:
        trunk_h = scale * rng.uniform(0.7, 1.0)
        trunk = _box_mask(height, width, bx - 0.06 * scale, by - trunk_h, bx + 0.06 * scale, by)
        _fill(image, trunk, (90, 62, 40), rng, texture=18)
        crown = np.zeros((height, width), dtype=bool)
        if pine:
            for level in range(4):
                top = by - trunk_h * (0.35 + 0.3 * level) - 0.4 * scale
                half = 0.45 * scale * (1 - 0.2 * level)
                bottom = by - trunk_h * (0.2 + 0.3 * level)
                crown |= _polygon_mask(height, width, [(bx, top), (bx + half, bottom), (bx - half, bottom)])
            colour = (40, 90, 60)
        else:
            for _ in range(9):
                centre = (bx + rng.normal(0, 0.25 * scale), by - trunk_h - rng.uniform(0, 0.45) * scale)
                radius = rng.uniform(0.22, 0.36) * scale
                crown |= _ellipse_mask(height, width, centre, (radius, 0.85 * radius))
            colour = (58, 112, 52)
        _fill(image, crown, colour, rng, texture=30, cells=20)
        _strokes(image, crown, rng, count=int(0.06 * crown.sum()) + 50, length=(3, 9), angle=(0, 2 * math.pi))
        mask |= crown | trunk
    return mask


def _grass(image: RGBImage, mask: BoolMask, rng: np.random.Generator) -> None:
    _fill(image, mask, (92, 150, 62), rng, texture=25, cells=16)
    _strokes(
        image,
        mask,
        rng,
        count=int(0.08 * mask.sum()),
        length=(6, 18),
        angle=(-math.pi / 2 - 0.35, -math.pi / 2 + 0.35),
        shades=(0.65, 1.3),
        thickness=(1, 3),
    )


def _flowers(image: RGBImage, area: BoolMask, rng: np.random.Generator, count: int) -> BoolMask:
    height, width = area.shape
    ys, xs = np.nonzero(area)
    mask = np.zeros((height, width), dtype=bool)
    palette = [(235, 80, 90), (250, 220, 70), (240, 240, 245), (180, 110, 220)]
    for _ in range(count):
        pick = int(rng.integers(len(xs)))
        x, y = int(xs[pick]), int(ys[pick])
        radius = int(rng.integers(3, 7))
        colour = palette[int(rng.integers(len(palette)))]
        for k in range(5):
            angle = 2 * math.pi * k / 5
            petal = (round(x + radius * math.cos(angle)), round(y + radius * math.sin(angle)))
            cv2.circle(image, petal, max(2, radius // 2 + 1), colour, -1, cv2.LINE_AA)
        cv2.circle(image, (x, y), max(1, radius // 2), (240, 190, 40), -1, cv2.LINE_AA)
        mask |= _ellipse_mask(height, width, (x, y), (radius + 3, radius + 3))
    return mask & area


def _water_texture(image: RGBImage, mask: BoolMask, rng: np.random.Generator, colour: tuple[int, int, int]) -> None:
    """Water with horizontal ripple highlights and dark troughs."""
    _fill(image, mask, colour, rng, texture=18, cells=12)
    _strokes(
        image,
        mask,
        rng,
        count=int(0.03 * mask.sum()) + 40,
        length=(8, 30),
        angle=(-0.08, 0.08),
        shades=(0.7, 1.45),
        thickness=(1, 3),
    )


# --- scenes -----------------------------------------------------------------------------------------


def landscape() -> Scene:
    """A valley: sky and clouds, snowy mountains, a cliff with a waterfall into a river, trees, grass and
    flowers in the foreground."""
    rng = np.random.default_rng(101)
    h, w = HEIGHT, WIDTH
    image = _vertical_gradient(h, w, (96, 150, 225), (200, 222, 245))
    sky = np.ones((h, w), dtype=bool)
    clouds = _clouds(image, rng, count=5, band=(0.06, 0.26))
    mountains = _mountains(image, rng, base=0.42 * h, colour=(110, 118, 140))
    # A cliff on the right with the waterfall down its face.
    cliff = _polygon_mask(h, w, [(430, 150), (600, 140), (640, 330), (420, 340)])
    _fill(image, cliff, (105, 95, 85), rng, texture=25, cells=14)
    _strokes(image, cliff, rng, count=500, length=(5, 18), angle=(1.2, 1.9))
    waterfall = _polygon_mask(h, w, [(500, 152), (545, 150), (560, 335), (490, 338)])
    _fill(image, waterfall, (215, 232, 245), rng, texture=18, cells=20)
    _strokes(
        image, waterfall, rng, count=700, length=(10, 40), angle=(1.5, 1.64), shades=(0.72, 1.1), thickness=(1, 3)
    )
    ground = _box_mask(h, w, 0, 0.62 * h, w, h) | _polygon_mask(h, w, [(0, 0.55 * h), (w, 0.6 * h), (w, h), (0, h)])
    ground &= ~(cliff | waterfall)
    _grass(image, ground, rng)
    # The river leaves the waterfall's pool and winds to the lower left.
    river = np.zeros((h, w), np.uint8)
    path = np.array([(525, 338), (470, 370), (380, 395), (280, 420), (170, 450), (60, 480)], np.int32)
    for width_px, (a, b) in zip((48, 56, 62, 70, 80), itertools.pairwise(path), strict=True):
        cv2.line(river, tuple(int(v) for v in a), tuple(int(v) for v in b), 1, width_px)
    river_mask = river.astype(bool) & ~cliff & (np.arange(h)[:, None] > 330)
    _water_texture(image, river_mask, rng, (70, 130, 190))
    grass = ground & ~river_mask
    trees = _trees(image, rng, [(70, 330), (150, 345), (650, 360), (700, 340)], scale=90)
    trees &= ~waterfall
    grass &= ~trees
    foreground = grass & (np.arange(h)[:, None] > 0.8 * h)
    flowers = _flowers(image, foreground, rng, 60)
    water = river_mask | waterfall
    masks = {
        "sky": sky & ~mountains & ~cliff & ~trees,
        "clouds": clouds & ~mountains & ~cliff & ~trees,
        "mountains": mountains & ~ground & ~cliff & ~waterfall & ~trees,
        "waterfall": waterfall,
        "water": water,
        "trees": trees,
        "grass": grass,
        "flowers": flowers,
    }
    masks["sky"] = masks["sky"] & ~ground
    masks["clouds"] = masks["clouds"] & ~ground
    masks["still"] = masks["mountains"] | (cliff & ~waterfall)
    return Scene("landscape", image, masks)


def lake() -> Scene:
    """A mountain lake: sky, clouds and peaks mirrored in the water, pines on both shores."""
    rng = np.random.default_rng(202)
    h, w = HEIGHT, WIDTH
    horizon = int(0.52 * h)
    image = _vertical_gradient(h, w, (120, 160, 220), (225, 215, 210))
    clouds = _clouds(image, rng, count=4, band=(0.05, 0.22))
    mountains = _mountains(image, rng, base=0.36 * h, colour=(95, 105, 130))
    mountains &= np.arange(h)[:, None] < horizon
    above = image[:horizon].copy()
    reflection = np.flipud(above)[: h - horizon].astype(np.float32) * 0.78 + np.asarray((10, 25, 40), np.float32)
    image[horizon:] = np.clip(reflection, 0, 255).astype(np.uint8)
    water = _box_mask(h, w, 0, horizon, w, h)
    _strokes(image, water, rng, count=1800, length=(10, 40), angle=(-0.04, 0.04), shades=(0.8, 1.25), thickness=(1, 2))
    left_shore = [(0, horizon - 4), (0.22 * w, horizon + 2), (0.15 * w, horizon + 40), (0, horizon + 70)]
    right_shore = [(w, horizon - 6), (0.8 * w, horizon + 4), (0.86 * w, horizon + 30), (w, horizon + 50)]
    shore = _polygon_mask(h, w, left_shore) | _polygon_mask(h, w, right_shore)
    _fill(image, shore, (70, 80, 60), rng, texture=20)
    feet = [(30.0, horizon + 20.0), (80.0, horizon + 10.0), (660.0, horizon + 12.0), (700.0, horizon + 25.0)]
    trees = _trees(image, rng, feet, scale=70, pine=True)
    sky = (np.arange(h)[:, None] < horizon) & ~mountains & ~trees
    masks = {
        "sky": sky,
        "clouds": clouds & sky,
        "mountains": mountains & ~trees,
        "water": water & ~shore & ~trees,
        "trees": trees,
    }
    masks["still"] = masks["mountains"] | (shore & ~trees)
    return Scene("lake", image, masks)


def seascape() -> Scene:
    """The sea under a cloudy sky, a headland on the left, a sailboat with a flag on its mast."""
    rng = np.random.default_rng(303)
    h, w = HEIGHT, WIDTH
    horizon = int(0.45 * h)
    image = _vertical_gradient(h, w, (90, 150, 220), (205, 225, 240))
    clouds = _clouds(image, rng, count=5, band=(0.05, 0.3))
    sea = _box_mask(h, w, 0, horizon, w, h)
    image[sea] = _vertical_gradient(h, w, (40, 120, 160), (20, 80, 120))[sea]
    _strokes(image, sea, rng, count=3500, length=(6, 30), angle=(-0.1, 0.1), shades=(0.7, 1.5), thickness=(1, 3))
    headland = _polygon_mask(h, w, [(0, horizon - 70), (90, horizon - 50), (170, horizon + 5), (0, horizon + 20)])
    _fill(image, headland, (95, 110, 80), rng, texture=25, cells=12)
    _strokes(image, headland, rng, count=400, length=(4, 12), angle=(0, 2 * math.pi))
    hull = _polygon_mask(h, w, [(380, 330), (560, 330), (535, 368), (405, 368)])
    _fill(image, hull, (150, 60, 45), rng, texture=15)
    cv2.line(image, (380, 338), (560, 338), (235, 230, 220), 3, cv2.LINE_AA)
    mast = _box_mask(h, w, 466, 170, 472, 330)
    image[mast] = (70, 55, 40)
    sail = _polygon_mask(h, w, [(474, 180), (474, 320), (550, 320)])
    sail |= _polygon_mask(h, w, [(464, 190), (464, 320), (400, 320)])
    _fill(image, sail, (240, 236, 225), rng, texture=12)
    _strokes(image, sail, rng, count=120, length=(10, 30), angle=(1.4, 1.7), shades=(0.85, 1.05))
    flag = _polygon_mask(h, w, [(472, 168), (515, 176), (472, 188)])
    image[flag] = (220, 40, 40)
    cv2.line(image, (472, 176), (510, 176), (250, 230, 60), 2, cv2.LINE_AA)
    boat = hull | mast | sail
    masks = {
        "sky": ~sea & ~headland & ~boat & ~flag,
        "clouds": clouds & ~sea & ~headland & ~boat & ~flag,
        "water": sea & ~headland & ~boat,
        "boat": boat,
        "flag": flag,
    }
    masks["still"] = headland
    return Scene("seascape", image, masks)


def coffee() -> Scene:
    """A cup of coffee on a wooden table before a window; the steam region is above the rim."""
    rng = np.random.default_rng(404)
    h, w = HEIGHT, WIDTH
    image = np.zeros((h, w, 3), np.uint8)
    table_top = int(0.62 * h)
    wall = _box_mask(h, w, 0, 0, w, table_top)
    _fill(image, wall, (215, 200, 180), rng, texture=14, cells=6)
    window = _box_mask(h, w, 70, 40, 300, 250)
    image[window] = _vertical_gradient(h, w, (160, 200, 235), (220, 230, 240))[window]
    for x in (70, 185, 300):
        cv2.line(image, (x, 40), (x, 250), (120, 95, 75), 8)
    for y in (40, 145, 250):
        cv2.line(image, (70, y), (300, y), (120, 95, 75), 8)
    shelf = _box_mask(h, w, 470, 110, 700, 122)
    _fill(image, shelf, (120, 90, 60), rng)
    for k, x in enumerate(range(490, 690, 38)):
        book = _box_mask(h, w, x, 40 + 6 * (k % 3), x + 26, 110)
        _fill(image, book, ((150, 60, 50), (60, 90, 140), (90, 130, 80), (180, 150, 70))[k % 4], rng, texture=12)
    table = _box_mask(h, w, 0, table_top, w, h)
    _fill(image, table, (140, 95, 60), rng, texture=20, cells=5)
    _strokes(image, table, rng, count=900, length=(40, 140), angle=(-0.03, 0.03), shades=(0.75, 1.2), thickness=(1, 3))
    cx, rim_y = 380, 235
    saucer = _ellipse_mask(h, w, (cx, 400), (170, 38))
    _fill(image, saucer, (235, 232, 228), rng, texture=10)
    body = _polygon_mask(h, w, [(cx - 105, rim_y), (cx + 105, rim_y), (cx + 80, 395), (cx - 80, 395)])
    body |= _ellipse_mask(h, w, (cx, 395), (80, 18))
    handle = np.zeros((h, w), np.uint8)
    cv2.ellipse(handle, (cx + 112, 300), (42, 48), 0, -80, 100, 1, 16)
    cup = body | handle.astype(bool) | _ellipse_mask(h, w, (cx, rim_y), (105, 24))
    _fill(image, cup, (238, 236, 232), rng, texture=12)
    shading = np.clip((np.arange(w)[None, :] - cx) / 140.0, -1, 1)
    darker = (image.astype(np.float32) * (1 - 0.18 * np.abs(shading)[..., None])).astype(np.uint8)
    image[body] = darker[body]
    coffee_top = _ellipse_mask(h, w, (cx, rim_y + 2), (94, 19))
    _fill(image, coffee_top, (95, 55, 30), rng, texture=15)
    cv2.ellipse(image, (cx - 10, rim_y), (40, 8), 0, 0, 360, (150, 100, 60), 2, cv2.LINE_AA)
    steam = _box_mask(h, w, cx - 120, rim_y - 200, cx + 120, rim_y - 12)
    masks = {
        "cup": cup,
        "steam": steam & ~cup,
        "table": table & ~cup & ~saucer,
        "background": wall & ~steam & ~cup,
    }
    masks["still"] = masks["table"] | masks["background"]
    return Scene("coffee", image, masks)


def perfume() -> Scene:
    """A faceted glass perfume bottle on a marble plinth, a soft studio backdrop."""
    rng = np.random.default_rng(505)
    h, w = HEIGHT, WIDTH
    image = _vertical_gradient(h, w, (60, 45, 70), (150, 120, 140))
    backdrop = np.ones((h, w), dtype=bool)
    _strokes(image, backdrop, rng, count=600, length=(30, 90), angle=(0.4, 0.7), shades=(0.92, 1.08), thickness=(6, 14))
    plinth = _box_mask(h, w, 220, 360, 500, h)
    _fill(image, plinth, (225, 222, 218), rng, texture=10)
    _strokes(image, plinth, rng, count=120, length=(20, 80), angle=(0.2, 1.0), shades=(0.7, 0.8), thickness=(1, 2))
    cx = 360
    outline = [(cx - 80, 200), (cx + 80, 200), (cx + 95, 230), (cx + 95, 355), (cx - 95, 355), (cx - 95, 230)]
    glass = _polygon_mask(h, w, outline)
    liquid = _polygon_mask(h, w, [(cx - 88, 250), (cx + 88, 250), (cx + 88, 350), (cx - 88, 350)])
    neck = _box_mask(h, w, cx - 18, 170, cx + 18, 202)
    cap = _box_mask(h, w, cx - 38, 105, cx + 38, 172)
    _fill(image, glass, (200, 190, 215), rng, texture=12)
    _fill(image, liquid, (230, 160, 110), rng, texture=15)
    _fill(image, neck, (190, 170, 120), rng, texture=10)
    _fill(image, cap, (40, 35, 40), rng, texture=10)
    for x in (cx - 60, cx - 20, cx + 30, cx + 70):  # facets
        cv2.line(image, (x, 205), (x + 8, 352), (245, 240, 250), 2, cv2.LINE_AA)
    cv2.line(image, (cx - 30, 120), (cx - 30, 165), (120, 115, 125), 3, cv2.LINE_AA)
    cv2.putText(image, "LUMIERE", (cx - 62, 310), cv2.FONT_HERSHEY_SIMPLEX, 0.75, (90, 50, 40), 2, cv2.LINE_AA)
    bottle = glass | neck | cap
    masks = {"bottle": bottle, "background": ~bottle & ~plinth}
    masks["still"] = (masks["background"] | plinth) & ~bottle
    return Scene("perfume", image, masks)


def _flame(
    image: RGBImage, base: tuple[float, float], height: float, width: float, *, glow_strength: float = 0.45
) -> BoolMask:
    """A teardrop flame standing on `base`, glowing; returns its mask."""
    h, w = image.shape[:2]
    bx, by = base
    outer = _polygon_mask(
        h,
        w,
        [
            (bx + width * math.sin(t) * (1 - t / math.pi) ** 0.5, by - height * t / math.pi)
            for t in np.linspace(0, math.pi, 30)
        ]
        + [
            (bx - width * math.sin(t) * (1 - t / math.pi) ** 0.5, by - height * t / math.pi)
            for t in np.linspace(math.pi, 0, 30)
        ],
    )
    outer |= _ellipse_mask(h, w, (bx, by - 0.15 * height), (width, 0.2 * height))
    glow = np.zeros((h, w), np.float32)
    cv2.circle(glow, (round(bx), round(by - 0.4 * height)), round(1.6 * height), 1.0, -1)
    glow = np.asarray(cv2.GaussianBlur(glow, (0, 0), 0.6 * height), np.float32) * glow_strength
    warm = np.asarray((255, 170, 70), np.float32)
    lit = image.astype(np.float32) * (1 - glow[..., None]) + warm * glow[..., None]
    image[:] = np.clip(lit, 0, 255).astype(np.uint8)
    distance = cv2.distanceTransform(outer.astype(np.uint8), cv2.DIST_L2, 3)
    core = np.clip(distance / max(1.0, 0.6 * width), 0, 1)[..., None]
    colour = (1 - core) * np.asarray((245, 120, 30), np.float32) + core * np.asarray((255, 245, 190), np.float32)
    image[outer] = colour.astype(np.uint8)[outer]
    return outer


def candles() -> Scene:
    """Three candles in a dark room, each flame glowing; smoke would rise above the flames."""
    rng = np.random.default_rng(606)
    h, w = HEIGHT, WIDTH
    image = np.zeros((h, w, 3), np.uint8)
    room = np.ones((h, w), dtype=bool)
    _fill(image, room, (40, 30, 28), rng, texture=10, cells=6)
    _strokes(image, room, rng, count=1500, length=(10, 40), angle=(1.5, 1.65), shades=(0.8, 1.3), thickness=(2, 5))
    ledge = _box_mask(h, w, 0, 400, w, h)
    _fill(image, ledge, (70, 50, 40), rng, texture=12)
    _strokes(image, ledge, rng, count=400, length=(30, 100), angle=(-0.03, 0.03))
    wax = np.zeros((h, w), dtype=bool)
    flames = np.zeros((h, w), dtype=bool)
    smoke = np.zeros((h, w), dtype=bool)
    for cx, top, half in ((230, 250, 38), (360, 200, 42), (490, 280, 34)):
        candle = _box_mask(h, w, cx - half, top, cx + half, 410) | _ellipse_mask(h, w, (cx, top), (half, 8))
        _fill(image, candle, (235, 225, 205), rng, texture=10)
        _strokes(image, candle, rng, count=30, length=(8, 30), angle=(1.5, 1.64), shades=(0.9, 1.05), thickness=(3, 6))
        cv2.line(image, (cx, top - 2), (cx, top - 14), (30, 25, 20), 2, cv2.LINE_AA)
        flames |= _flame(image, (cx, top - 8), 58, 13)
        smoke |= _box_mask(h, w, cx - 40, top - 200, cx + 40, top - 70)
        wax |= candle
    masks = {
        "candles": wax,
        "flames": flames,
        "smoke": smoke & ~flames,
        "background": room & ~wax & ~flames & ~smoke,
    }
    masks["still"] = masks["background"] | wax
    return Scene("candles", image, masks)


def campfire() -> Scene:
    """A campfire in a clearing at night: starry sky, tree silhouettes, logs, flames, room for smoke."""
    rng = np.random.default_rng(707)
    h, w = HEIGHT, WIDTH
    image = _vertical_gradient(h, w, (12, 18, 40), (40, 45, 70))
    for _ in range(160):
        x, y = int(rng.integers(w)), int(rng.integers(int(0.45 * h)))
        cv2.circle(image, (x, y), int(rng.integers(1, 3)), (230, 230, 210), -1, cv2.LINE_AA)
    ground_y = int(0.68 * h)
    feet = [(60.0, ground_y), (150.0, ground_y - 10.0), (590.0, ground_y - 8.0), (680.0, ground_y)]
    trees = _trees(image, rng, feet, scale=110, pine=True)
    image[trees] = (image[trees].astype(np.float32) * 0.35).astype(np.uint8)
    ground = _box_mask(h, w, 0, ground_y, w, h)
    _fill(image, ground, (55, 45, 35), rng, texture=15)
    _strokes(image, ground, rng, count=1500, length=(4, 14), angle=(-0.3, 0.3))
    stones = np.zeros((h, w), dtype=bool)
    for k in range(9):
        angle = math.pi * (0.05 + 0.9 * k / 8)
        centre = (360 + 130 * math.cos(angle), 400 + 22 * math.sin(angle))
        stones |= _ellipse_mask(h, w, centre, (20, 12))
    _fill(image, stones, (120, 115, 110), rng, texture=20)
    logs = np.zeros((h, w), np.uint8)
    cv2.line(logs, (270, 400), (440, 350), 1, 22)
    cv2.line(logs, (290, 345), (450, 398), 1, 22)
    logs_mask = logs.astype(bool)
    _fill(image, logs_mask, (95, 60, 35), rng, texture=20)
    _strokes(image, logs_mask, rng, count=200, length=(8, 20), angle=(-0.4, 0.4))
    flames = np.zeros((h, w), dtype=bool)
    for bx, height_px, half in ((330, 120, 28), (365, 170, 36), (400, 130, 30), (350, 90, 22), (385, 100, 24)):
        flames |= _flame(image, (bx, 375), height_px, half, glow_strength=0.18)
    smoke = _box_mask(h, w, 270, 20, 460, 190) & ~flames
    sky = (np.arange(h)[:, None] < ground_y) & ~trees & ~flames
    masks = {
        "flames": flames,
        "smoke": smoke,
        "logs": logs_mask & ~flames,
        "sky": sky,
        "trees": trees,
        "ground": ground & ~logs_mask & ~flames,
    }
    masks["still"] = (masks["ground"] | stones | trees) & ~flames
    return Scene("campfire", image, masks)


def fireplace() -> Scene:
    """A brick fireplace with a fire in the hearth and a mantel above."""
    rng = np.random.default_rng(808)
    h, w = HEIGHT, WIDTH
    image = np.zeros((h, w, 3), np.uint8)
    wall = np.ones((h, w), dtype=bool)
    _fill(image, wall, (150, 80, 60), rng, texture=20)
    for row, y in enumerate(range(0, h, 24)):
        cv2.line(image, (0, y), (w, y), (200, 190, 175), 3)
        for x in range(-48 if row % 2 else 0, w, 96):
            cv2.line(image, (x, y), (x, y + 24), (200, 190, 175), 3)
    mantel = _box_mask(h, w, 120, 90, 600, 122)
    _fill(image, mantel, (90, 60, 40), rng, texture=15)
    opening = _box_mask(h, w, 220, 190, 500, 430)
    _fill(image, opening, (25, 18, 15), rng, texture=8)
    logs = np.zeros((h, w), np.uint8)
    cv2.line(logs, (260, 420), (460, 405), 1, 20)
    cv2.line(logs, (280, 400), (440, 425), 1, 18)
    logs_mask = logs.astype(bool) & opening
    _fill(image, logs_mask, (95, 60, 35), rng, texture=20)
    flames = np.zeros((h, w), dtype=bool)
    for bx, height_px, half in ((300, 110, 26), (350, 150, 32), (400, 120, 28), (440, 90, 22)):
        flames |= _flame(image, (bx, 408), height_px, half)
    flames &= opening
    smoke = _box_mask(h, w, 230, 195, 490, 270) & ~flames
    masks = {"flames": flames, "smoke": smoke, "hearth": opening, "wall": wall & ~opening}
    masks["still"] = (wall & ~opening) | logs_mask
    return Scene("fireplace", image, masks)


def night_street() -> Scene:
    """A city street at night after rain: buildings with lit windows, neon signs, a wet road."""
    rng = np.random.default_rng(909)
    h, w = HEIGHT, WIDTH
    image = _vertical_gradient(h, w, (15, 15, 35), (45, 35, 70))
    road_y = int(0.62 * h)
    buildings = np.zeros((h, w), dtype=bool)
    windows = np.zeros((h, w), dtype=bool)
    neon = np.zeros((h, w), dtype=bool)
    x = 0
    k = 0
    while x < w:
        bw = int(rng.integers(90, 150))
        top = int(rng.integers(40, 160))
        if 0.38 * w < x + bw / 2 < 0.62 * w:
            top += 60
        block = _box_mask(h, w, x, top, x + bw, road_y)
        r, g, b = (int(c) for c in rng.integers(30, 60, 3))
        _fill(image, block, (r, g, b), rng, texture=10)
        for wy in range(top + 15, road_y - 60, 28):
            for wx in range(x + 10, x + bw - 20, 24):
                if rng.random() < 0.55:
                    lit = _box_mask(h, w, wx, wy, wx + 12, wy + 16)
                    image[lit] = (235, 200, 120) if rng.random() < 0.8 else (150, 200, 230)
                    windows |= lit
        sign_y = road_y - int(rng.integers(70, 130))
        sign = _box_mask(h, w, x + 12, sign_y, x + bw - 12, sign_y + 30)
        colour = ((255, 60, 180), (60, 230, 255), (255, 200, 40), (140, 255, 90))[k % 4]
        glow = np.asarray(cv2.GaussianBlur(sign.astype(np.float32), (0, 0), 12), np.float32)[..., None] * 0.8
        image[:] = np.clip(image * (1 - glow) + np.asarray(colour, np.float32) * glow, 0, 255).astype(np.uint8)
        image[sign] = (20, 15, 25)
        cv2.rectangle(image, (x + 14, sign_y + 2), (x + bw - 14, sign_y + 28), colour, 3, cv2.LINE_AA)
        cv2.putText(
            image, ("BAR", "NOODLE", "24H", "HOTEL")[k % 4], (x + 20, sign_y + 23),
            cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2, cv2.LINE_AA,
        )
        neon |= sign
        buildings |= block
        x += bw + int(rng.integers(0, 12))
        k += 1
    road = _box_mask(h, w, 0, road_y, w, h)
    above = image[road_y - (h - road_y) : road_y].copy()
    reflection = np.flipud(above).astype(np.float32) * 0.55 + np.asarray((12, 12, 18), np.float32)
    image[road_y:] = np.clip(reflection, 0, 255).astype(np.uint8)
    _strokes(image, road, rng, count=2000, length=(6, 30), angle=(1.45, 1.7), shades=(0.6, 1.4), thickness=(1, 3))
    cv2.line(image, (0, road_y), (w, road_y), (70, 70, 80), 4)
    masks = {
        "neon": neon,
        "sky": ~buildings & ~road,
        "water": road,
        "buildings": buildings & ~neon,
        "windows": windows,
    }
    masks["still"] = buildings & ~neon
    return Scene("night-street", image, masks)


def _animal(name: str, *, seed: int, fur: tuple[int, int, int], floppy: bool) -> Scene:
    """A sitting animal facing the viewer: body, head, ears (pointed or floppy), eyes, muzzle, tail."""
    rng = np.random.default_rng(seed)
    h, w = HEIGHT, WIDTH
    image = _vertical_gradient(h, w, (200, 190, 170), (170, 150, 130))
    floor = _box_mask(h, w, 0, 390, w, h)
    _fill(image, floor, (120, 95, 75), rng, texture=15)
    _strokes(image, floor, rng, count=600, length=(30, 90), angle=(-0.03, 0.03))
    wall = ~floor
    _strokes(image, wall, rng, count=500, length=(20, 60), angle=(1.5, 1.65), shades=(0.92, 1.08), thickness=(3, 8))
    cx = 330
    body = _ellipse_mask(h, w, (cx, 330), (110, 95))
    tail = np.zeros((h, w), np.uint8)
    tail_points = np.array([(cx + 90, 400), (cx + 170, 395), (cx + 215, 350), (cx + 225, 290), (cx + 210, 250)])
    tail_points = tail_points.astype(np.int32)
    cv2.polylines(tail, [tail_points], False, 1, 26 if not floppy else 22)
    tail_mask = tail.astype(bool) & ~body
    head_c = (cx, 175)
    head = _ellipse_mask(h, w, head_c, (95, 82))
    ears = np.zeros((h, w), dtype=bool)
    if floppy:
        ears |= _ellipse_mask(h, w, (cx - 95, 200), (30, 62), angle=15)
        ears |= _ellipse_mask(h, w, (cx + 95, 200), (30, 62), angle=-15)
    else:
        ears |= _polygon_mask(h, w, [(cx - 85, 140), (cx - 75, 60), (cx - 30, 110)])
        ears |= _polygon_mask(h, w, [(cx + 85, 140), (cx + 75, 60), (cx + 30, 110)])
    ears &= ~head if not floppy else np.ones((h, w), dtype=bool)
    fur_mask = body | tail_mask | head
    _fill(image, fur_mask, fur, rng, texture=25, cells=14)
    ear_colour = (int(fur[0] * 0.75), int(fur[1] * 0.75), int(fur[2] * 0.75))
    _fill(image, ears, ear_colour, rng, texture=20)
    everything = fur_mask | ears
    count = int(0.05 * everything.sum())
    _strokes(image, everything, rng, count=count, length=(5, 14), angle=(0.9, 2.2), shades=(0.7, 1.25))
    if not floppy:
        for side in (-1, 1):
            inner = _polygon_mask(h, w, [(cx + side * 78, 132), (cx + side * 73, 78), (cx + side * 42, 112)])
            image[inner] = (225, 160, 160)
    eyes = np.zeros((h, w), dtype=bool)
    for side in (-1, 1):
        centre = (cx + side * 38, 165)
        eye = _ellipse_mask(h, w, centre, (20, 14 if not floppy else 16))
        image[eye] = (150, 190, 70) if not floppy else (90, 60, 35)
        pupil = _ellipse_mask(h, w, centre, (5 if not floppy else 9, 12 if not floppy else 10))
        image[pupil] = (15, 15, 15)
        cv2.circle(image, (round(centre[0]) - 5, 159), 3, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.ellipse(image, (round(centre[0]), 165), (20, 14), 0, 180, 360, (40, 30, 25), 2, cv2.LINE_AA)
        eyes |= _ellipse_mask(h, w, centre, (24, 18))
    muzzle = _ellipse_mask(h, w, (cx, 215), (38, 26))
    image[muzzle] = np.clip(np.asarray(fur) * 1.25 + 20, 0, 255).astype(np.uint8)
    nose = _polygon_mask(h, w, [(cx - 12, 200), (cx + 12, 200), (cx, 212)])
    image[nose] = (200, 110, 120) if not floppy else (30, 25, 25)
    cv2.line(image, (cx, 212), (cx, 222), (60, 40, 40), 2, cv2.LINE_AA)
    cv2.ellipse(image, (cx - 10, 222), (10, 6), 0, 0, 180, (60, 40, 40), 2, cv2.LINE_AA)
    cv2.ellipse(image, (cx + 10, 222), (10, 6), 0, 0, 180, (60, 40, 40), 2, cv2.LINE_AA)
    if floppy:
        tongue = _ellipse_mask(h, w, (cx, 236), (11, 12)) & ~_box_mask(h, w, 0, 0, w, 226)
        image[tongue] = (225, 100, 110)
    else:
        for side in (-1, 1):
            for dy in (-6, 2, 10):
                start, end = (cx + side * 30, 212 + dy // 2), (cx + side * 110, 200 + dy * 2)
                cv2.line(image, start, end, (245, 245, 240), 1, cv2.LINE_AA)  # whiskers
    mouth = _box_mask(h, w, cx - 32, 205, cx + 32, 252)
    masks = {
        "face": head | (ears if floppy else np.zeros_like(head)),
        "eyes": eyes,
        "mouth": mouth,
        "ears": ears,
        "tail": tail_mask,
        "body": body & ~head,
        "background": ~everything,
    }
    masks["still"] = masks["background"]
    return Scene(name, image, masks)


def cat() -> Scene:
    return _animal("cat", seed=1111, fur=(215, 140, 70), floppy=False)


def dog() -> Scene:
    return _animal("dog", seed=1212, fur=(205, 165, 95), floppy=True)


# --- characters -------------------------------------------------------------------------------------


def _character_masks(
    height: int,
    width: int,
    *,
    face: tuple[float, float, float, float],
    eyes: list[tuple[float, float, float, float]],
    mouth: tuple[float, float, float, float],
    hair: BoolMask,
    body: BoolMask,
    background: BoolMask,
) -> dict[str, BoolMask]:
    """Regions of a portrait from its face, eye and mouth boxes (x, y, w, h) and part masks."""
    fx, fy, fw, fh = face

    def box(x: float, y: float, w: float, h: float) -> BoolMask:
        return _box_mask(height, width, x, y, x + w, y + h)

    mx, my, mw, mh = mouth
    mouth_mask = box(mx - 0.15 * mw, my - 0.15 * mh, 1.3 * mw, 1.3 * mh)
    eye_mask = np.zeros((height, width), dtype=bool)
    cheeks = np.zeros((height, width), dtype=bool)
    for ex, ey, ew, eh in eyes:
        eye_mask |= box(ex - 0.1 * ew, ey - 0.1 * eh, 1.2 * ew, 1.2 * eh)
        cheeks |= box(ex, ey + 1.1 * eh, ew, 1.3 * eh)
    hand_boxes = {
        "left": (fx - 1.3 * fw, fy, 1.1 * fw, 1.9 * fh),
        "right": (fx + 1.2 * fw, fy, 1.1 * fw, 1.9 * fh),
        "chin": (fx + 0.1 * fw, fy + fh, 0.8 * fw, 0.5 * fh),
    }
    sides = box(*hand_boxes["left"]) | box(*hand_boxes["right"])
    under_chin = box(*hand_boxes["chin"])
    face_mask = box(*face) & ~hair
    # Where each of hand_area's three parts lies, and the arm that would raise a hand there: it comes up from
    # below the picture, swinging in from the side, so all of the picture below the part on its side of the
    # face's middle (under the chin: on either side).
    middle = fx + fw / 2
    arm_columns = {"left": (0.0, middle), "right": (middle, float(width)), "chin": (0.0, float(width))}
    hands: dict[str, BoolMask] = {}
    for where, (hx, hy, hw, hh) in hand_boxes.items():
        hands[f"hand_area_{where}"] = box(hx, hy, hw, hh) & ~box(*face) & ~hair
        left, right = arm_columns[where]
        hands[f"arm_{where}"] = box(left, hy + hh, right - left, height)
    return {
        "face": face_mask | eye_mask | mouth_mask,
        "eyes": eye_mask,
        "mouth": mouth_mask,
        # Under each eye, clear of the eyes and the mouth (a drawing's eyes sit low, near the mouth).
        "cheeks": cheeks & ~eye_mask & ~box(mx - 0.3 * mw, my - 0.3 * mh, 1.6 * mw, 1.6 * mh) & ~hair,
        "hair": hair,
        "body": body,
        # Hair is left out: long locks lie beside the face and blow in the wind.
        "hand_area": (sides | under_chin) & ~box(*face) & ~hair,
        **hands,
        "background": background,
        "still": background,
    }


def drawn_character(name: str) -> Scene:
    """One of motion_eval's drawn characters, with regions from the drawing's own truth."""
    drawings = {
        "drawn-blue": lambda: illustration("detailed", seed=0),
        "drawn-brown": lambda: illustration("detailed", seed=3, hair_color=(90, 50, 30)),
        "drawn-flat": lambda: illustration("flat", seed=5),
    }
    drawing = drawings[name]()
    truth = drawing.truth
    assert drawing.image.shape[:2] == (CHARACTER_HEIGHT, CHARACTER_WIDTH)
    a = truth.face_box[2] / 2
    eye_w, eye_h = truth.eye_size
    eyes = [(x - 0.6 * eye_w, y - 0.55 * eye_h, 1.2 * eye_w, 1.1 * eye_h) for x, y in (truth.left_eye, truth.right_eye)]
    mouth = (truth.mouth[0] - 0.3 * a, truth.mouth[1] + 0.05 * a - 0.225 * a, 0.6 * a, 0.45 * a)
    masks = _character_masks(
        CHARACTER_HEIGHT,
        CHARACTER_WIDTH,
        face=truth.face_box,
        eyes=eyes,
        mouth=mouth,
        hair=truth.hair_mask,
        body=truth.body_mask,
        background=drawing.background,
    )
    return Scene(name, drawing.image, masks)


PHOTO_FILES: Final = {"astronaut": "astronaut.png", "hopper": "grace_hopper.jpg"}


def photo_character(name: str) -> Scene:
    """A sample photo with regions from motion_eval's hand-labelled boxes. The background is the upper
    corners beside the head (what motion_eval uses as the photos' background control)."""
    from motion_eval import PHOTOS  # here, not at the top: motion_eval imports this module

    file = PHOTO_FILES[name]
    labels = PHOTOS[file]
    bgr = cv2.imread(str(FIXTURES / file), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(FIXTURES / file)
    image = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8)
    height, width = image.shape[:2]
    assert labels.face is not None and labels.left_eye is not None and labels.right_eye is not None
    assert labels.mouth is not None
    face = labels.face
    f = (face.x, face.y, face.w, face.h)
    hair = _box_mask(height, width, face.x - 0.3 * face.w, face.y - 0.6 * face.h, face.x + 1.3 * face.w, face.y)
    body = _box_mask(height, width, face.cx - 1.5 * face.w, face.y + 1.15 * face.h, face.cx + 1.5 * face.w, height)
    background = _box_mask(height, width, 0, 0, max(1.0, face.x - 0.5 * face.w), face.y + face.h)
    background |= _box_mask(height, width, face.x + 1.5 * face.w, 0, width, face.y + face.h)
    eyes = [(b.x, b.y, b.w, b.h) for b in (labels.left_eye, labels.right_eye)]
    m = labels.mouth
    masks = _character_masks(
        height, width, face=f, eyes=eyes, mouth=(m.x, m.y, m.w, m.h), hair=hair, body=body, background=background
    )
    return Scene(name, image, masks)


SCENES: Final[dict[str, Callable[[], Scene]]] = {
    "drawn-blue": lambda: drawn_character("drawn-blue"),
    "drawn-brown": lambda: drawn_character("drawn-brown"),
    "drawn-flat": lambda: drawn_character("drawn-flat"),
    "astronaut": lambda: photo_character("astronaut"),
    "hopper": lambda: photo_character("hopper"),
    "landscape": landscape,
    "lake": lake,
    "seascape": seascape,
    "coffee": coffee,
    "perfume": perfume,
    "candles": candles,
    "campfire": campfire,
    "fireplace": fireplace,
    "night-street": night_street,
    "cat": cat,
    "dog": dog,
}
CHARACTER_SCENES: Final = frozenset({"drawn-blue", "drawn-brown", "drawn-flat", "astronaut", "hopper"})
ANIMAL_SCENES: Final = frozenset({"cat", "dog"})


def draw_scene(name: str) -> Scene:
    try:
        return SCENES[name]()
    except KeyError:
        raise KeyError(f"no scene {name!r}; scenes are {sorted(SCENES)}") from None


def overlay(scene: Scene, regions: list[str]) -> RGBImage:
    """The picture with `regions` tinted in distinct colours and outlined: to check masks by eye."""
    palette = [(255, 0, 0), (0, 200, 255), (255, 220, 0), (0, 255, 0), (255, 0, 255), (255, 128, 0), (0, 0, 255)]
    out = scene.image.astype(np.float32)
    for index, region in enumerate(regions):
        mask = scene.mask(region)
        colour = np.asarray(palette[index % len(palette)], np.float32)
        out[mask] = 0.55 * out[mask] + 0.45 * colour
    result = np.clip(out, 0, 255).astype(np.uint8)
    for index, region in enumerate(regions):
        contours, _ = cv2.findContours(scene.mask(region).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(result, contours, -1, palette[index % len(palette)], 2)
    return result


def main() -> None:
    """Write every scene and its regions' overlay as PNGs into a folder, to look at."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scenes", nargs="+", default=list(SCENES))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.scenes:
        scene = draw_scene(name)
        cv2.imwrite(str(args.out / f"{name}.png"), cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
        regions = [r for r in scene.masks if r not in ("still", "background")]
        cv2.imwrite(str(args.out / f"{name}-regions.png"), cv2.cvtColor(overlay(scene, regions), cv2.COLOR_RGB2BGR))
        print(name, scene.width, scene.height, {r: int(m.sum()) for r, m in scene.masks.items()})


if __name__ == "__main__":
    main()
