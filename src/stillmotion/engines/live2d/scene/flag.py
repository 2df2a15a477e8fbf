"""A flag fluttering on its pole: waves run along the cloth from the pole to the free end.

The flag (`regions.find_flag`) is cut out of the background plate and what lies behind it painted in from around
it (`fill.fill_hole`). Each frame the cloth is displaced across its length by a wave that travels away from the
pole, its swing growing from nothing at the pole to the most at the free end, and its free end drawn in a little
towards the pole as the cloth folds; the moved cloth is laid over what was painted in. Frame 0 is the picture;
in a loop the flutter makes whole periods, so the last frame is the first.
"""

from __future__ import annotations

import math
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.scene.boat import BoatBob, Cutout, between
from stillmotion.engines.live2d.scene.flow import Patch, RGBFrame, SceneTime, grid_of
from stillmotion.engines.live2d.scene.regions import Flag

# At amplitude 0.7: the free end's swing, as a share of the flag's height; the waves on the cloth; their pace.
SWING_SHARE: Final = 0.3
WAVES_ALONG: Final = 1.3  # waves along the flag's length at once
FLUTTER_HZ: Final = 2.2
FOLD_SHARE: Final = 0.06  # how far the free end is drawn in towards the pole, as a share of the length


class FlagFlutter:
    """The flag of `flag` fluttering (see the module docstring)."""

    front = True  # over the sky's and the water's own motion

    def __init__(self, plate: RGBFrame, flag: Flag, time: SceneTime, *, amplitude: float) -> None:
        x0, y0, x1, y1 = flag.region.box
        flag_w, flag_h = x1 - x0, y1 - y0
        self.swing_px = SWING_SHARE * flag_h * amplitude / 0.7
        cut = Cutout.of(plate, flag.region, reach=(1, math.ceil(self.swing_px) + 2), hole_margin_px=1)
        self.box = cut.box
        bx0 = cut.box[0]
        self.time = time
        self.cloth = cut.pixels
        self.cloth_alpha = cut.alpha
        self.behind = cut.behind
        rows, columns = cut.alpha.shape
        xs, ys = grid_of(columns, rows)
        # Distance along the flag from its pole, 0 .. 1 at the free end.
        pole_x = (x0 - bx0) if flag.pole_side == "left" else (x1 - bx0 - 1)
        along = np.abs(xs - pole_x) / max(flag_w - 1, 1)
        self.along = np.clip(along, 0.0, 1.0).astype(np.float32)
        self.toward_pole = 1.0 if flag.pole_side == "left" else -1.0
        self.flag_w = float(flag_w)
        self.xs, self.ys = xs, ys
        self.omega = 2.0 * math.pi * time.frequency(FLUTTER_HZ)
        self.region = flag.region
        self.carrier: BoatBob | None = None

    def ride(self, boat: BoatBob) -> None:
        """Fly from `boat`'s mast: the boat leaves the flag out of what it moves, and the fluttering flag (with
        what was painted in behind it) is moved as the boat is."""
        boat.leave_out(self.region.box, self.region.alpha)
        self.carrier = boat

    def patches(self, index: int) -> list[Patch]:
        strength = float(self.time.strength[index])
        if strength <= 0.0:
            return []
        t = float(self.time.flow[index])
        wave = np.sin(2.0 * math.pi * WAVES_ALONG * self.along - self.omega * t)
        # The point shown at each pixel: the cloth came from up or down the wave, and from further out along it.
        lift = strength * self.swing_px * self.along * wave
        fold = strength * FOLD_SHARE * self.flag_w * self.along * 0.5 * (1.0 - np.cos(self.omega * t))
        map_x = np.asarray(self.xs + self.toward_pole * fold, np.float32)
        map_y = np.asarray(self.ys - lift, np.float32)
        moved = cv2.remap(self.cloth, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        moved_alpha = cv2.remap(self.cloth_alpha, map_x, map_y, cv2.INTER_LINEAR, borderValue=0.0)
        shown = moved_alpha[..., None]
        colour = self.behind.astype(np.float32) * (1.0 - shown) + moved.astype(np.float32) * shown
        cover = np.maximum(moved_alpha, self.cloth_alpha)
        if self.carrier is not None:
            carried = self._carried(index, colour, cover)
            if carried is not None:
                return [carried]
        return [Patch(self.box, np.asarray(np.rint(colour), np.uint8), np.asarray(cover, np.float32))]

    def _carried(self, index: int, colour: npt.NDArray[np.float32], cover: npt.NDArray[np.float32]) -> Patch | None:
        """The fluttering flag moved as its boat is in frame `index`, over the boat's box; None at rest."""
        assert self.carrier is not None
        moving = self.carrier.matrix(index)
        if moving is None:
            return None
        x0, y0, x1, y1 = self.carrier.box
        # From the flag's crop into the boat's box.
        turn = between(moving, self.box[:2], (x0, y0))
        size = (x1 - x0, y1 - y0)
        moved = cv2.warpAffine(colour, turn, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        moved_cover = cv2.warpAffine(cover, turn, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
        return Patch(self.carrier.box, np.asarray(np.rint(moved), np.uint8), np.asarray(moved_cover, np.float32))
