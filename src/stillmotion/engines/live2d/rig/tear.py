"""A tear (`Tear`): a drop that wells up on the lower lid, slides down the cheek and leaves a wet trail,
painted on the face layer like the eyelids.

The drop is a small bright bead with a bluish rim (water catching the light); the trail behind it is a thin,
faint, glossy line. `progress` 0 .. 1 runs the whole way: welling up over the first fifth, then sliding down
about one and a half eye widths (no lower than about the mouth), a little outwards, where it stays (the clip
ends on the tear that ran; a loop's end fades it out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box
from stillmotion.engines.live2d.rig.tracing import Region

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB

HIGHLIGHT: Final = np.array([255.0, 255.0, 255.0], np.float32)
RIM: Final = np.array([110.0, 165.0, 235.0], np.float32)  # an illustration's tear: light blue
PHOTO_RIM: Final = np.array([200.0, 212.0, 228.0], np.float32)  # on a photo: water catching a pale light
WELL_SHARE: Final = 0.2  # of the progress spent welling up on the lid
DROP_EYE_W: Final = 0.26  # the drop's radius, a share of the eye's width
FALL_EYE_W: Final = 2.4  # how far it slides, in eye widths


@dataclass(frozen=True)
class Tear:
    """One tear under one eye: the region it may touch and its path (canvas coordinates of that region)."""

    region: Region
    start: tuple[float, float]
    end: tuple[float, float]
    radius: float
    drawn: bool = True

    @classmethod
    def build(cls, canvas: RGBFrame, eye: Box, face: Box, *, offset: tuple[int, int], drawn: bool) -> Tear | None:
        size = (canvas.shape[1], canvas.shape[0])
        outward = 1.0 if eye.cx > face.x + 0.5 * face.w else -1.0
        radius = max(2.0, DROP_EYE_W * eye.w)
        start = (eye.cx + outward * 0.22 * eye.w, eye.y + eye.h + 0.5 * radius)
        # Down the cheek, no lower than about the mouth: a narrow chin would take it off the face.
        fall = min(FALL_EYE_W * eye.w, 0.7 * (face.y + face.h - start[1]))
        end = (start[0] + outward * 0.15 * eye.w, start[1] + max(fall, 2.0 * radius))
        x0, x1 = min(start[0], end[0]) - 3 * radius, max(start[0], end[0]) + 3 * radius
        box = Box(x0, start[1] - 3 * radius, x1 - x0, end[1] - start[1] + 6 * radius)
        region = Region.around(box, grow_x=0.0, grow_y=0.0, offset=offset, size=size)
        if region.empty:
            return None

        def local(point: tuple[float, float]) -> tuple[float, float]:
            return point[0] + offset[0] - region.x0, point[1] + offset[1] - region.y0

        return cls(region, local(start), local(end), radius, drawn)

    def paint(self, canvas: RGBFrame, progress: float) -> None:
        """Paint the tear `progress` (0 .. 1) of the way into `canvas` (the face without it under it); from 1
        to 2 the tear that ran fades out (a loop's end)."""
        if progress <= 0.0 or progress >= 2.0:
            return
        fade = 2.0 - progress if progress > 1.0 else 1.0
        progress = min(progress, 1.0)
        view = self.region.view(canvas)
        rows, columns = view.shape[:2]
        yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
        welled = min(1.0, progress / WELL_SHARE)
        slide = max(0.0, (progress - WELL_SHARE) / (1.0 - WELL_SHARE))
        slide = slide * slide * (3.0 - 2.0 * slide)  # it lingers, runs, and slows
        (sx, sy), (ex, ey) = self.start, self.end
        cx, cy = sx + slide * (ex - sx), sy + slide * (ey - sy)
        radius = self.radius * (0.5 + 0.5 * welled)
        base = view.astype(np.float32)
        # The wet trail from the lid to the drop: a thin glossy line.
        length = max(cy - sy, 1e-3)
        along = np.clip((yy - sy) / length, 0.0, 1.0)
        line_x = sx + along * (cx - sx)
        on_trail = (yy >= sy) & (yy <= cy)
        trail = np.where(on_trail, np.clip(1.0 - np.abs(xx - line_x) / (0.5 * radius), 0.0, 1.0), 0.0)
        # The drop: a bluish rim around a bright heart, the light on its upper side.
        distance = np.sqrt((xx - cx) ** 2 + ((yy - cy) / 1.25) ** 2) / radius
        # An illustration's drop has a crisp edge, as drawn tears do; a photo's is soft.
        drop = np.clip((1.05 - distance) * 4.0, 0.0, 1.0) if self.drawn else np.clip(1.2 - distance, 0.0, 1.0)
        heart = np.clip(
            1.0 - np.sqrt((xx - cx + 0.25 * radius) ** 2 + (yy - cy + 0.3 * radius) ** 2) / (0.45 * radius), 0.0, 1.0
        )
        rim, strength = (RIM, 0.8) if self.drawn else (PHOTO_RIM, 0.5)
        tinted = base + (fade * strength * np.maximum(drop, 0.55 * trail))[..., None] * (rim - base)
        lit = tinted + (fade * 0.9 * np.maximum(heart, 0.3 * trail))[..., None] * (HIGHLIGHT - tinted)
        view[:] = np.clip(np.rint(lit), 0, 255).astype(np.uint8)
