"""Vapour: steam and smoke rising from a source, fog drifting across the frame.

`Plume`: a column of wisps over the source (`regions.find_vapour_source`): seeded noise carried upwards in two
phases (`flow.FlowCycle`, the copies blended so that their contrast is kept) and curled sideways by a coarser
noise carried with it, drawn as thin filaments (where the noise crosses zero) over a softer body, inside a
column that widens with height, sways (the sway travels up the column) and thins out towards its top. Steam is
white over a dark background and soft grey-blue over a pale one (as an illustration inks it), and fades sooner;
smoke is grey (lighter than a dark background, darker than a bright one), rises higher and spreads wider. Drawn
in front of everything, semi-transparent, fading in from nothing.

`Fog`: large soft noise stretched into banks, drifting sideways in two phases, denser towards the ground, laid
over the whole frame in a pale colour tinted by the picture's own light. Worked out at a quarter of the size
(fog has no detail).
"""

from __future__ import annotations

import math
from typing import Final, Literal

import cv2
import numpy as np

from stillmotion.engines.live2d.motion import smoothstep_array
from stillmotion.engines.live2d.scene.flow import (
    CyclePhase,
    Floats,
    FlowCycle,
    Patch,
    RGBFrame,
    SceneTime,
    advected_maps,
    fixed_maps,
    grid_of,
    noise,
    remap,
)
from stillmotion.engines.live2d.scene.regions import Source

STEAM_ALPHA: Final = 0.75
# Over a background at least this light (mean grey level), steam is drawn this much darker than it.
STEAM_PALE_FROM: Final = 175.0
STEAM_CONTRAST: Final = 70.0
SMOKE_ALPHA: Final = 0.65
FOG_ALPHA: Final = 0.5


def _mixed(first: Floats, second: Floats, phase: CyclePhase) -> Floats:
    """Two zero-mean noise copies blended by the phase's weights, their spread kept."""
    w1, w2 = phase.weight
    norm = math.sqrt(w1 * w1 + w2 * w2)
    return np.asarray(cv2.addWeighted(first, w1 / norm, second, w2 / norm, 0.0), np.float32)


class Plume:
    """Steam or smoke rising from `source` (see the module docstring)."""

    front = True

    def __init__(
        self,
        picture: RGBFrame,
        source: Source,
        time: SceneTime,
        rng: np.random.Generator,
        *,
        kind: Literal["steam", "smoke"],
        amplitude: float,
    ) -> None:
        height, width = picture.shape[:2]
        short = min(width, height)
        smoke = kind == "smoke"
        base_w = float(np.clip(source.width, 0.04 * short, 0.5 * short))
        rise = min(source.y + 0.05 * base_w, (4.5 if smoke else 3.0) * base_w + 0.15 * short)
        spread = 2.2 if smoke else 1.6
        half = 0.5 * base_w * (1.0 + spread) + 0.04 * short
        x0, x1 = max(0, int(source.x - half)), min(width, math.ceil(source.x + half))
        y0, y1 = max(0, int(source.y - rise)), min(height, math.ceil(source.y + 0.05 * base_w))
        self.box = (x0, y0, x1, y1)
        self.time = time
        box_w, box_h = x1 - x0, y1 - y0
        xs, ys = grid_of(box_w, box_h)
        self.lift = np.asarray(np.clip((source.y - (ys + y0)) / max(rise, 1.0), 0.0, 1.0), np.float32)  # 0 .. 1 up
        self.offset_x = np.asarray(xs + x0 - source.x, np.float32)  # px from the column's foot
        self.sigma = np.asarray(0.32 * base_w * (1.0 + spread * self.lift), np.float32)
        fade_top = 1.6 if smoke else 2.2
        self.vertical = np.asarray(
            smoothstep_array(self.lift.astype(np.float64) / 0.08) * np.power(1.0 - self.lift, fade_top), np.float32
        )
        # Wisps: noise stretched twice as tall as wide, carried up the column.
        speed = (0.09 if smoke else 0.16) * short * amplitude / 0.7  # px/s
        cell = 0.22 * base_w
        self.texture = _stretched(box_w, box_h, rng, cell_px=cell, octaves=3)
        # What curls the wisps: a coarser noise carried up with them that pushes the texture sideways.
        self.curl = _stretched(box_w, box_h, rng, cell_px=2.5 * cell, octaves=2)
        self.curl_px = np.asarray(0.35 * base_w * (0.3 + self.lift), np.float32)
        self.velocity = (np.zeros((box_h, box_w), np.float32), np.full((box_h, box_w), -speed, np.float32))
        self.cycle = FlowCycle(time, period_s=float(np.clip(0.35 * rise / speed, 0.8, 4.0)))
        self.base = (xs, ys)
        # The column sways: a wave travelling up it, growing with height.
        self.sway_px = 0.18 * base_w * (1.4 if smoke else 1.0)
        self.sway_k = 2.0 * math.pi / max(0.6 * rise, 1.0)
        self.sway_omega = 2.0 * math.pi * time.frequency(0.3)
        self.rise_px = rise
        self.sway_phase = float(rng.uniform(0.0, 2.0 * math.pi))
        peak = (SMOKE_ALPHA if smoke else STEAM_ALPHA) * min(1.0, amplitude / 0.7)
        self.peak = peak
        self.threshold = -0.1 if smoke else 0.05
        under = float(picture[y0:y1, x0:x1].mean()) if box_w and box_h else 128.0
        if smoke:
            shade = 180.0 if under < 110 else 95.0
        else:
            # White wisps over a dark room; over a pale wall white hardly shows, and steam is drawn the way an
            # illustration inks it there: soft grey-blue wisps, STEAM_CONTRAST levels below the wall.
            shade = 245.0 if under < STEAM_PALE_FROM else max(120.0, under - STEAM_CONTRAST)
        tint = 4.0 if smoke or shade < 245.0 else 0.0
        self.colour = np.full((box_h, box_w, 3), (shade, shade + 0.5 * tint, shade + tint), np.uint8)

    def patches(self, index: int) -> list[Patch]:
        strength = float(self.time.strength[index])
        if strength <= 0.0 or self.box[2] <= self.box[0] or self.box[3] <= self.box[1]:
            return []
        t = float(self.time.flow[index])
        phase = self.cycle.phase(index)
        copies = []
        for travel in phase.travel:
            carried = advected_maps(self.base, self.velocity, travel)
            curl = np.asarray(remap(self.curl, carried), np.float32)
            map_x = cv2.scaleAdd(self.base[0], 1.0, cv2.multiply(curl, self.curl_px))
            map_y = cv2.scaleAdd(self.velocity[1], -travel, self.base[1])
            copies.append(np.asarray(remap(self.texture, fixed_maps(map_x, map_y)), np.float32))
        wisps = _mixed(copies[0], copies[1], phase)
        # Thin bright filaments where the noise crosses zero, over a softer body.
        ridges = np.clip(1.0 - 0.9 * np.abs(wisps), 0.0, 1.0) ** 3
        body = np.clip(0.5 * (wisps - self.threshold), 0.0, 1.0)
        # The column's centre line sways, more the higher up: a wave travelling up it.
        height_px = self.lift * self.rise_px
        sway = self.sway_px * self.lift * np.sin(self.sway_omega * t - self.sway_k * height_px + self.sway_phase)
        across = (self.offset_x - sway) / self.sigma
        column = np.exp(-0.5 * across * across)
        density = (0.6 * ridges + 0.6 * body) * column * self.vertical
        alpha = np.asarray(strength * self.peak * density, np.float32)
        return [Patch(self.box, self.colour, alpha)]


def _stretched(width: int, height: int, rng: np.random.Generator, *, cell_px: float, octaves: int) -> Floats:
    """Noise `(height, width)` stretched twice as tall as wide (vapour rises in streaks)."""
    short = noise((max(4, height // 2), width), rng, cell_px=cell_px, octaves=octaves)
    return np.asarray(cv2.resize(short, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)


class Fog:
    """Soft fog drifting sideways over the whole frame, denser low down (see the module docstring)."""

    front = True
    _SCALE: Final = 4

    def __init__(
        self, picture: RGBFrame, time: SceneTime, rng: np.random.Generator, *, direction: str | None, amplitude: float
    ) -> None:
        height, width = picture.shape[:2]
        self.box = (0, 0, width, height)
        self.time = time
        small_w, small_h = max(4, width // self._SCALE), max(4, height // self._SCALE)
        # Banks of fog: noise stretched three times as wide as tall.
        banks = noise((small_h, max(4, small_w // 3)), rng, cell_px=0.12 * small_w, octaves=3)
        self.texture = np.asarray(cv2.resize(banks, (small_w, small_h), interpolation=cv2.INTER_LINEAR), np.float32)
        sign = -1.0 if direction == "left" else 1.0
        speed = sign * 0.02 * small_w * amplitude / 0.7  # small px/s
        self.velocity = (np.full((small_h, small_w), speed, np.float32), np.zeros((small_h, small_w), np.float32))
        self.base = grid_of(small_w, small_h)
        self.cycle = FlowCycle(time, period_s=4.0)
        ground = np.linspace(0.0, 1.0, small_h, dtype=np.float32)[:, None]
        self.profile = np.asarray(0.25 + 0.75 * smoothstep_array(ground.astype(np.float64) / 0.6), np.float32)
        self.peak = FOG_ALPHA * min(1.0, amplitude / 0.7)
        light = picture.reshape(-1, 3).mean(axis=0)
        tint = 0.65 * np.array([228.0, 231.0, 236.0]) + 0.35 * light
        self.colour = np.broadcast_to(np.clip(tint, 0, 255).astype(np.uint8), (height, width, 3)).copy()
        self.size = (width, height)

    def patches(self, index: int) -> list[Patch]:
        strength = float(self.time.strength[index])
        if strength <= 0.0:
            return []
        phase = self.cycle.phase(index)
        first = remap(self.texture, advected_maps(self.base, self.velocity, phase.travel[0]), cv2.BORDER_WRAP)
        second = remap(self.texture, advected_maps(self.base, self.velocity, phase.travel[1]), cv2.BORDER_WRAP)
        field = _mixed(np.asarray(first, np.float32), np.asarray(second, np.float32), phase)
        density = np.clip(0.45 + 0.4 * field, 0.0, 1.0) * self.profile * (strength * self.peak)
        alpha = cv2.resize(np.asarray(density, np.float32), self.size, interpolation=cv2.INTER_LINEAR)
        return [Patch(self.box, self.colour, np.asarray(alpha, np.float32))]
