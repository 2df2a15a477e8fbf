"""Lightning: a forked bolt across the sky and the flash it throws on everything.

The bolt is drawn once (seeded): a jagged line from the top of the sky down to the skyline (or half-way down the
frame without a sky), each segment bent by midpoint displacement, with a branch or two; a white-blue core in a
wide soft glow. It strikes at two seeded moments (one in a short clip), never near the clip's ends: a flash
that rises in a frame and dies away in a flicker, the bolt showing while it is bright, the sky lit more than
the land below it. Light is added, the more the darker the sky is (a bright sky would burn out to white).
"""

from __future__ import annotations

import math
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.motion import Clock, Curve
from stillmotion.engines.live2d.scene.flow import Patch, RGBFrame, SceneTime
from stillmotion.engines.live2d.scene.regions import Region

FLASH_S: Final = 0.45  # from the first light to dark again
SKY_LIGHT: Final = 110.0  # light added to the sky at the flash's peak (0..255), amplitude 0.7
LAND_LIGHT: Final = 25.0  # the land below is lit far less than the sky the bolt is in


def _flash_shape(since: Curve) -> Curve:
    """0..1 light `since` seconds after a strike: up in a frame, a quick flicker, an exponential tail."""
    inside = (since >= 0.0) & (since <= FLASH_S)
    tail = np.exp(-since / 0.12)
    flicker = 1.0 - 0.55 * np.exp(-(((since - 0.09) / 0.035) ** 2))  # a dip between two pulses
    return np.where(inside, tail * flicker, 0.0)


class Lightning:
    front = True

    def __init__(
        self,
        picture: RGBFrame,
        sky: Region | None,
        time: SceneTime,
        clock: Clock,
        rng: np.random.Generator,
        *,
        amplitude: float,
    ) -> None:
        height, width = picture.shape[:2]
        short = min(width, height)
        gain = amplitude / 0.7
        end = float(clock.times[-1]) if clock.times.size else 0.0
        strikes = [0.38 * end] if end < 3.0 else [0.3 * end, 0.72 * end]
        strikes = [s + float(rng.uniform(-0.05, 0.05)) * end for s in strikes]
        light = np.zeros_like(clock.times)
        for strike in strikes:
            light = np.maximum(light, _flash_shape(clock.times - strike))
        # Strikes only while the track runs (and never on frame 0).
        self.light = np.where(time.strength > 0.0, light, 0.0)
        self.light[0] = 0.0
        sky_box = sky.box if sky is not None else (0, 0, width, height // 2)
        sx0, sy0, sx1, sy1 = sky_box
        # The bolt, from the top of the sky to its bottom edge.
        start = (float(rng.uniform(sx0 + 0.2 * (sx1 - sx0), sx0 + 0.8 * (sx1 - sx0))), float(sy0))
        finish = (start[0] + float(rng.uniform(-0.15, 0.15)) * (sx1 - sx0), float(sy1) - 0.05 * (sy1 - sy0))
        points = _jagged(start, finish, rng, roughness=0.12)
        canvas = np.zeros((height, width), np.float32)
        thickness = max(1, round(0.003 * short))
        cv2.polylines(canvas, [np.round(points).astype(np.int32)], False, 1.0, thickness, cv2.LINE_AA)
        for _ in range(2):
            fork_at = points[int(rng.integers(len(points) // 4, 3 * len(points) // 4))]
            angle = float(rng.uniform(0.3, 0.9)) * (1 if rng.uniform() < 0.5 else -1)
            length = float(rng.uniform(0.15, 0.3)) * (sy1 - sy0)
            tip = (fork_at[0] + length * math.sin(angle), fork_at[1] + length * math.cos(angle))
            branch = _jagged((float(fork_at[0]), float(fork_at[1])), tip, rng, roughness=0.15)
            cv2.polylines(canvas, [np.round(branch).astype(np.int32)], False, 0.7, max(1, thickness - 1), cv2.LINE_AA)
        glow = cv2.GaussianBlur(canvas, (0, 0), 0.012 * short)
        bolt = np.clip(canvas + 3.0 * glow, 0.0, 1.0)
        rows = np.flatnonzero(bolt.max(axis=1) > 0.01)
        columns = np.flatnonzero(bolt.max(axis=0) > 0.01)
        self.bolt_box = (int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1)
        bx0, by0, bx1, by1 = self.bolt_box
        self.bolt = np.asarray(bolt[by0:by1, bx0:bx1, None] * np.array([235.0, 240.0, 255.0], np.float32), np.float32)
        # The flash: the sky lit most (from its top), the land below a little.
        ys = np.arange(height, dtype=np.float32)[:, None]
        in_sky = np.clip(1.0 - (ys - sy1) / (0.1 * height), 0.0, 1.0)
        # A dark, stormy sky lights up the most; a bright one has little room left before white.
        darkness = 1.0 - float(picture[sy0:sy1, sx0:sx1].mean()) / 255.0
        level = (LAND_LIGHT + (SKY_LIGHT - LAND_LIGHT) * in_sky) * min(1.0, 1.5 * darkness)
        self.flash = np.asarray(
            np.broadcast_to(level[..., None] * np.array([0.9, 0.93, 1.0], np.float32), (height, width, 3)), np.float32
        )
        self.gain = gain
        self.size = (width, height)

    def patches(self, index: int) -> list[Patch]:
        light = float(self.light[index]) * self.gain
        if light <= 0.01:
            return []
        width, height = self.size
        flash = np.clip(self.flash * light, 0, 255).astype(np.uint8)
        found = [Patch((0, 0, width, height), flash, np.zeros((height, width), np.float32), mode="add")]
        # The bolt fades with the flash, a little faster (it is gone before the sky is dark again).
        bolt = np.clip(self.bolt * min(1.0, 1.3 * light) ** 2, 0, 255).astype(np.uint8)
        found.append(Patch(self.bolt_box, bolt, np.zeros(bolt.shape[:2], np.float32), mode="add"))
        return found


def _jagged(
    start: tuple[float, float], finish: tuple[float, float], rng: np.random.Generator, *, roughness: float
) -> npt.NDArray[np.float64]:
    """`(N, 2)` points from `start` to `finish`, every segment's midpoint pushed sideways by `roughness` of its
    length (halving each round): a jagged, fractal path."""
    points = np.array([start, finish], dtype=np.float64)
    for _ in range(6):
        middle = 0.5 * (points[:-1] + points[1:])
        step = points[1:] - points[:-1]
        length = np.hypot(step[:, 0], step[:, 1])[:, None]
        normal = np.stack([-step[:, 1], step[:, 0]], axis=1) / np.maximum(length, 1e-6)
        middle += normal * length * roughness * rng.uniform(-1.0, 1.0, (len(middle), 1))
        merged = np.empty((len(points) + len(middle), 2))
        merged[0::2], merged[1::2] = points, middle
        points = merged
    return points
