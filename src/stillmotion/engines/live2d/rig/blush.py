"""A blush: the cheeks flushing pink under the eyes (`Blush`), painted on the face layer like the eyelids.

Each cheek is a soft ellipse below and a little outside its eye, as wide as the eye; the colour is mixed in
multiplied by a pink (so shading and lines under it stay, as a flush on skin does) and, on a drawn face, a
little flat pink added on top (an illustration's blush is a patch of colour). Its strength follows the track.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box
from stillmotion.engines.live2d.rig.tracing import Region

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB

# The flush a full blush multiplies the skin by, and the flat pink a drawn blush is mixed towards.
FLUSH: Final = np.array([1.0, 0.74, 0.78], np.float32)
DRAWN_PINK: Final = np.array([244.0, 128.0, 150.0], np.float32)
PEAK_ALPHA: Final = 0.7  # how much of the flush the middle of a cheek takes at strength 1
# On a photo, the cheek's middle lies this share of the face's height under the eye's middle, and the flush is
# at least this share of it tall.
PHOTO_CHEEK_DROP: Final = 0.2
PHOTO_CHEEK_H: Final = 0.1
DRAWN_SHARE: Final = 0.45  # on a drawn face, how much of the colour is the flat pink rather than the flush


@dataclass(frozen=True)
class Blush:
    """Both cheeks' blush over one canvas: a region each and its soft alpha (0..1 at strength 1)."""

    cheeks: tuple[tuple[Region, npt.NDArray[np.float32]], ...]
    drawn: bool

    @classmethod
    def build(
        cls, canvas: RGBFrame, eyes: Mapping[str, Box], face: Box, *, offset: tuple[int, int], drawn: bool
    ) -> Blush | None:
        size = (canvas.shape[1], canvas.shape[0])
        cheeks = []
        face_cx = face.x + 0.5 * face.w
        for eye in eyes.values():
            outward = 1.0 if eye.cx > face_cx else -1.0
            cx = eye.cx + outward * 0.12 * eye.w
            cy = eye.y + eye.h + 0.55 * max(eye.h, 0.35 * eye.w)
            half_w, half_h = 0.75 * eye.w, 0.38 * eye.w
            if not drawn:
                # A photo's eye box is a narrow slit: just under it lie the lower lid and the eye bag, and a flush
                # there reads as sore eyes. The cheek's apple is lower, about a fifth of the face under the eye.
                cy = max(cy, eye.cy + PHOTO_CHEEK_DROP * face.h)
                half_h = max(half_h, PHOTO_CHEEK_H * face.h)
            box = Box(cx - half_w, cy - half_h, 2 * half_w, 2 * half_h)
            region = Region.around(box, grow_x=0.0, grow_y=0.0, offset=offset, size=size)
            if region.empty:
                continue
            rows, columns = region.view(canvas).shape[:2]
            yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
            centre_x, centre_y = cx + offset[0] - region.x0, cy + offset[1] - region.y0
            radius = np.sqrt(((xx - centre_x) / half_w) ** 2 + ((yy - centre_y) / half_h) ** 2)
            alpha = np.clip(1.0 - radius, 0.0, 1.0)
            alpha = alpha * alpha * (3.0 - 2.0 * alpha)  # smooth, no edge
            cheeks.append((region, np.asarray(alpha, np.float32)))
        return cls(tuple(cheeks), drawn) if cheeks else None

    @property
    def regions(self) -> list[Region]:
        return [region for region, _ in self.cheeks]

    def paint(self, canvas: RGBFrame, strength: float) -> None:
        """Paint the blush at `strength` (0 none .. 1 a full flush) into `canvas` (the unblushed face under it)."""
        for region, alpha in self.cheeks:
            view = region.view(canvas)
            base = view.astype(np.float32)
            flushed = base * FLUSH
            if self.drawn:
                flushed = (1.0 - DRAWN_SHARE) * flushed + DRAWN_SHARE * DRAWN_PINK
            weight = (PEAK_ALPHA * min(max(strength, 0.0), 1.0) * alpha)[..., None]
            view[:] = np.clip(np.rint(base + weight * (flushed - base)), 0, 255).astype(np.uint8)
