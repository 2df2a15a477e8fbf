"""Procedural scenes for the scene effects' benchmark and for looking at them: no photo of a landscape ships with
the repository, so these are painted from seeded noise (a sky with clouds, hills, a waterfall, a river; a cup on
a table; a candle in the dark).

Usage: python benchmarks/painted_scenes.py OUT_DIR [--width 1072 --height 720]
       (writes landscape.png, cup.png, candle.png, campfire.png, trees.png)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Floats = npt.NDArray[np.float32]


def noise(shape: tuple[int, int], rng: np.random.Generator, *, cell_px: float, octaves: int = 4) -> Floats:
    """Fractal value noise `(h, w)` float32, about -1..1: octaves of smoothly upsampled random grids."""
    height, width = shape
    total = np.zeros(shape, np.float32)
    weight = 0.0
    for octave in range(octaves):
        cell = max(1.0, cell_px / 2**octave)
        grid = rng.standard_normal((max(2, int(height / cell) + 2), max(2, int(width / cell) + 2))).astype(np.float32)
        total += (0.5**octave) * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        weight += 0.5**octave
    return np.asarray(total / weight, np.float32)


def streaks(shape: tuple[int, int], rng: np.random.Generator, *, along: int, across_px: float) -> Floats:
    """Noise stretched along axis `along` (0: vertical streaks, 1: horizontal), about -1..1."""
    height, width = shape
    if along == 0:
        base = noise((max(4, height // 12), width), rng, cell_px=across_px, octaves=3)
        return np.asarray(cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC), np.float32)
    base = noise((height, max(4, width // 12)), rng, cell_px=across_px, octaves=3)
    return np.asarray(cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC), np.float32)


def landscape(width: int = 1072, height: int = 720, *, seed: int = 3, waterfall: bool = True) -> RGBFrame:
    """Sky with clouds over green hills; a waterfall down a dark cliff in the middle; a river across the bottom."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = xx / width, yy / height
    horizon = 0.42
    # Sky: deep blue at the top to pale near the horizon, with soft white clouds.
    sky_t = np.clip(v / horizon, 0.0, 1.0)[..., None]
    sky = (1 - sky_t) * np.array([52, 110, 200], np.float32) + sky_t * np.array([170, 205, 240], np.float32)
    cloud_field = noise((height, width), rng, cell_px=0.22 * width, octaves=5)
    cloud = np.clip((cloud_field - 0.05) * 3.0, 0.0, 1.0) * np.clip(1.2 - v / horizon, 0.0, 1.0)
    shade = 0.9 + 0.1 * noise((height, width), rng, cell_px=0.05 * width, octaves=3)
    image = sky * (1 - cloud[..., None]) + (248 * shade)[..., None] * cloud[..., None]
    # Hills: a ridge line, textured green, darker further down.
    ridge = horizon * height + 0.07 * height * noise((1, width), rng, cell_px=0.3 * width, octaves=3)[0]
    hills = yy > ridge[None, :]
    grass = noise((height, width), rng, cell_px=6.0, octaves=3)
    green = np.stack([60 + 25 * grass, 120 + 35 * grass, 50 + 15 * grass], axis=-1) * (1.1 - 0.4 * v[..., None])
    image = np.where(hills[..., None], green, image)
    # A dark rock cliff in the middle with a waterfall down it.
    if waterfall:
        cliff = (np.abs(xx - 0.5 * width) < 0.13 * width) & (yy > ridge[None, :] - 0.04 * height) & (v < 0.74)
        rock = noise((height, width), rng, cell_px=10.0, octaves=3)
        image = np.where(cliff[..., None], np.stack([85 + 25 * rock, 80 + 22 * rock, 75 + 20 * rock], -1), image)
        fall = (np.abs(xx - 0.5 * width) < 0.06 * width) & (yy > ridge[None, :] - 0.03 * height) & (v < 0.74)
        water_streaks = streaks((height, width), rng, along=0, across_px=4.0)
        white = 215 + 35 * water_streaks
        falls = np.stack([white - 10, white, white + 5], axis=-1)
        image = np.where(fall[..., None], falls, image)
    # The river: blue with horizontal ripples, lighter foam where the waterfall lands.
    river = v > 0.72 + 0.02 * np.sin(u * 9.0)
    ripple = streaks((height, width), rng, along=1, across_px=3.0)
    water = np.stack([40 + 25 * ripple, 95 + 35 * ripple, 150 + 40 * ripple], axis=-1)
    if waterfall:
        foam = np.clip(1.0 - np.hypot((xx - 0.5 * width) / (0.12 * width), (v - 0.74) / 0.05), 0.0, 1.0)
        water = water + foam[..., None] * (np.array([215, 225, 232], np.float32) - water)
    image = np.where(river[..., None], water, image)
    return np.clip(image, 0, 255).astype(np.uint8)


def cup(width: int = 720, height: int = 540, *, seed: int = 5) -> RGBFrame:
    """A brown cup with a light elliptical rim around dark coffee, on a wooden table against a dark wall."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    wall = 40 + 12 * noise((height, width), rng, cell_px=40.0)
    image = np.stack([wall, wall * 0.95, wall * 0.9], axis=-1)
    table = yy > 0.62 * height
    wood = streaks((height, width), rng, along=1, across_px=5.0)
    image = np.where(table[..., None], np.stack([120 + 30 * wood, 80 + 20 * wood, 50 + 12 * wood], -1), image)
    cx, rim_y, rx, ry = 0.5 * width, 0.45 * height, 0.17 * width, 0.05 * height
    body = (np.abs(xx - cx) < rx * (1.0 - 0.15 * (yy - rim_y) / (0.3 * height))) & (yy > rim_y) & (yy < 0.75 * height)
    shading = (1.0 - 0.3 * np.abs(xx - cx) / rx)[..., None]
    image = np.where(body[..., None], np.array([140, 70, 45], np.float32) * shading, image)
    ellipse = ((xx - cx) / rx) ** 2 + ((yy - rim_y) / ry) ** 2
    image = np.where((ellipse <= 1.0)[..., None], np.array([235, 230, 222], np.float32), image)
    image = np.where((ellipse <= 0.72)[..., None], np.array([70, 40, 25], np.float32), image)
    return np.clip(image, 0, 255).astype(np.uint8)


def candle(width: int = 720, height: int = 720, *, seed: int = 7) -> RGBFrame:
    """A cream candle with a teardrop flame against a dark room, a warm halo around the flame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    room = 22 + 8 * noise((height, width), rng, cell_px=50.0)
    image = np.stack([room * 1.1, room, room * 0.9], axis=-1)
    cx, tip, base = 0.5 * width, 0.3 * height, 0.45 * height
    halo = np.exp(-(((xx - cx) / (0.18 * width)) ** 2 + ((yy - 0.4 * height) / (0.18 * height)) ** 2))
    image = image + halo[..., None] * np.array([90, 55, 20], np.float32)
    wax = (np.abs(xx - cx) < 0.06 * width) & (yy > base + 0.02 * height) & (yy < 0.9 * height)
    shading = (1 - 0.4 * ((yy - base) / height))[..., None]
    image = np.where(wax[..., None], np.array([225, 210, 180], np.float32) * shading, image)
    t = np.clip((yy - tip) / (base - tip), 0.0, 1.0)
    half_width = 0.028 * width * np.sqrt(np.sin(np.pi * np.clip(t * 0.95, 0, 1)))
    flame = (np.abs(xx - cx) < half_width) & (yy > tip) & (yy < base)
    core = flame & (np.abs(xx - cx) < 0.5 * half_width) & (t > 0.45)
    image = np.where(flame[..., None], np.array([255, 170, 40], np.float32), image)
    image = np.where(core[..., None], np.array([255, 245, 200], np.float32), image)
    return np.clip(cv2.GaussianBlur(image, (0, 0), 1.2), 0, 255).astype(np.uint8)


def campfire(width: int = 960, height: int = 720, *, seed: int = 11) -> RGBFrame:
    """A campfire at night: logs on dark ground, a wide fire of several tongues with a white-hot heart."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    night = 14 + 8 * noise((height, width), rng, cell_px=60.0)
    image = np.stack([night * 0.8, night * 0.85, night * 1.3], axis=-1)
    ground = yy > 0.7 * height
    soil = noise((height, width), rng, cell_px=8.0)
    image = np.where(ground[..., None], np.stack([40 + 10 * soil, 30 + 8 * soil, 22 + 6 * soil], -1), image)
    cx, base = 0.5 * width, 0.72 * height
    halo = np.exp(-(((xx - cx) / (0.3 * width)) ** 2 + ((yy - 0.62 * height) / (0.25 * height)) ** 2))
    image = image + halo[..., None] * np.array([110, 55, 15], np.float32)
    for dx, top, half in ((-0.07, 0.42, 0.045), (0.0, 0.36, 0.06), (0.07, 0.45, 0.04), (-0.02, 0.5, 0.05)):
        tip = top * height
        t = np.clip((yy - tip) / (base - tip), 0.0, 1.0)
        reach = half * width * np.sqrt(np.maximum(np.sin(np.pi * np.clip(0.5 + 0.5 * t, 0, 1)), 0.0))
        tongue = (np.abs(xx - cx - dx * width) < reach * t**0.6) & (yy > tip) & (yy < base)
        image = np.where(tongue[..., None], np.array([255, 150, 30], np.float32), image)
        heart = tongue & (t > 0.55) & (np.abs(xx - cx - dx * width) < 0.5 * reach * t**0.6)
        image = np.where(heart[..., None], np.array([255, 235, 150], np.float32), image)
    for angle in (-0.35, 0.3, 0.05):
        along = (xx - cx) * np.cos(angle) + (yy - base) * np.sin(angle)
        across = -(xx - cx) * np.sin(angle) + (yy - base) * np.cos(angle)
        log = (np.abs(along) < 0.14 * width) & (np.abs(across) < 0.018 * width)
        image = np.where(log[..., None], np.array([70, 45, 30], np.float32), image)
    return np.clip(cv2.GaussianBlur(image, (0, 0), 1.0), 0, 255).astype(np.uint8)


def trees(width: int = 1072, height: int = 720, *, seed: int = 13) -> RGBFrame:
    """Two leafy trees (round, textured crowns on dark trunks) on a meadow under a clear sky."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = np.clip(yy / (0.6 * height), 0.0, 1.0)[..., None]
    image = (1 - t) * np.array([70, 130, 215], np.float32) + t * np.array([175, 210, 240], np.float32)
    meadow = yy > 0.68 * height
    grass = streaks((height, width), rng, along=0, across_px=2.0)
    image = np.where(meadow[..., None], np.stack([85 + 30 * grass, 140 + 35 * grass, 55 + 15 * grass], -1), image)
    leaves = noise((height, width), rng, cell_px=5.0, octaves=3)
    for cx, top, radius in ((0.3, 0.12, 0.16), (0.72, 0.2, 0.13)):
        trunk = (np.abs(xx - cx * width) < 0.015 * width) & (yy > (top + radius) * height) & (yy < 0.75 * height)
        image = np.where(trunk[..., None], np.array([80, 58, 40], np.float32), image)
        edge = radius * height * (1.0 + 0.12 * noise((height, width), rng, cell_px=25.0, octaves=2))
        crown = np.hypot(xx - cx * width, (yy - (top + radius) * height) * 1.1) < edge
        shade = 0.75 + 0.25 * np.clip((top + 2 * radius) * height - yy, 0, None) / (2 * radius * height)
        colour = np.stack([50 + 30 * leaves, 110 + 45 * leaves, 40 + 15 * leaves], -1) * shade[..., None]
        image = np.where(crown[..., None], colour, image)
    return np.clip(image, 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--width", type=int, default=1072)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(landscape(args.width, args.height)).save(args.out_dir / "landscape.png")
    Image.fromarray(cup()).save(args.out_dir / "cup.png")
    Image.fromarray(candle()).save(args.out_dir / "candle.png")
    Image.fromarray(campfire()).save(args.out_dir / "campfire.png")
    Image.fromarray(trees(args.width, args.height)).save(args.out_dir / "trees.png")


if __name__ == "__main__":
    main()
