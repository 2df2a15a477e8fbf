"""Finding the parts of a still image (face, eyes, mouth, hair, body, background) without downloaded weights.

Contract (the renderer relies on it):
* `find_parts(image)` takes the first frame as rendered, `(H, W, 3)` uint8 RGB, and returns boxes in that
  image's pixel coordinates and masks of exactly `(H, W)` float32 in [0, 1], smooth (soft edges).
* "left" / "right" are the viewer's: `left_eye` is the eye nearer the image's left edge.
* It never raises on a real image: when a detector finds nothing, `face` is None and the masks still
  describe a plausible subject (centre-weighted) so that the renderer falls back to whole-subject and
  camera motion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.float32]  # (H, W) float32 in [0, 1]
RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB


@dataclass(frozen=True)
class Box:
    x: float  # left edge, px
    y: float  # top edge, px
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Face:
    box: Box
    kind: Literal["photo", "drawn"]  # which detector found it
    left_eye: Box | None = None
    right_eye: Box | None = None
    mouth: Box | None = None
    neck: tuple[float, float] | None = None  # (x, y) px: the pivot the head rotates about


@dataclass(frozen=True)
class Parts:
    width: int
    height: int
    face: Face | None
    subject: Mask  # the foreground (person/character/object), 1 inside
    hair: Mask  # hair around the face (0 everywhere when there is no face)
    body: Mask  # subject below the head
    background: Mask  # 1 - subject, kept separately so the renderer need not recompute it
    method: str  # how they were found, e.g. "haar+grabcut", "animeface+grabcut", "fallback"


def find_parts(image: RGBFrame) -> Parts:
    raise NotImplementedError("parts detection is being written")
