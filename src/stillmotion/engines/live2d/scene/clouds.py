"""Clouds drifting across the sky.

The sky (`regions.find_sky`) is split once into a clear sky and the clouds on it: the clear sky is the sky's
own least white pixels painted in smoothly behind the clouds (`fill.fill_hole`, on a copy a few times smaller);
the clouds are what the picture adds to it, `picture - clear sky`, signed, fading out towards the sky's edge.
Each frame the clouds slide sideways, row by row (clouds high overhead are nearer and move faster than those on
the horizon): the frame is the picture with its clouds taken out where they were and added back where they are
now. Since the clear sky's gradient runs mostly top to bottom, a cloud slid along its row lands on the same
blue. What comes in at the frame's edge is the sky mirrored there. In a
loop, the last second cross-fades into clouds arriving where they started, so the last frame is the first.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.motion import smoothstep_array
from stillmotion.engines.live2d.rig.fill import fill_hole
from stillmotion.engines.live2d.scene.flow import (
    Floats,
    Patch,
    RGBFrame,
    SceneTime,
    fixed_maps,
    grid_of,
    remap,
    weights8,
)
from stillmotion.engines.live2d.scene.regions import Region

# Drift at amplitude 0.7, as a share of the picture's width per second, for the highest clouds.
DRIFT_SPEED: Final = 0.03
# Clouds at the bottom of the sky (far away) drift at this share of the highest ones' speed.
HORIZON_SPEED: Final = 0.4
LOOP_BLEND_S: Final = 1.5
_PLATE_SCALE: Final = 4


class CloudDrift:
    """The clouds of the sky slid sideways frame by frame (see the module docstring)."""

    front = False

    def __init__(
        self, plate: RGBFrame, region: Region, time: SceneTime, *, direction: str | None, amplitude: float
    ) -> None:
        x0, y0, x1, y1 = region.box
        width = plate.shape[1]
        self.box, self.alpha, self.time = region.box, region.alpha, time
        self.alpha8 = weights8(region.alpha)
        picture = plate[y0:y1, x0:x1].astype(np.float32)
        inside = region.alpha > 0.0
        self.picture = picture.astype(np.int16)  # (h, w, 3)
        clear = _clear_sky(picture, inside)  # (h, w, 3) float32
        # The clouds fade out towards the sky's edge, so that nothing of a skyline (a roof's dark edge) drifts.
        # Held as 8 bits, half the difference around 128 (slid every frame, 8 bits resample fastest).
        clouds = (picture - clear) * region.alpha[..., None]
        self.clouds = np.asarray(np.clip(np.rint(0.5 * clouds + 128.0), 0, 255), np.uint8)
        box_h, box_w = inside.shape
        sign = -1.0 if direction == "left" else 1.0
        height_share = np.linspace(1.0, HORIZON_SPEED, box_h, dtype=np.float32)[:, None]  # (h, 1)
        speed = sign * DRIFT_SPEED * width * amplitude / 0.7 * height_share  # (h, 1) px/s
        self.speed = np.asarray(np.broadcast_to(speed, inside.shape), np.float32)  # (h, w)
        self.base = grid_of(box_w, box_h)
        # In a loop, the last LOOP_BLEND_S cross-fade into the clouds as they were that long before the start.
        blend_s = min(LOOP_BLEND_S, 0.3 * time.end_s)
        start = time.end_s - blend_s
        self.loop_weight = (
            smoothstep_array((time.flow - start) / max(blend_s, 1e-6)) if time.loop else np.zeros_like(time.flow)
        )

    def _slid(self, drift_s: float) -> npt.NDArray[np.uint8]:
        map_x = cv2.scaleAdd(self.speed, -drift_s, self.base[0])
        return np.asarray(remap(self.clouds, fixed_maps(map_x, self.base[1])), np.uint8)

    def patches(self, index: int) -> list[Patch]:
        drift = float(self.time.flow[index])
        if drift == 0.0:
            return []
        clouds = self._slid(drift)
        weight = float(self.loop_weight[index])
        if weight > 0.0:
            arriving = self._slid(drift - self.time.end_s)
            clouds = np.asarray(cv2.addWeighted(clouds, 1.0 - weight, arriving, weight, 0.0), np.uint8)
        # The picture with its clouds taken out where they were and put back where they are now.
        moved = cv2.subtract(clouds, self.clouds, dtype=cv2.CV_16S)
        colour = np.asarray(cv2.addWeighted(self.picture, 1.0, moved, 2.0, 0.0, dtype=cv2.CV_8U), np.uint8)
        return [Patch(self.box, colour, self.alpha, alpha8=self.alpha8)]


def _clear_sky(picture: Floats, inside: npt.NDArray[np.bool_]) -> Floats:
    """`(h, w, 3)` float32: the clear sky behind the clouds. The least white third of each row's sky pixels (plus
    a margin) are clear sky; the rest is painted in from them. A sky with hardly any clear pixels (overcast) gets a
    wide blur of itself instead, so that only its texture drifts."""
    height, width = inside.shape
    small_size = (max(2, width // _PLATE_SCALE), max(2, height // _PLATE_SCALE))
    small = cv2.resize(picture, small_size, interpolation=cv2.INTER_AREA)
    small_inside = cv2.resize(inside.astype(np.float32), small_size, interpolation=cv2.INTER_AREA) > 0.99
    whiteness = small.min(axis=2) / np.maximum(small.max(axis=2), 1.0)
    if int(small_inside.sum()) < 4:
        return np.broadcast_to(picture.reshape(-1, 3).mean(axis=0), picture.shape).astype(np.float32)
    # Row by row: a clear sky pales towards the horizon, so "least white" is judged against its own row.
    limits = np.full(small_size[1], np.inf, np.float32)
    for row in range(small_size[1]):
        seen = whiteness[row][small_inside[row]]
        if seen.size >= 4:
            limits[row] = float(np.percentile(seen, 30)) + 0.03
    known = np.isfinite(limits)
    if not known.any():
        return np.broadcast_to(picture.reshape(-1, 3).mean(axis=0), picture.shape).astype(np.float32)
    rows = np.arange(small_size[1])
    limits = np.interp(rows, rows[known], limits[known]).astype(np.float32)
    limits = cv2.GaussianBlur(limits[:, None], (1, 0), 2.0)[:, 0] if limits.size > 2 else limits
    clear = small_inside & (whiteness <= limits[:, None])
    # Not the pale rim around a cloud either: it would leave a faint ghost where the cloud was.
    clear = cv2.erode(clear.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if float(clear.sum()) < 0.1 * float(small_inside.sum()):
        sigma = 0.08 * min(small_size)
        weight = cv2.GaussianBlur(small_inside.astype(np.float32), (0, 0), sigma)
        total = cv2.GaussianBlur(small * small_inside[..., None], (0, 0), sigma)
        filled = np.asarray(total / np.maximum(weight, 1e-4)[..., None], np.float32)
    else:
        painted = fill_hole(np.asarray(small, np.float32), clear.astype(np.float32))
        filled = np.asarray(cv2.GaussianBlur(painted, (0, 0), 1.5), np.float32)
    return np.asarray(cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)
