"""Small scenes painted in code for the scene effects' tests, each with the boxes the painting knows.

A sky gradient with white clouds over green hills and a blue river; a white streaked waterfall down dark
rock; a brown cup with a light elliptical rim on a table; a candle with a flame in the dark. Seeded, a few
hundred pixels across, so that a test renders a clip of one in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (ends exclusive)


@dataclass(frozen=True)
class Scene:
    image: Frame
    boxes: dict[str, Box]  # what is where: "sky", "river", "hills", "falls", "cup", "rim", "flame", ...


def _noise(shape: tuple[int, int], rng: np.random.Generator, *, cell: float) -> npt.NDArray[np.float32]:
    height, width = shape
    grid = rng.standard_normal((int(height / cell) + 2, int(width / cell) + 2)).astype(np.float32)
    return np.asarray(cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC), np.float32)


def _streaks(
    shape: tuple[int, int], rng: np.random.Generator, *, vertical: bool, cell: float
) -> npt.NDArray[np.float32]:
    """Noise stretched ten times along the streaks."""
    height, width = shape
    short = (max(4, height // 10), width) if vertical else (height, max(4, width // 10))
    return np.asarray(cv2.resize(_noise(short, rng, cell=cell), (width, height)), np.float32)


def river_landscape(width: int = 240, height: int = 160, *, seed: int = 1) -> Scene:
    """Sky (top 40%) with two white clouds, green textured hills (40-62%), a blue rippled river (62-100%)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    sky_end, hills_end = round(0.4 * height), round(0.62 * height)
    t = (yy / sky_end)[..., None]
    image = (1 - t) * np.array([60, 115, 205], np.float32) + t * np.array([160, 200, 240], np.float32)
    for cx, cy, rx, ry in ((0.3, 0.16, 0.14, 0.08), (0.72, 0.22, 0.12, 0.07)):
        blob = np.exp(-(((xx - cx * width) / (rx * width)) ** 2 + ((yy - cy * height) / (ry * height)) ** 2) * 2.0)
        image = image + blob[..., None] * (np.array([250, 250, 250], np.float32) - image)
    grass = _noise((height, width), rng, cell=2.0)
    hills = np.stack([60 + 30 * grass, 125 + 40 * grass, 50 + 15 * grass], axis=-1)
    image[sky_end:hills_end] = hills[sky_end:hills_end]
    ripple = _streaks((height, width), rng, vertical=False, cell=2.0)
    water = np.stack([40 + 30 * ripple, 95 + 40 * ripple, 160 + 45 * ripple], axis=-1)
    image[hills_end:] = water[hills_end:]
    return Scene(
        np.clip(image, 0, 255).astype(np.uint8),
        {
            "sky": (0, 0, width, sky_end),
            "hills": (0, sky_end, width, hills_end),
            "river": (0, hills_end, width, height),
        },
    )


def hazy_range(width: int = 240, height: int = 160, *, seed: int = 3) -> Scene:
    """A blue sky (top 35%) over a hazy blue-grey mountain range with a thin snowy ridge (35-60%), as smooth and
    nearly as blue as the sky; a white mast (2% of the width) stands from a dark hull up into the sky; grass below."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ridge = 0.35 * height + 0.06 * height * np.sin(xx[0] / width * 9.0) + 0.03 * height * np.sin(xx[0] / width * 23.0)
    t = (yy / height)[..., None]
    image = (1 - t) * np.array([96, 150, 225], np.float32) + t * np.array([200, 222, 245], np.float32)
    rock = yy >= ridge[None, :] + 3
    snow = (yy >= ridge[None, :]) & ~rock
    image[rock] = np.array([110, 118, 140], np.float32) + 4.0 * _noise((height, width), rng, cell=6.0)[rock, None]
    image[snow] = (240, 244, 250)
    ground_start = round(0.6 * height)
    image[ground_start:] = (70, 130, 55)
    mast_x0, mast_x1 = round(0.7 * width), round(0.72 * width)
    image[round(0.1 * height) : ground_start, mast_x0:mast_x1] = (245, 245, 240)
    image[ground_start - 8 : ground_start, round(0.62 * width) : round(0.8 * width)] = (120, 50, 40)
    return Scene(
        np.clip(image, 0, 255).astype(np.uint8),
        {
            "sky": (0, 0, width, round(0.29 * height)),
            "range": (0, round(0.42 * height), width, ground_start),
            "mast": (mast_x0, round(0.42 * height), mast_x1, ground_start),
        },
    )


def waterfall(width: int = 200, height: int = 200, *, seed: int = 2) -> Scene:
    """Dark textured rock with a white, vertically streaked waterfall down its middle, dark ground below."""
    rng = np.random.default_rng(seed)
    rock = _noise((height, width), rng, cell=3.0)
    image = np.stack([70 + 15 * rock, 65 + 14 * rock, 60 + 12 * rock], axis=-1)
    x0, x1, y0, y1 = round(0.38 * width), round(0.62 * width), round(0.1 * height), round(0.85 * height)
    white = 215 + 35 * _streaks((height, width), rng, vertical=True, cell=1.5)
    image[y0:y1, x0:x1] = np.stack([white - 8, white, white + 4], axis=-1)[y0:y1, x0:x1]
    return Scene(np.clip(image, 0, 255).astype(np.uint8), {"falls": (x0, y0, x1, y1)})


def cup(width: int = 240, height: int = 180) -> Scene:
    """A brown cup with a light elliptical rim around dark coffee, on a wooden table, a dark wall behind."""
    rng = np.random.default_rng(3)
    image = np.full((height, width, 3), 38, np.float32) + 6 * _noise((height, width), rng, cell=12.0)[..., None]
    image[round(0.62 * height) :] = (125, 85, 52)
    cx, cy, rx, ry = round(0.5 * width), round(0.45 * height), round(0.17 * width), round(0.05 * height)
    body = np.zeros((height, width), np.uint8)
    cv2.rectangle(body, (cx - rx, cy), (cx + rx, round(0.75 * height)), 1, -1)
    image[body > 0] = (140, 70, 45)
    canvas = np.clip(image, 0, 255).astype(np.uint8)
    cv2.ellipse(canvas, (cx, cy), (rx, ry), 0, 0, 360, (235, 230, 222), -1, cv2.LINE_AA)
    cv2.ellipse(canvas, (cx, cy), (round(0.85 * rx), round(0.8 * ry)), 0, 0, 360, (70, 40, 25), -1, cv2.LINE_AA)
    rim = (cx - rx, cy - ry, cx + rx, cy + ry)
    return Scene(canvas, {"rim": rim, "cup": (cx - rx, cy - ry, cx + rx, round(0.75 * height))})


def candle(width: int = 200, height: int = 200) -> Scene:
    """A cream candle with an orange teardrop flame and a white-hot heart against a dark room."""
    canvas = np.full((height, width, 3), 24, np.uint8)
    cx = width // 2
    tip, base = round(0.25 * height), round(0.45 * height)
    cv2.rectangle(canvas, (cx - 10, base + 4), (cx + 10, round(0.9 * height)), (225, 210, 180), -1)
    half = round(0.045 * width)
    cv2.ellipse(canvas, (cx, (tip + base) // 2), (half, (base - tip) // 2), 0, 0, 360, (255, 165, 40), -1, cv2.LINE_AA)
    cv2.ellipse(canvas, (cx, (tip + 2 * base) // 3), (half // 2, (base - tip) // 4), 0, 0, 360, (255, 245, 205), -1)
    return Scene(canvas, {"flame": (cx - half, tip, cx + half + 1, base + 1)})


def mirror_lake(width: int = 240, height: int = 180, *, seed: int = 5) -> Scene:
    """A pale sky over dark green wooded hills, mirrored (darker, softer, faintly rippled) in a lake below them."""
    rng = np.random.default_rng(seed)
    shore = round(0.55 * height)
    yy, xx = np.mgrid[0:shore, 0:width].astype(np.float32)
    above = np.broadcast_to(np.array([185, 205, 225], np.float32), (shore, width, 3)).copy()
    ridge = 0.35 * height + 0.08 * height * np.sin(xx[0] / 23.0) + 0.04 * height * np.sin(xx[0] / 7.0)
    leaves = _noise((shore, width), rng, cell=3.0)
    hills = yy > ridge[None, :]
    above[hills] = np.stack([40 + 20 * leaves, 80 + 30 * leaves, 45 + 12 * leaves], axis=-1)[hills]
    below_rows = height - shore
    mirrored = above[::-1][:below_rows] if below_rows <= shore else np.concatenate([above[::-1]] * 2)[:below_rows]
    ripples = _streaks((below_rows, width), rng, vertical=False, cell=2.0)[..., None]
    lake = cv2.GaussianBlur(mirrored, (0, 0), 1.2) * 0.8 + 6.0 * ripples
    image = np.concatenate([above, lake], axis=0)
    return Scene(np.clip(image, 0, 255).astype(np.uint8), {"lake": (0, shore, width, height)})


def wet_street(width: int = 240, height: int = 180, *, seed: int = 6) -> Scene:
    """A street at night: dark buildings with lit windows and a neon sign over a wet road that mirrors them,
    smeared downwards, below a kerb line."""
    rng = np.random.default_rng(seed)
    kerb = round(0.6 * height)
    above = np.broadcast_to(np.array([28, 24, 48], np.float32), (kerb, width, 3)).copy()
    for x0 in range(6, width - 20, 34):
        top = int(rng.integers(round(0.15 * height), round(0.3 * height)))
        above[top:kerb, x0 : x0 + 28] = (52, 44, 60)
        for y in range(top + 6, kerb - 8, 12):
            above[y : y + 5, x0 + 6 : x0 + 11] = (235, 200, 110)
            above[y : y + 5, x0 + 17 : x0 + 22] = (235, 200, 110)
    above[round(0.42 * height) : round(0.42 * height) + 6, 40:110] = (255, 70, 190)
    above[kerb - 2 : kerb] = (120, 120, 130)
    rows = height - kerb
    mirrored = np.concatenate([above[::-1]] * 2)[:rows]
    smeared = cv2.GaussianBlur(mirrored, (0, 0), sigmaX=1.0, sigmaY=4.0) * 0.7
    road = smeared + 8.0 * _streaks((rows, width), rng, vertical=True, cell=2.0)[..., None]
    image = np.concatenate([above, road], axis=0)
    return Scene(np.clip(image, 0, 255).astype(np.uint8), {"road": (0, kerb, width, height)})


def flagpole(width: int = 240, height: int = 180) -> Scene:
    """A red flag with a yellow stripe on a dark pole against a blue sky over green grass."""
    image = np.zeros((height, width, 3), np.float32)
    image[:] = (120, 170, 230)
    image[round(0.75 * height) :] = (70, 140, 60)
    pole_x, top = round(0.4 * width), round(0.2 * height)
    image[top:, pole_x : pole_x + 3] = (60, 45, 35)
    fx0, fx1, fy0, fy1 = pole_x + 3, pole_x + 3 + round(0.25 * width), top, top + round(0.12 * height)
    image[fy0:fy1, fx0:fx1] = (220, 40, 40)
    middle = (fy0 + fy1) // 2
    image[middle - 1 : middle + 2, fx0:fx1] = (250, 220, 60)
    return Scene(
        np.clip(image, 0, 255).astype(np.uint8),
        {"flag": (fx0, fy0, fx1, fy1), "pole": (pole_x, top, pole_x + 3, height)},
    )


def plain(width: int = 160, height: int = 120) -> Frame:
    """A flat grey picture with a little noise: nothing a scene effect could animate."""
    rng = np.random.default_rng(4)
    return np.clip(128 + 4 * _noise((height, width), rng, cell=8.0)[..., None], 0, 255).astype(np.uint8).repeat(3, 2)
