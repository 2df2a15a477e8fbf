"""Sampling a layer for the compositor: where a layer's doubled texture is sampled over which window of the
frame (`window_map`, from the coarse grid's nodes), the padding that lets a layer fade out beyond the
picture's edge in its own colour (`padded`), the grid nodes a layer can move (`support`), and the detail
given back to what is resampled (`sharpened`)."""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.regions import Grid

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
PlanarMap = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]  # sample positions as (H, W) planes, x and y
# Where a layer shows in a frame: its window (x0, y0, x1, y1), the sample map over it, and the share of each
# pixel that is displaced (None while the camera moves: every pixel is).
Placement = tuple[tuple[int, int, int, int], PlanarMap, npt.NDArray[np.float32] | None]

# Resampling at a fraction of a pixel (bilinear in the doubled texture) keeps 64-76% of a picture's fine
# detail (the variance of its Laplacian); an unsharp mask on the textures gives most of it back, so that a
# moving part looks as crisp as it did at rest (decoded clips of the nod and the wind: 0.93-1.07x of frame 0's;
# 0.15 left the nodding face at 0.86x, 0.3 sharpened the wind's hair to 1.16x).
DETAIL_GAIN: Final = 0.25
DETAIL_SIGMA_PX: Final = 0.8

# Layer textures get this many pixels of their own edge colour around them, with alpha 0: a layer that
# reaches the picture's edge fades out beyond it in its own colour, not towards black.
PAD_PX: Final = 3


def window_map(
    coarse: npt.NDArray[np.float32],
    size: tuple[int, int],
    grid: Grid,
    frame_size: tuple[int, int],
    *,
    moved: npt.NDArray[np.float32] | None,
) -> Placement | None:
    """The output window `(x0, y0, x1, y1)` of a frame of `frame_size` (w, h) whose pixels may sample a
    texture of `size` (w, h), from `coarse` sample positions on `grid`'s nodes; the
    sample map over it, in the padded, doubled texture's pixels; and `moved` (per node, 0 or 1) over it
    (None when not asked for). Both upsampled from the coarse nodes around the window only."""
    cell = grid.cell_px
    width, height = frame_size
    tex_w, tex_h = size
    reach = np.float32(2 * cell)
    inside = (
        (coarse[..., 0] > -reach)
        & (coarse[..., 0] < tex_w + reach)
        & (coarse[..., 1] > -reach)
        & (coarse[..., 1] < tex_h + reach)
    )
    rows = np.flatnonzero(inside.any(axis=1))
    columns = np.flatnonzero(inside.any(axis=0))
    if rows.size == 0 or columns.size == 0:
        return None
    # Node j covers output pixels [(j - 1) cell, j cell): the grid has one ring of cells outside.
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    c0, c1 = int(columns[0]), int(columns[-1]) + 1
    y0, y1 = max(0, (r0 - 1) * cell), min(height, (r1 - 1) * cell)
    x0, x1 = max(0, (c0 - 1) * cell), min(width, (c1 - 1) * cell)
    if y1 <= y0 or x1 <= x0:
        return None
    # One more ring of nodes, so that the upsampling inside the window is the whole grid's.
    ra, rb = max(0, r0 - 1), min(coarse.shape[0], r1 + 1)
    ca, cb = max(0, c0 - 1), min(coarse.shape[1], c1 + 1)
    # Linear upsampling commutes with the move into the padded, doubled texture: do that on the nodes.
    patch = (coarse[ra:rb, ca:cb] + np.float32(PAD_PX)) * np.float32(2.0)
    size_px = ((cb - ca) * cell, (rb - ra) * cell)
    top, left = y0 - (ra - 1) * cell, x0 - (ca - 1) * cell
    crop = (slice(top, top + y1 - y0), slice(left, left + x1 - x0))
    # x and y as two planes: remap reads separate maps faster than interleaved pairs.
    window = (
        np.asarray(cv2.resize(patch[..., 0], size_px, interpolation=cv2.INTER_LINEAR), dtype=np.float32)[crop],
        np.asarray(cv2.resize(patch[..., 1], size_px, interpolation=cv2.INTER_LINEAR), dtype=np.float32)[crop],
    )
    if moved is None:
        return (x0, y0, x1, y1), window, None
    share = np.asarray(
        cv2.resize(np.ascontiguousarray(moved[ra:rb, ca:cb]), size_px, interpolation=cv2.INTER_LINEAR),
        dtype=np.float32,
    )[crop]
    return (x0, y0, x1, y1), window, share


def padded(texture: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """`(h, w, 4)` RGBA grown by `PAD_PX` on every side: colour repeated from the edge, alpha 0."""
    grown = cv2.copyMakeBorder(texture, PAD_PX, PAD_PX, PAD_PX, PAD_PX, cv2.BORDER_REPLICATE)
    grown[:PAD_PX, :, 3] = 0
    grown[-PAD_PX:, :, 3] = 0
    grown[:, :PAD_PX, 3] = 0
    grown[:, -PAD_PX:, 3] = 0
    return np.asarray(grown, dtype=np.uint8)


def support(grid: Grid, matte: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """`(h, w)` 1 on the grid nodes within two nodes of a cell that holds any of `matte`, else 0."""
    covered = (grid.resample(matte) > 0.0).astype(np.uint8)
    return np.asarray(cv2.dilate(covered, np.ones((5, 5), np.uint8)), dtype=np.float32)


def sharpened(texture: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """`texture` `(h, w, c)` with the detail bilinear resampling takes given back in advance: an unsharp mask
    of `DETAIL_SIGMA_PX` on its colour channels, its alpha (c = 4) left as it is. The compositor samples the
    result (doubled) instead of sharpening every frame: the mask, the doubling and the resampling are all
    linear, so sampling the sharpened texture is about the same as sharpening what was sampled. Where a
    layer rests, the compositor shows its own colours, not these."""
    colour = np.ascontiguousarray(texture[..., :3])
    blurred = cv2.GaussianBlur(colour, (0, 0), DETAIL_SIGMA_PX)
    out = texture.copy()
    out[..., :3] = cv2.addWeighted(colour, 1.0 + DETAIL_GAIN, blurred, -DETAIL_GAIN, 0.0)
    return out
