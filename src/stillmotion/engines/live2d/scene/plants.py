"""Plants swaying: leaves and grass pushed sideways by the wind, more the farther from where they grow.

Over the green, textured region (`regions.find_foliage`), and a band around it as wide as the sway (so that a
crown's outline moves against the sky rather than being cut), each pixel is displaced sideways by an amount that
grows from nothing at the plants' foot (the lowest green pixel of each column) to their tips. The sway is a
gust travelling across the frame (the wind's direction when the words give one, leaning that way as well) plus
a faster flutter whose phase differs from clump to clump. Laid on the background plate; fades in from nothing.
"""

from __future__ import annotations

import math
from typing import Final

import cv2
import numpy as np

from stillmotion.engines.live2d.scene.flow import (
    Floats,
    Patch,
    RGBFrame,
    SceneTime,
    fixed_maps,
    grid_of,
    noise,
    remap,
    weights8,
)
from stillmotion.engines.live2d.scene.regions import Region

SWAY_SHARE: Final = 0.009  # sway at the tips at amplitude 0.7, as a share of the short side


class Sway:
    front = False

    def __init__(
        self,
        plate: RGBFrame,
        region: Region,
        time: SceneTime,
        rng: np.random.Generator,
        *,
        direction: str | None,
        amplitude: float,
    ) -> None:
        height, width = plate.shape[:2]
        short = min(width, height)
        sway = SWAY_SHARE * short * amplitude / 0.7
        band = math.ceil(2.5 * sway) + 2
        rx0, ry0, rx1, ry1 = region.box
        x0, y0, x1, y1 = max(0, rx0 - band), max(0, ry0 - band), min(width, rx1 + band), min(height, ry1 + band)
        self.box = (x0, y0, x1, y1)
        self.time = time
        box_w, box_h = x1 - x0, y1 - y0
        green = np.zeros((box_h, box_w), np.float32)
        green[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0] = region.alpha > 0.0
        # Each column's foot: its lowest green pixel; the tips are a clump's height above it.
        rows = np.arange(box_h, dtype=np.float32)[:, None]
        has = green.any(axis=0)
        foot = np.where(has, box_h - 1 - np.argmax(green[::-1] > 0, axis=0), 0).astype(np.float32)[None, :]
        top = np.where(has, np.argmax(green > 0, axis=0), 0).astype(np.float32)[None, :]
        tall = np.maximum(foot - top, 0.15 * short)
        rise = np.clip((foot - rows) / tall, 0.0, 1.0) ** 1.3
        grown = cv2.dilate(green, np.ones((3, 3), np.uint8), iterations=band // 2 + 1)
        near = cv2.GaussianBlur(grown, (0, 0), band / 2)
        self.weight = np.asarray(np.clip(near, 0.0, 1.0) * rise * sway, np.float32)  # px at full sway
        self.alpha = np.asarray(np.clip(near * 1.5, 0.0, 1.0), np.float32)
        self.alpha8 = weights8(self.alpha)
        xs, ys = grid_of(box_w, box_h)
        self.base = (xs, ys)
        self.source = np.ascontiguousarray(plate[y0:y1, x0:x1])
        sign = {"left": -1.0, "right": 1.0}.get(direction or "", 0.0)
        self.lean = 0.5 * sign
        gust_k = 2.0 * math.pi / (0.8 * width) * (sign or 1.0)
        clumps = noise((box_h, box_w), rng, cell_px=0.05 * short, octaves=2) * 1.8
        self.terms: list[tuple[Floats, Floats, float, float]] = []
        for psi, hz, share in ((-gust_k * (xs + x0), 0.35, 0.7), (clumps, 1.1, 0.35)):
            self.terms.append(
                (np.asarray(np.sin(psi), np.float32), np.asarray(np.cos(psi), np.float32), time.frequency(hz), share)
            )

    def patches(self, index: int) -> list[Patch]:
        strength = float(self.time.strength[index])
        if strength <= 0.0:
            return []
        t = float(self.time.flow[index])
        shift = np.full_like(self.weight, self.lean)
        for sin_psi, cos_psi, hz, share in self.terms:
            angle = 2.0 * math.pi * hz * t
            shift = np.asarray(cv2.scaleAdd(sin_psi, share * math.cos(angle), shift), np.float32)
            shift = np.asarray(cv2.scaleAdd(cos_psi, share * math.sin(angle), shift), np.float32)
        dx = cv2.multiply(shift, self.weight, scale=strength)
        colour = remap(self.source, fixed_maps(cv2.subtract(self.base[0], dx), self.base[1]))
        return [Patch(self.box, np.asarray(colour, np.uint8), self.alpha, alpha8=self.alpha8)]
