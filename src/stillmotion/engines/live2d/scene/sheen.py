"""A sheen: a band of light sweeping across the subject, as a product shot's light glides over glass or metal.

The band is slanted (leaning a fifth of a turn off the vertical) and soft across (a Gaussian a tenth of the
subject's diagonal wide); it enters past one side of the subject and leaves past the other, once per sweep, so
frame 0 and the frames between sweeps are the picture. Where it passes, the subject is lightened towards white
(more on its light parts, as a highlight is), within the subject's own outline: the background stays as it was.
"""

from __future__ import annotations

import math
from typing import Final

import cv2
import numpy as np

from stillmotion.engines.live2d.scene.flow import Floats, Patch, RGBFrame, SceneTime

SWEEP_S: Final = 2.4  # one pass across the subject
SLANT: Final = 0.35  # the band's lean: horizontal travel per unit of height
BAND_SHARE: Final = 0.1  # the band's width across, a share of the subject's diagonal
GAIN: Final = 0.5  # how far towards white the band's middle lightens at amplitude 0.7


class Sheen:
    """Light sweeping across the subject within `mask` (see the module docstring)."""

    front = True

    def __init__(self, picture: RGBFrame, mask: Floats, time: SceneTime, *, amplitude: float) -> None:
        rows, columns = np.nonzero(mask > 0.5)
        x0, y0, x1, y1 = int(columns.min()), int(rows.min()), int(columns.max()) + 1, int(rows.max()) + 1
        self.box = (x0, y0, x1, y1)
        self.time = time
        self.crop = picture[y0:y1, x0:x1].astype(np.float32)
        self.inside = np.asarray(mask[y0:y1, x0:x1], np.float32)
        height, width = self.inside.shape
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        # Where each pixel lies along the sweep: its x pushed by its height (the band leans).
        self.along = xs + SLANT * (height - 1 - ys)
        self.start = -3.0 * BAND_SHARE * math.hypot(width, height)
        self.end = float(self.along.max()) - self.start
        self.width = BAND_SHARE * math.hypot(width, height)
        # Light parts catch more of it: a highlight, not a wash.
        luma = cv2.cvtColor(np.ascontiguousarray(picture[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float32)
        self.catch = np.asarray(0.5 + 0.5 * luma / 255.0, np.float32)
        self.gain = GAIN * amplitude / 0.7
        self.period_s = time.period(SWEEP_S)  # whole sweeps in a loop

    def patches(self, index: int) -> list[Patch]:
        strength = float(self.time.strength[index])
        if strength <= 0.0:
            return []
        phase = (float(self.time.flow[index]) % self.period_s) / self.period_s
        centre = self.start + phase * (self.end - self.start)
        band = np.exp(-0.5 * ((self.along - centre) / (0.5 * self.width)) ** 2)
        light = strength * self.gain * band * self.catch
        if float(light.max()) < 1e-3:
            return []
        lit = self.crop + light[..., None] * (255.0 - self.crop)
        colour = np.asarray(np.clip(np.rint(lit), 0, 255), np.uint8)
        return [Patch(self.box, colour, np.asarray(self.inside * np.minimum(1.0, 4.0 * band), np.float32))]
