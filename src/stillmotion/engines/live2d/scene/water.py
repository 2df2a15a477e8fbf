"""Water: its own texture carried along a flow field (falls, rivers, the sea rolling in) or rippled in place
(lakes, ponds, reflections).

`FlowingWater`: a velocity per pixel over the water's box (falling water: down, faster as it falls; a river:
along its long axis or the way the words say; the sea: towards the viewer), nearer water (lower in the frame)
faster than far water, a river a little slower and faster in patches so that it does not slide as one sheet,
all of it slowing to a stop at the region's edge (no copy ever samples beyond it). The texture is advected in
two phases that take turns at different moments in different patches (`flow.PatchyCycle`). Outside the region
the texture is painted in from the water's own colours. The sea also swells: a slow wave travels down the
water, its wavelength and height shrinking with distance.

`Ripples`: small displacements, each point of the water moving in a small ellipse, from a few travelling waves
whose wavelength and height shrink with distance; they break reflections into slivers as a breeze on a lake
does.

Both are laid on the background plate with the region's feathered alpha (nothing outside the water moves) and
are the picture itself in frame 0.
"""

from __future__ import annotations

import math
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.rig.fill import fill_hole
from stillmotion.engines.live2d.scene.flow import (
    FixedMaps,
    Floats,
    Patch,
    PatchyCycle,
    RGBFrame,
    SceneTime,
    fixed_maps,
    grid_of,
    noise,
    remap,
    weights8,
)
from stillmotion.engines.live2d.scene.regions import Region

# Speeds at amplitude 0.7 as shares of the picture's short side per second, at the nearest water.
FALL_SPEED: Final = 0.22
RIVER_SPEED: Final = 0.05
SEA_SPEED: Final = 0.03
# Each copy travels about this share of the short side in a period (less smearing, more pulsing below it).
CYCLE_TRAVEL: Final = 0.05
# Ripples' largest displacement at amplitude 0.7 (share of the short side), at the nearest water: enough that a
# breeze on a lake reads at once (reflections break into slivers), the waves long enough not to tear them.
RIPPLE_HEIGHT: Final = 0.006
# Far water (the top of the region) moves at this share of the nearest water's speed.
FAR_SPEED: Final = 0.35


def _perspective(rows: int, top_share: float) -> Floats:
    """`(rows, 1)` from `top_share` at the region's top row to 1 at its bottom row."""
    t = np.linspace(0.0, 1.0, max(rows, 1), dtype=np.float32)[:, None]
    return np.asarray(top_share + (1.0 - top_share) * t, np.float32)


class FlowingWater:
    """Texture carried along a flow field in two phases (see the module docstring)."""

    front = False

    def __init__(
        self,
        plate: RGBFrame,
        region: Region,
        time: SceneTime,
        rng: np.random.Generator,
        *,
        direction: tuple[float, float],
        speed_share: float,
        amplitude: float,
        falling: bool = False,
        swell: bool = False,
    ) -> None:
        height, width = plate.shape[:2]
        short = min(width, height)
        x0, y0, x1, y1 = region.box
        self.box = region.box
        self.alpha = region.alpha
        self.alpha8 = weights8(region.alpha)
        self.time = time
        box_w, box_h = x1 - x0, y1 - y0
        speed = speed_share * short * amplitude / 0.7  # px/s at the nearest water
        if falling:
            # Falling water speeds up as it falls (v ~ sqrt of the drop), from 60% at the lip.
            profile = np.asarray(0.6 + 0.4 * np.sqrt(np.linspace(0.0, 1.0, box_h))[:, None], np.float32)
        else:
            profile = _perspective(box_h, FAR_SPEED)
        # Faster and slower in patches, so that a river does not slide as one sheet; the sea rolls in as one, or
        # its crests (across the flow) would bend.
        patches = 1.0 + (0.0 if swell else 0.3) * noise((box_h, box_w), rng, cell_px=max(8.0, 0.06 * short))
        magnitude = np.asarray(speed * profile * np.clip(patches, 0.4, 1.6), np.float32)  # (h, w) px/s
        period_s = float(np.clip(CYCLE_TRAVEL * short / speed, 0.5, 3.0))
        coarse = (max(2, box_w // 8), max(2, box_h // 8))
        # Latencies spread evenly over half a period (the normal noise through its own distribution function).
        spread = noise((coarse[1], coarse[0]), rng, cell_px=max(2.0, 0.12 * short / 8))
        latency = 0.5 * (0.5 + 0.5 * np.vectorize(math.erf)(spread / math.sqrt(2.0)))
        self.cycle = PatchyCycle(time, latency, period_s=period_s, size=(box_w, box_h))
        # Near the region's edge the water slows to a stop, so that no copy ever samples beyond it: a copy
        # travels at most a period's distance.
        reach_px = self.cycle.period_s * magnitude + 2.0
        magnitude = np.asarray(magnitude * np.clip(region.inside / reach_px, 0.0, 1.0), np.float32)
        dx, dy = direction
        self.velocity = (np.asarray(magnitude * dx, np.float32), np.asarray(magnitude * dy, np.float32))
        # The source: the water's box plus the farthest a copy travels, painted in with water outside the region.
        reach = math.ceil(self.cycle.period_s * float(magnitude.max())) + 2
        sx0, sy0, sx1, sy1 = max(0, x0 - reach), max(0, y0 - reach), min(width, x1 + reach), min(height, y1 + reach)
        known = np.zeros((sy1 - sy0, sx1 - sx0), np.float32)
        known[y0 - sy0 : y1 - sy0, x0 - sx0 : x1 - sx0] = region.alpha > 0.0
        source = plate[sy0:sy1, sx0:sx1]
        filled = fill_hole(source.astype(np.float32), known)
        self.source = np.asarray(np.clip(np.rint(filled), 0, 255), np.uint8)
        base_x, base_y = grid_of(box_w, box_h)
        self.base = (base_x + np.float32(x0 - sx0), base_y + np.float32(y0 - sy0))
        self.swell = _Swell(box_w, box_h, short, amplitude, time, rng) if swell else None

    def _copy(self, base: tuple[Floats, Floats], travel: Floats) -> RGBFrame:
        map_x = cv2.subtract(base[0], cv2.multiply(self.velocity[0], travel))
        map_y = cv2.subtract(base[1], cv2.multiply(self.velocity[1], travel))
        return np.asarray(remap(self.source, fixed_maps(map_x, map_y)), np.uint8)

    def patches(self, index: int) -> list[Patch]:
        state = self.cycle.state(index)
        swell = None if self.swell is None else self.swell.offset(index)
        if state is None and swell is None:
            return []
        base = self.base if swell is None else (self.base[0], np.asarray(cv2.add(self.base[1], swell), np.float32))
        if state is None:
            zero = np.zeros_like(self.base[0])
            return [Patch(self.box, self._copy(base, zero), self.alpha, alpha8=self.alpha8)]
        first_travel, second_travel, weight = state
        first, second = self._copy(base, first_travel), self._copy(base, second_travel)
        share, scale = weights8(weight), 1.0 / 255.0
        colour = cv2.add(
            cv2.multiply(first, share, scale=scale), cv2.multiply(second, cv2.bitwise_not(share), scale=scale)
        )
        return [Patch(self.box, np.asarray(colour, np.uint8), self.alpha, alpha8=self.alpha8)]


class _Swell:
    """A slow wave travelling down the water towards the viewer: a vertical offset `(h, w)` per frame, its
    wavelength and height shrinking with distance (the top of the box is far)."""

    def __init__(
        self, width: int, height: int, short: int, amplitude: float, time: SceneTime, rng: np.random.Generator
    ) -> None:
        near = _perspective(height, 0.25)[:, 0]  # (h,) 0.25 far .. 1 near
        wavelength = 0.12 * short * near
        phase_y = np.cumsum(2.0 * math.pi / wavelength).astype(np.float32)  # (h,) radians down the water
        across = noise((1, width), rng, cell_px=0.3 * short, octaves=2)[0] * 0.3  # (w,) crests not quite level
        psi = phase_y[:, None] + across[None, :]
        lift = 0.0035 * short * amplitude / 0.7 * near[:, None]  # (h, 1) px
        self.sin = np.asarray(lift * np.sin(psi), np.float32)
        self.cos = np.asarray(lift * np.cos(psi), np.float32)
        self.omega = 2.0 * math.pi * time.frequency(0.35)
        self.time = time

    def offset(self, index: int) -> Floats | None:
        strength = float(self.time.strength[index])
        if strength <= 0.0:
            return None
        # sin(psi - w t): crests move down (towards larger psi) as t grows.
        angle = self.omega * float(self.time.flow[index])
        return np.asarray(
            cv2.addWeighted(self.sin, strength * math.cos(angle), self.cos, -strength * math.sin(angle), 0.0),
            np.float32,
        )


class Ripples:
    """Small travelling waves that displace still water, mostly sideways (see the module docstring)."""

    front = False
    # (wavelength, height, slant) per wave: each wave's strain 2 pi height / wavelength stays under about 0.4.
    _WAVES: Final = ((0.05, 0.5, 0.0), (0.08, 0.7, 0.6), (0.13, 1.0, -0.4))

    def __init__(
        self, plate: RGBFrame, region: Region, time: SceneTime, rng: np.random.Generator, *, amplitude: float
    ) -> None:
        height, width = plate.shape[:2]
        short = min(width, height)
        x0, y0, x1, y1 = region.box
        self.box, self.alpha, self.time = region.box, region.alpha, time
        self.alpha8 = weights8(region.alpha)
        box_w, box_h = x1 - x0, y1 - y0
        reach = 4
        sx0, sy0, sx1, sy1 = max(0, x0 - reach), max(0, y0 - reach), min(width, x1 + reach), min(height, y1 + reach)
        self.source = np.ascontiguousarray(plate[sy0:sy1, sx0:sx1])
        base_x, base_y = grid_of(box_w, box_h)
        self.base = (base_x + np.float32(x0 - sx0), base_y + np.float32(y0 - sy0))
        near = _perspective(box_h, 0.3)  # (h, 1)
        height_px = RIPPLE_HEIGHT * short * amplitude / 0.7 * near
        self.terms: list[tuple[Floats, Floats, float]] = []
        xs = np.arange(box_w, dtype=np.float32)[None, :]
        for share, weight, slant in self._WAVES:
            wavelength = share * short * near[:, 0]
            phase_y = np.cumsum(2.0 * math.pi / wavelength).astype(np.float32)[:, None]
            wobble = noise((1, box_w), rng, cell_px=0.2 * short, octaves=2) * 1.5
            psi = phase_y + slant * 2.0 * math.pi * xs / (0.2 * short) + wobble + float(rng.uniform(0, 2 * math.pi))
            omega = 2.0 * math.pi * time.frequency(float(rng.uniform(0.5, 0.9)))
            self.terms.append(
                (
                    np.asarray(weight * height_px * np.sin(psi), np.float32),
                    np.asarray(weight * height_px * np.cos(psi), np.float32),
                    omega,
                )
            )

    def _maps(self, strength: float, t: float) -> FixedMaps:
        # Sideways by sin(psi + w t) = sin psi cos wt + cos psi sin wt, and up and down by the quarter-turned
        # cos(psi + w t): each wave moves the water in a small ellipse (reflections break into slivers, and a
        # texture streaked along one direction still shows it).
        map_x: npt.NDArray[Any] = self.base[0]
        map_y: npt.NDArray[Any] = self.base[1]
        for sin_psi, cos_psi, omega in self.terms:
            c, s = strength * math.cos(omega * t), strength * math.sin(omega * t)
            map_x = cv2.scaleAdd(sin_psi, c, cv2.scaleAdd(cos_psi, s, map_x))
            map_y = cv2.scaleAdd(cos_psi, 0.7 * c, cv2.scaleAdd(sin_psi, -0.7 * s, map_y))
        return fixed_maps(map_x, map_y)

    def patches(self, index: int) -> list[Patch]:
        strength = float(self.time.strength[index])
        if strength <= 0.0:
            return []
        colour = remap(self.source, self._maps(strength, float(self.time.flow[index])))
        return [Patch(self.box, np.asarray(colour, np.uint8), self.alpha, alpha8=self.alpha8)]


def flow_direction(region: Region, asked: str | None, *, long_axis: tuple[float, float]) -> tuple[float, float]:
    """Which way a river flows: the way the words say, else along the region's long axis (downwards, or to
    the right for a level river)."""
    named = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}
    if asked in named:
        wanted = named[asked]
        dx, dy = long_axis
        # Along the river's axis, the way the words point (a river "flows left" along its own bed).
        along = dx * wanted[0] + dy * wanted[1]
        if abs(along) >= 0.5:
            sign = 1.0 if along > 0 else -1.0
            return sign * dx, sign * dy
        return wanted
    return long_axis
