"""Fire: flames that lick upwards and flicker, the light they cast, and embers rising from a large fire.

Per flame (`regions.find_flames`): the flame and the air above it are resampled along a displacement that grows
from nothing at the flame's foot to its tip: upwards (tongues stretch and shrink) and sideways (they lick),
from seeded noise carried up the flame in two phases (`flow.FlowCycle`), so that it never settles into a
pattern. The flame's brightness flickers with it; a warm glow around it, added as light, pulses with the same
flicker. A candle's flame sways and stretches as a whole; a wide fire (a campfire) breaks into tongues and also
sends up embers: small sparks that rise, drift and fade.
Everything is drawn in front, fades in from nothing, and is seeded.
"""

from __future__ import annotations

import math
from typing import Final

import cv2
import numpy as np

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Clock
from stillmotion.engines.live2d.scene.flow import (
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
from stillmotion.engines.live2d.scene.regions import Region

# Displacement at the flame's tip at amplitude 0.7, as shares of the flame's height (up) and width (sideways).
LICK_UP: Final = 0.16
LICK_SIDEWAYS: Final = 0.22
FLICKER_GAIN: Final = 0.16  # brightness swing of the flame itself
# How much of that swing each channel (R, G, B) takes: a flame that dims turns deeper orange, not grey.
FLICKER_CHANNELS: Final = np.array([0.5, 1.0, 1.5], np.float32)
GLOW_LEVEL: Final = 46.0  # light added at the flame's foot at the flicker's peak (0..255)
EMBER_WIDTH: Final = 0.06  # a fire wider than this share of the short side (and than tall) sends up embers


class Flame:
    """One flame, licking and flickering, with its glow and (for a wide fire) embers."""

    front = True

    def __init__(
        self,
        picture: RGBFrame,
        region: Region,
        time: SceneTime,
        clock: Clock,
        rng: np.random.Generator,
        *,
        amplitude: float,
    ) -> None:
        height, width = picture.shape[:2]
        short = min(width, height)
        fx0, fy0, fx1, fy1 = region.box
        flame_w, flame_h = fx1 - fx0, fy1 - fy0
        self.time = time
        gain = amplitude / 0.7
        # The flame's box and the air above it that its tongues reach into.
        x0, x1 = max(0, fx0 - flame_w // 2 - 2), min(width, fx1 + flame_w // 2 + 2)
        y0, y1 = max(0, fy0 - flame_h), min(height, fy1 + max(2, flame_h // 8))
        self.box = (x0, y0, x1, y1)
        box_w, box_h = x1 - x0, y1 - y0
        self.source = np.ascontiguousarray(picture[y0:y1, x0:x1])
        xs, ys = grid_of(box_w, box_h)
        self.base = (xs, ys)
        # Where the flame is (softly widened), and how far up it each row lies: 0 at its foot, 1 at its tip.
        inside = np.zeros((box_h, box_w), np.float32)
        inside[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0] = region.alpha
        reach = max(1.5, 0.25 * flame_w)
        around = cv2.GaussianBlur(cv2.dilate(inside, np.ones((3, 3), np.uint8)), (0, 0), reach)
        around = np.clip(around / max(float(around.max()), 1e-6), 0.0, 1.0)
        up = np.clip((fy1 - (ys + y0)) / max(flame_h, 1), 0.0, 1.6)
        self.weight = np.asarray(around * up, np.float32)  # (h, w) how much each pixel is displaced
        # A candle's flame (narrow, tall) sways and stretches as a whole; a wide fire breaks into tongues.
        wide = is_wide(region.box, short)
        sideways = LICK_SIDEWAYS if wide else 0.45 * LICK_SIDEWAYS
        self.lick = (sideways * flame_w * gain, LICK_UP * flame_h * gain)  # px at the tip
        # Noise carried up the flame quickly: a tongue rises through it in about a third of a second.
        speed = 2.5 * flame_h
        cell = max(2.0, (0.35 if wide else 0.9) * flame_w)
        self.noise_x = noise((box_h, box_w), rng, cell_px=cell, octaves=2 if wide else 1)
        self.noise_y = noise((box_h, box_w), rng, cell_px=cell, octaves=2 if wide else 1)
        self.velocity = (np.zeros((box_h, box_w), np.float32), np.full((box_h, box_w), -speed, np.float32))
        self.cycle = FlowCycle(time, period_s=0.5)
        self.flicker = np.asarray(
            time.strength * motion.smooth_noise(clock, rng, low_hz=3.0, high_hz=9.0, terms=4), np.float64
        )
        self.brightness = np.asarray(inside, np.float32)
        # The glow: light added around the flame, brightest at its heart.
        radius = 1.5 * max(flame_w, flame_h) + 0.03 * short
        gx0, gx1 = max(0, int(fx0 + flame_w / 2 - radius)), min(width, int(fx0 + flame_w / 2 + radius))
        gy0, gy1 = max(0, int(fy0 + 0.6 * flame_h - radius)), min(height, int(fy0 + 0.6 * flame_h + radius))
        self.glow_box = (gx0, gy0, gx1, gy1)
        gxs, gys = grid_of(gx1 - gx0, gy1 - gy0)
        distance = np.hypot(gxs + gx0 - (fx0 + flame_w / 2), gys + gy0 - (fy0 + 0.6 * flame_h)) / radius
        falloff = np.clip(1.0 - distance, 0.0, 1.0) ** 2
        self.glow = np.asarray(falloff[..., None] * np.array([1.0, 0.62, 0.28], np.float32), np.float32)
        self.glow_level = GLOW_LEVEL * gain

    def _licked(self, index: int) -> RGBFrame:
        phase = self.cycle.phase(index)
        strength = float(self.time.strength[index])
        travels = [(phase.travel[k], phase.weight[k]) for k in (0, 1) if phase.weight[k] > 1e-4]
        push_x = np.zeros_like(self.weight)
        push_y = np.zeros_like(self.weight)
        norm = math.sqrt(sum(w * w for _, w in travels))
        for travel, share in travels:
            maps = advected_maps(self.base, self.velocity, travel)
            push_x = np.asarray(cv2.scaleAdd(remap(self.noise_x, maps), share / norm, push_x), np.float32)
            push_y = np.asarray(cv2.scaleAdd(remap(self.noise_y, maps), share / norm, push_y), np.float32)
        sideways, upwards = self.lick
        # Sample from below (tongues stretch up) and from the side; never pull the flame down.
        dy = np.maximum(0.35 + 0.65 * push_y, 0.0) * (upwards * strength)
        dx = push_x * (sideways * strength)
        map_x = cv2.scaleAdd(np.asarray(dx * self.weight, np.float32), -1.0, self.base[0])
        map_y = cv2.add(self.base[1], np.asarray(dy * self.weight, np.float32))
        licked = remap(self.source, fixed_maps(map_x, map_y), cv2.BORDER_REPLICATE)
        gain = 1.0 + FLICKER_GAIN * float(self.flicker[index])
        if gain != 1.0:
            swing = (gain - 1.0) * cv2.GaussianBlur(self.brightness, (0, 0), 2.0)
            scale = 1.0 + swing[..., None] * FLICKER_CHANNELS
            licked = np.clip(np.asarray(licked, np.float32) * scale, 0, 255)
        return np.asarray(licked, np.uint8)

    def patches(self, index: int) -> list[Patch]:
        strength = float(self.time.strength[index])
        if strength <= 0.0:
            return []
        alpha = np.asarray(np.clip(self.weight * 4.0, 0.0, 1.0) * min(1.0, 4.0 * strength), np.float32)
        found = [Patch(self.box, self._licked(index), alpha)]
        level = self.glow_level * strength * (0.65 + 0.35 * float(self.flicker[index]))
        glow = np.clip(self.glow * level, 0, 255).astype(np.uint8)
        found.append(Patch(self.glow_box, glow, np.zeros(glow.shape[:2], np.float32), mode="add"))
        return found


def is_wide(box: tuple[int, int, int, int], short: int) -> bool:
    """A fire (one flame, or tongues side by side) wider than `EMBER_WIDTH` of the short side and not much
    taller than wide: a campfire rather than a candle."""
    x0, y0, x1, y1 = box
    return x1 - x0 >= EMBER_WIDTH * short and x1 - x0 >= 0.6 * (y1 - y0)


def fires(flames: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Flames side by side (boxes less than half a flame's height apart) gathered into one fire's box each."""
    groups: list[tuple[int, int, int, int]] = []
    for box in sorted(flames):
        x0, y0, x1, y1 = box
        gap = 0.5 * (y1 - y0)
        for number, (gx0, gy0, gx1, gy1) in enumerate(groups):
            if x0 <= gx1 + gap and gx0 <= x1 + gap and y0 <= gy1 + gap and gy0 <= y1 + gap:
                groups[number] = (min(x0, gx0), min(y0, gy0), max(x1, gx1), max(y1, gy1))
                break
        else:
            groups.append(box)
    return groups


class Embers:
    """Sparks rising from a wide fire: each rises, drifts sideways and fades over its own lifetime, and starts
    again at the fire (lifetimes and phases seeded; a whole number of lifetimes per loop)."""

    front = True

    def __init__(
        self,
        flame_box: tuple[int, int, int, int],
        time: SceneTime,
        rng: np.random.Generator,
        *,
        short: int,
        size: tuple[int, int],
    ) -> None:
        fx0, fy0, fx1, fy1 = flame_box
        width, height = size
        rise = min(float(fy0), 2.5 * (fy1 - fy0) + 0.1 * short)
        spread = 0.6 * (fx1 - fx0)
        self.box = (
            max(0, int(fx0 - spread)),
            max(0, int(fy0 - rise)),
            min(width, int(fx1 + spread)),
            min(height, int(fy0 + 0.5 * (fy1 - fy0))),
        )
        count = 18
        self.time = time
        self.start_x = rng.uniform(fx0 + 0.2 * (fx1 - fx0), fx1 - 0.2 * (fx1 - fx0), count)
        self.start_y = rng.uniform(fy0, fy0 + 0.4 * (fy1 - fy0), count)
        self.life = np.array([time.period(float(s)) for s in rng.uniform(1.2, 2.2, count)])
        self.phase = rng.uniform(0.0, 1.0, count)
        self.rise = rise * rng.uniform(0.6, 1.0, count)
        self.drift = spread * rng.uniform(-0.6, 0.6, count)
        self.wobble_hz = rng.uniform(1.0, 2.5, count)
        self.radius = max(1.0, 0.004 * short)

    def patches(self, index: int) -> list[Patch]:
        strength = float(self.time.strength[index])
        x0, y0, x1, y1 = self.box
        if strength <= 0.0 or x1 <= x0 or y1 <= y0:
            return []
        t = float(self.time.flow[index])
        age = (t / self.life + self.phase) % 1.0  # 0 .. 1 through each ember's life
        x = self.start_x + self.drift * age + 0.15 * self.drift * np.sin(2 * math.pi * self.wobble_hz * t)
        y = self.start_y - self.rise * age
        brightness = strength * np.sin(math.pi * age) ** 1.5
        canvas = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
        for cx, cy, light in zip(x - x0, y - y0, brightness, strict=True):
            if light < 0.05:
                continue
            colour = (255.0 * light, 150.0 * light, 50.0 * light)
            centre = (round(float(cx) * 16), round(float(cy) * 16))
            cv2.circle(canvas, centre, round(self.radius * 16), colour, -1, cv2.LINE_AA, 4)
        return [Patch(self.box, canvas, np.zeros(canvas.shape[:2], np.float32), mode="add")]
