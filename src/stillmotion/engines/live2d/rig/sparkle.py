"""Sparkling eyes (`Sparkle`): star-shaped glints that twinkle in each eye, painted on the face layer like the
eyelids (a drawing's convention for eyes that light up).

Each eye holds a large four-pointed star on the pupil and a smaller one low on the iris: a bright core with
thin rays along the axes, lightened into the picture (never darker), each repainted in its own small region.
Their brightness follows the track (it rises, twinkles, and settles); the two stars twinkle out of step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box
from stillmotion.engines.live2d.rig.tracing import Region

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB

STAR_EYE_W: Final = 0.42  # the large star's ray length, a share of the eye's width
TWINKLE_HZ: Final = 1.6
GLINT: Final = np.array([255.0, 255.0, 250.0], np.float32)
# The stars: (x, y) as shares of the eye box (on the dark of the pupil, where a drawing's own highlights are
# not), size as a share of the large one's, phase of the twinkle.
_STARS: Final = ((0.52, 0.55, 1.0, 0.0), (0.3, 0.72, 0.55, math.pi))


@dataclass(frozen=True)
class Sparkle:
    """One glint of one eye: the small region it touches (its star and a pixel around it, so that repainting it
    leaves the rest of the eye as it was) and the star in that region's coordinates."""

    region: Region
    x: float
    y: float
    ray: float  # px
    phase: float

    @classmethod
    def build(cls, canvas: RGBFrame, eye: Box, *, offset: tuple[int, int]) -> list[Sparkle]:
        """The glints of `eye` (none where the canvas does not hold it)."""
        size = (canvas.shape[1], canvas.shape[0])
        glints = []
        for sx, sy, share, phase in _STARS:
            ray = max(3.0, share * STAR_EYE_W * eye.w)
            cx, cy = eye.x + sx * eye.w, eye.y + sy * eye.h
            box = Box(cx - ray - 1.0, cy - ray - 1.0, 2.0 * ray + 2.0, 2.0 * ray + 2.0)
            region = Region.around(box, grow_x=0.0, grow_y=0.0, offset=offset, size=size)
            if not region.empty:
                glints.append(cls(region, cx + offset[0] - region.x0, cy + offset[1] - region.y0, ray, phase))
        return glints

    def paint(self, canvas: RGBFrame, brightness: float, time_s: float) -> None:
        """Paint the glint at `brightness` (0 .. 1) into `canvas`, twinkling at `time_s`."""
        if brightness <= 0.0:
            return
        view = self.region.view(canvas)
        rows, columns = view.shape[:2]
        yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
        twinkle = 0.8 + 0.2 * math.sin(2.0 * math.pi * TWINKLE_HZ * time_s + self.phase)
        dx, dy = np.abs(xx - self.x) / self.ray, np.abs(yy - self.y) / self.ray
        # Four thin rays along the axes (narrowing to their tips) and a round core.
        rays = np.maximum(
            np.clip(1.0 - dx, 0.0, 1.0) * np.clip(1.5 - dy * 5.0 / np.maximum(1.0 - dx, 0.15), 0.0, 1.0),
            np.clip(1.0 - dy, 0.0, 1.0) * np.clip(1.5 - dx * 5.0 / np.maximum(1.0 - dy, 0.15), 0.0, 1.0),
        )
        core = np.clip(1.6 - np.sqrt(dx * dx + dy * dy) / 0.25, 0.0, 1.0)
        light = twinkle * np.minimum(np.maximum(rays, core), 1.0)
        base = view.astype(np.float32)
        lit = base + (brightness * light)[..., None] * (GLINT - base)
        view[:] = np.clip(np.rint(np.maximum(lit, base)), 0, 255).astype(np.uint8)
