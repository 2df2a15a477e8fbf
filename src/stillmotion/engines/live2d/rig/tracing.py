"""What the face's layers (`eyelids.py`, `eye_tracing.py`, `mouth.py`) share: `Region`, the rectangle of the
canvas a layer paints, and the helpers that trace a boundary column by column and smooth it.

Rows and columns are pixel centres: pixel row i covers [i - 0.5, i + 0.5]. A "boundary" is a continuous
row: the pixels above it belong to one part (the lid, the upper lip), those below to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts import Box

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
Columns = npt.NDArray[np.float32]  # (w,) float32, one value per column of a region

_LUMA: Final = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class Region:
    """A rectangle of the canvas: rows y0:y1, columns x0:x1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def around(
        cls, box: Box, *, grow_x: float, grow_y: float, offset: tuple[int, int], size: tuple[int, int]
    ) -> Region:
        """`box` (image coordinates) grown by `grow_*` times its size on each side, in canvas coordinates
        (`offset` = the canvas margins (left, top)), clipped to the canvas `size` (width, height)."""
        left, top = offset
        width, height = size
        x0 = int(np.floor(box.x - grow_x * box.w)) + left
        y0 = int(np.floor(box.y - grow_y * box.h)) + top
        x1 = int(np.ceil(box.x + box.w + grow_x * box.w)) + left
        y1 = int(np.ceil(box.y + box.h + grow_y * box.h)) + top
        return cls(max(x0, 0), max(y0, 0), min(x1, width), min(y1, height))

    @property
    def empty(self) -> bool:
        return self.x1 - self.x0 < 3 or self.y1 - self.y0 < 3

    def view(self, canvas: RGBFrame) -> RGBFrame:
        return canvas[self.y0 : self.y1, self.x0 : self.x1]


def _column_curve(values: Columns, known: npt.NDArray[np.bool_], sigma: float) -> Columns:
    """`values` (w,) with the unknown entries filled from the nearest known ones, then a median over five
    columns (one stray column does not bend the curve) and a Gaussian blur of `sigma` columns."""
    columns = values.size
    if not np.any(known):
        return values.astype(np.float32)
    index = np.arange(columns, dtype=np.float32)
    filled = np.interp(index, index[known], values[known]).astype(np.float32)
    padded = np.pad(filled, 2, mode="edge")
    median = np.median(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1).astype(np.float32)
    if sigma <= 0.0:
        return median
    radius = max(1, int(np.ceil(3.0 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1, dtype=np.float32) / sigma) ** 2)
    kernel /= kernel.sum()
    return np.convolve(np.pad(median, radius, mode="edge"), kernel, mode="valid").astype(np.float32)


def _smoothstep(values: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    clipped = np.clip(values, 0.0, 1.0)
    return np.asarray(clipped * clipped * (3.0 - 2.0 * clipped), dtype=np.float32)


def _first_run(mask: npt.NDArray[np.bool_], value: bool, start: int) -> int:
    """The index at which the run of `value` starting at `start` in `mask` (1-D) ends."""
    stop = start
    while stop < mask.size and bool(mask[stop]) == value:
        stop += 1
    return stop
