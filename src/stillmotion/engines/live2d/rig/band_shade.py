"""The shade of the texture `fill_band` (`band_fill.py`) copies into the plate's band: on a smooth
backdrop a copy keeps only its fine grain and takes its shade from a local plane fit of the known colours
around the hole (a gradient goes on as a gradient, and copies from a lighter or darker part of it leave no
seams); on texture it stays as it is. Worked out at `fill_band`'s working resolution, sampled at full
resolution.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.bool_]  # (h, w) bool

_SMOOTH_DETAIL: Final = 100.0  # detail energy (squared levels) up to which a background counts as smooth
_EDGE_BLOCKS: Final = 3.0  # blocks next to the hole are left out of the texture measure
_PLANE_RIDGE: Final = 0.01  # (in reach squared) holds slopes the known points do not pin down
_SHADE_SIGMA: Final = 4.0  # (working pixels) what is finer than this is grain, the rest is shade


def _relighting(
    colour: npt.NDArray[np.float32], share: npt.NDArray[np.float32], whole: Mask, *, reach: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Working-resolution maps for `_relight`: the blurred known colours carried into the hole by a local
    plane fit (the shade the band should have: a gradient goes on as a gradient), the blurred known
    colours (the shade a copy brings), and how smooth the background around every block is (1 on a plain
    or gradient backdrop, towards 0 on texture)."""
    weight = np.where(whole, share, 0.0).astype(np.float32)
    blur = cv2.GaussianBlur(colour * weight[..., None], (0, 0), _SHADE_SIGMA)
    lowpass = blur / np.maximum(cv2.GaussianBlur(weight, (0, 0), _SHADE_SIGMA), 1e-6)[..., None]
    base, stray = _plane_fit(np.asarray(lowpass, np.float32), weight, sigma=reach)
    # The detail energy of the background, measured off the hole's edge (where the subject's outline may
    # linger) and spread over the hole.
    away = (cv2.distanceTransform(whole.astype(np.uint8), cv2.DIST_L2, 5) > _EDGE_BLOCKS).astype(np.float32)
    local = cv2.GaussianBlur(colour * weight[..., None], (0, 0), 1.5)
    local = local / np.maximum(cv2.GaussianBlur(weight, (0, 0), 1.5), 1e-6)[..., None]
    detail = ((colour - local) ** 2).sum(axis=2) * away
    energy = cv2.GaussianBlur(detail, (0, 0), 4.0) / np.maximum(cv2.GaussianBlur(away, (0, 0), 4.0), 1e-6)
    if bool(away.any()):  # each block takes the measure of the nearest block where it was taken
        _, nearest = cv2.distanceTransformWithLabels(
            (away == 0).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
        lookup = np.zeros(int(nearest.max()) + 1, np.float32)
        lookup[nearest[away > 0]] = energy[away > 0]
        energy = cv2.GaussianBlur(lookup[nearest], (0, 0), 4.0)
    strength = (_SMOOTH_DETAIL / (_SMOOTH_DETAIL + np.maximum(energy, 0.0) + stray)).astype(np.float32)
    return np.asarray(base, np.float32), np.asarray(lowpass, np.float32), strength


def _plane_fit(
    colour: npt.NDArray[np.float32], weight: npt.NDArray[np.float32], *, sigma: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """`colour` where `weight` > 0.5, elsewhere the value at that point of the plane (per channel) fitted
    by weighted least squares to the known colours within about `sigma` (Gaussian weights; the slopes are
    held towards 0 where the known points do not pin them down, so the fit falls back to a weighted mean);
    and, everywhere, how far the known colours stray from that plane (mean squared, summed over channels):
    near 0 on a plain or gradient backdrop, large where the background has shapes the size of the reach."""
    rows, columns = weight.shape
    y, x = np.mgrid[:rows, :columns].astype(np.float32)
    y = (y - rows / 2.0) / sigma  # centred and in units of sigma, so that float32 holds the moments
    x = (x - columns / 2.0) / sigma
    w = weight.astype(np.float32)
    everywhere = (colour * w[..., None]).sum(axis=(0, 1)) / max(float(w.sum()), 1e-9)
    c = (colour - everywhere).astype(np.float32)  # centred, for float32's sake
    cw = c * w[..., None]
    squares = (cw * c).sum(axis=2)
    stack = np.dstack(
        [w, w * x, w * y, w * x * x, w * y * y, w * x * y, cw, cw * x[..., None], cw * y[..., None], squares]
    )
    # The moments are smooth at this reach: sum them on a copy a few times smaller, and bring them back.
    step = max(1, int(sigma / 3.0))
    small = (max(1, columns // step), max(1, rows // step))
    parts = []
    for first in range(0, stack.shape[2], 4):  # resize takes at most 4 channels
        part = cv2.resize(np.ascontiguousarray(stack[..., first : first + 4]), small, interpolation=cv2.INTER_AREA)
        part = cv2.GaussianBlur(part, (0, 0), sigma / step)
        parts.append(cv2.resize(part, (columns, rows), interpolation=cv2.INTER_LINEAR).reshape(rows, columns, -1))
    sums = np.concatenate(parts, axis=2)
    total = np.maximum(sums[..., 0], 1e-9)
    mx, my = sums[..., 1] / total, sums[..., 2] / total
    sxx = sums[..., 3] / total - mx * mx + _PLANE_RIDGE
    syy = sums[..., 4] / total - my * my + _PLANE_RIDGE
    sxy = sums[..., 5] / total - mx * my
    mean = sums[..., 6:9] / total[..., None]
    sxc = sums[..., 9:12] / total[..., None] - mx[..., None] * mean
    syc = sums[..., 12:15] / total[..., None] - my[..., None] * mean
    det = np.maximum(sxx * syy - sxy * sxy, 1e-9)[..., None]
    slope_x = (syy[..., None] * sxc - sxy[..., None] * syc) / det
    slope_y = (sxx[..., None] * syc - sxy[..., None] * sxc) / det
    plane = everywhere + mean + slope_x * (x - mx)[..., None] + slope_y * (y - my)[..., None]
    plane = np.where((sums[..., 0] > 1e-6)[..., None], plane, everywhere)  # no known point within reach
    explained = (mean * mean + slope_x * sxc + slope_y * syc).sum(axis=2)
    residual = np.maximum(sums[..., 15] / total - explained, 0.0)
    filled = np.where((weight > 0.5)[..., None], colour, np.clip(plane, 0.0, 255.0))
    return np.asarray(filled, dtype=np.float32), np.asarray(residual, dtype=np.float32)


def _relight(
    base: npt.NDArray[np.float32],
    lowpass: npt.NDArray[np.float32],
    strength: npt.NDArray[np.float32],
    targets: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    sources: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    scale: int,
) -> npt.NDArray[np.float32]:
    """What to add to pixels copied from `sources` to `targets` (full resolution): on a smooth background
    the copy keeps only its fine grain and takes its shade from the smooth fill (so that copies from a
    lighter or darker part of a gradient leave no seams); on texture it stays as it is."""

    count = len(targets[0])
    if count == 0:
        return np.zeros((0, 3), np.float32)
    rows = -(-count // 1024)  # remap wants maps under 32k a side

    def sample(
        values: npt.NDArray[np.float32], at: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]
    ) -> npt.NDArray[np.float32]:
        maps = np.zeros((2, rows * 1024), np.float32)
        maps[0, :count] = (at[1] + 0.5) / scale - 0.5
        maps[1, :count] = (at[0] + 0.5) / scale - 0.5
        picked = cv2.remap(
            values,
            maps[0].reshape(rows, 1024),
            maps[1].reshape(rows, 1024),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return np.asarray(picked, np.float32).reshape(rows * 1024, -1)[:count]

    return sample(strength, targets) * (sample(base, targets) - sample(lowpass, sources))
