"""Painting in what a layer hides: the background behind the subject, the hair behind the face.

`fill_hole`, push-pull: the known colours are averaged down a pyramid (each level weighted by how much of it
is known), then blended back up, every level trusting its own known pixels and taking the coarser estimate
where it has none. Smooth, seamless at the hole's edge, and fast (a few ms for a frame), which matters
because every clip paints its plate and up to five layers.

`_smooth`, the same worked out on a copy a few times smaller and brought back up: what the plate's fill
(`band_fill.py: fill_band`, the background's own texture along the subject's outline) leaves deeper than
its band.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Pixels = npt.NDArray[np.float32]  # (h, w, 3) float32
RGBFrame = npt.NDArray[np.uint8]  # (h, w, 3) uint8 RGB
Mask = npt.NDArray[np.bool_]  # (h, w) bool


def fill_hole(image: Pixels, known: npt.NDArray[np.float32]) -> Pixels:
    """`image` `(h, w, 3)` with the pixels where `known` `(h, w)` is 0 filled smoothly from the known ones
    around them; known pixels (`known` > 0.5) keep their values."""
    levels: list[tuple[Pixels, npt.NDArray[np.float32]]] = []
    colour_sum = image * known[..., None]
    weight = known.astype(np.float32)
    while min(weight.shape) > 2:
        levels.append((colour_sum, weight))
        half = (max(1, weight.shape[1] // 2), max(1, weight.shape[0] // 2))
        colour_sum = np.asarray(cv2.resize(colour_sum, half, interpolation=cv2.INTER_AREA), dtype=np.float32)
        weight = np.asarray(cv2.resize(weight, half, interpolation=cv2.INTER_AREA), dtype=np.float32)
    mean = (image * known[..., None]).sum(axis=(0, 1)) / max(float(known.sum()), 1e-6)
    estimate = np.where(weight[..., None] > 1e-6, colour_sum / np.maximum(weight, 1e-6)[..., None], mean)
    for level_sum, level_weight in reversed(levels):
        coarse = cv2.resize(estimate, (level_weight.shape[1], level_weight.shape[0]), interpolation=cv2.INTER_LINEAR)
        local = level_sum / np.maximum(level_weight, 1e-6)[..., None]
        trust = np.clip(level_weight, 0.0, 1.0)[..., None]
        estimate = trust * local + (1.0 - trust) * coarse
    return np.asarray(np.where(known[..., None] > 0.5, image, estimate), dtype=np.float32)


def _downsample(values: npt.NDArray[np.float32], scale: int) -> npt.NDArray[np.float32]:
    """Block means over `scale` x `scale` blocks (`values` padded with zeros to a multiple of `scale`)."""
    height, width = values.shape[:2]
    rows, columns = -(-height // scale), -(-width // scale)
    padded = np.zeros((rows * scale, columns * scale, *values.shape[2:]), np.float32)
    padded[:height, :width] = values
    if scale == 1:
        return padded
    return np.asarray(cv2.resize(padded, (columns, rows), interpolation=cv2.INTER_AREA), dtype=np.float32)


def _smooth(image: RGBFrame, known: Mask, scale: int) -> RGBFrame:
    """Push-pull fill of `image` from its `known` pixels, worked out at 1/`scale` and brought back up."""
    height, width = known.shape
    weight = _downsample(known.astype(np.float32), scale)
    colour = _downsample(image.astype(np.float32) * known[..., None], scale) / np.maximum(weight, 1e-6)[..., None]
    filled = fill_hole(np.asarray(colour, np.float32), weight)
    if scale > 1:
        size = (weight.shape[1] * scale, weight.shape[0] * scale)
        filled = np.asarray(cv2.resize(filled, size, interpolation=cv2.INTER_LINEAR), np.float32)
    return np.asarray(np.clip(np.rint(filled[:height, :width]), 0, 255), dtype=np.uint8)
