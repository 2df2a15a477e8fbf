"""A boat bobbing on the water: lifted and lowered by the swell and rocked from side to side about its keel.

The boat (`regions.find_boat`) is cut out of the background plate and the water behind it painted in from
the water around it (`fill.fill_hole`); each frame the boat is turned about the middle of its hull's bottom and
moved up or down (the rock and the lift a quarter of a period apart, as a hull riding a wave), then laid over
the painted-in water. Frame 0 is the picture. In a loop the bob makes whole periods, so the last frame is the
first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.rig.fill import fill_hole
from stillmotion.engines.live2d.scene.flow import Patch, RGBFrame, SceneTime
from stillmotion.engines.live2d.scene.regions import Region

# At amplitude 0.7: the lift, as a share of the boat's height, and the rock, in degrees either way.
LIFT_SHARE: Final = 0.045
ROCK_DEG: Final = 4.0
BOB_PERIOD_S: Final = 2.2


@dataclass(frozen=True)
class Cutout:
    """A region of the plate cut out over `box` (picture pixels; the region's box grown by the room its motion
    needs): the pixels there, the region's alpha over them, and what lies behind it painted in from around it."""

    box: tuple[int, int, int, int]
    pixels: RGBFrame
    alpha: npt.NDArray[np.float32]
    behind: RGBFrame

    @classmethod
    def of(cls, plate: RGBFrame, region: Region, *, reach: tuple[int, int], hole_margin_px: int = 0) -> Cutout:
        """`reach`: the room (x, y) around the region's box; `hole_margin_px`: how far beyond the region's own
        edge is painted in as well (a thin feathered edge left a fringe of the old colour)."""
        height, width = plate.shape[:2]
        x0, y0, x1, y1 = region.box
        bx0, by0 = max(0, x0 - reach[0]), max(0, y0 - reach[1])
        bx1, by1 = min(width, x1 + reach[0]), min(height, y1 + reach[1])
        crop = plate[by0:by1, bx0:bx1]
        alpha = np.zeros(crop.shape[:2], np.float32)
        alpha[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0] = region.alpha
        kernel = np.ones((2 * hole_margin_px + 1, 2 * hole_margin_px + 1), np.uint8)
        hole = np.asarray(cv2.dilate(alpha, kernel) if hole_margin_px > 0 else alpha, np.float32)
        known = (hole < 0.05).astype(np.float32)
        behind = np.asarray(np.clip(fill_hole(crop.astype(np.float32), known), 0, 255), np.uint8)
        return cls((bx0, by0, bx1, by1), np.ascontiguousarray(crop), alpha, behind)


def between(
    moving: npt.NDArray[np.float64], source: tuple[int, int], target: tuple[int, int]
) -> npt.NDArray[np.float64]:
    """`moving` (a 2x3 affine map of picture pixels) as a map from an array whose first pixel is picture pixel
    `source` into one whose first pixel is `target`."""
    turn = moving.copy()
    turn[:, 2] += turn[:, 0] * source[0] + turn[:, 1] * source[1] - np.array(target, np.float64)
    return turn


class BoatBob:
    """The boat of `region` bobbing (see the module docstring)."""

    # Over the water's own motion (waves, ripples), which would otherwise be laid over its hull.
    front = True

    def __init__(self, plate: RGBFrame, region: Region, time: SceneTime, *, amplitude: float) -> None:
        x0, y0, x1, y1 = region.box
        boat_h, boat_w = y1 - y0, x1 - x0
        strength = amplitude / 0.7
        self.lift_px = LIFT_SHARE * boat_h * strength
        self.rock_deg = ROCK_DEG * strength
        # Room around the boat for its rock and lift; the water behind the boat painted in from around it.
        reach = math.ceil(self.lift_px + math.radians(self.rock_deg) * max(boat_h, boat_w)) + 2
        cut = Cutout.of(plate, region, reach=(reach, reach))
        self.box = cut.box
        self.time = time
        self.boat = cut.pixels
        self.boat_alpha = cut.alpha
        self.rest_alpha = cut.alpha.copy()  # where the boat was, all of it: covered with the water painted in
        self.water = cut.behind
        # The keel: the middle of the boat's lowest rows, where it sits in the water.
        rows, columns = np.nonzero(cut.alpha > 0.5)
        low = rows >= rows.max() - max(2, 0.1 * (rows.max() - rows.min()))
        self.keel = (float(columns[low].mean()), float(rows.max()))
        self.omega = 2.0 * math.pi * time.frequency(1.0 / BOB_PERIOD_S)

    def leave_out(self, box: tuple[int, int, int, int], alpha: npt.NDArray[np.float32]) -> None:
        """Leave the part `alpha` over `box` (picture pixels) out of the boat: a flag that flutters on its own and
        is carried by the boat's motion (`matrix`)."""
        bx0, by0 = self.box[:2]
        x0, y0, x1, y1 = box
        self.boat_alpha = self.boat_alpha.copy()
        self.boat_alpha[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0] *= 1.0 - alpha

    def matrix(self, index: int) -> npt.NDArray[np.float64] | None:
        """The boat's motion in frame `index` as a 2x3 affine map of picture pixels; None at rest."""
        strength = float(self.time.strength[index])
        if strength <= 0.0:
            return None
        t = float(self.time.flow[index])
        angle = strength * self.rock_deg * math.sin(self.omega * t)
        # Rising from where it rests (frame 0) and back, a quarter of a period after the rock.
        lift = -strength * self.lift_px * 0.5 * (1.0 - math.cos(self.omega * t))
        bx0, by0 = self.box[:2]
        turn = cv2.getRotationMatrix2D((self.keel[0] + bx0, self.keel[1] + by0), angle, 1.0)
        turn[1, 2] += lift
        return np.asarray(turn, np.float64)

    def patches(self, index: int) -> list[Patch]:
        moving = self.matrix(index)
        if moving is None:
            return []
        # The same map in the crop's own pixels.
        turn = between(moving, self.box[:2], self.box[:2])
        size = (self.boat.shape[1], self.boat.shape[0])
        moved = cv2.warpAffine(self.boat, turn, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        moved_alpha = cv2.warpAffine(self.boat_alpha, turn, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
        shown = moved_alpha[..., None]
        colour = self.water.astype(np.float32) * (1.0 - shown) + moved.astype(np.float32) * shown
        # Over what lies below (the water, perhaps moving): where the boat is now and where it was.
        cover = np.maximum(moved_alpha, self.rest_alpha)
        return [Patch(self.box, np.asarray(np.rint(colour), np.uint8), np.asarray(cover, np.float32))]
