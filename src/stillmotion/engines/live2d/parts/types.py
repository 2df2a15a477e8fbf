"""What `find_parts` returns (`Box`, `Face`, `Parts` and the mask and frame types) and what every face
detector hands back (`_Detection`, in a working image's coordinates), with the smallest face the photo and
drawing detectors look for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.float32]  # (H, W) float32 in [0, 1]
RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
_Bool = npt.NDArray[np.bool_]
_F32 = npt.NDArray[np.float32]


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
    method: str  # how they were found, e.g. "haar+eyes+mouth-estimated+segment", "animeface+segment", "fallback"


_MIN_FACE_SHARE: Final = 0.1  # smallest face side, as a share of the short side


@dataclass(frozen=True)
class _Detection:
    """A face in some working image's coordinates, with what the detector learnt about its colours."""

    face: Face
    method: str
    chin_y: float  # px, the lowest row of the face
    skin_rgb: tuple[float, float, float] | None = None  # the face's own skin colour, when known
