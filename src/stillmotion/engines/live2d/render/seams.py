"""Where a quilted patch of the extended canvas (`canvas.py`) meets what is already there: its brightness
shifted to match what it overlaps (`_colour_shift`), the cut along which it is laid in (`_cut_weight`),
and the membrane that brings a whole band to the picture's colour where it meets the picture's edge
(`_meet_edge`).
"""

from __future__ import annotations

import functools
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

FloatFrame = npt.NDArray[np.float32]  # (H, W, 3) or (H, W, 1) float32

# The most a patch's brightness is shifted to match what it overlaps.
_MAX_SHIFT: Final = 24.0
# The membrane at the edge (`_meet_edge`) spreads over colours within about this of the edge pixel's,
# smooths its correction along the edge over a patch over `_MEMBRANE_ALONG`, and corrects what step is
# left at the edge by at most `_MEMBRANE_STEP_MOST`.
_MEMBRANE_COLOUR_PX: Final = 25.0
_MEMBRANE_ALONG: Final = 12.0
_MEMBRANE_STEP_MOST: Final = 16.0
# Summing the colour channels, by matrix product.
_ONES: Final = np.ones(3, dtype=np.float32)


def _meet_edge(band: FloatFrame, edge: FloatFrame, ghost: FloatFrame, *, reach: int) -> FloatFrame:
    """`band` `(h, b, 3)` corrected in colour to meet the picture's edge strip `edge` `(h, O, 3)`, in full
    at the edge and fading out over `reach` px: a membrane, as in seamless cloning. Where no source patch
    matches the edge (a face or a hand cut by it), this turns the step in colour at the edge into a short
    transition; the band's texture, its gradients, is kept, so it does not blur.

    The correction is the difference between the strip and what the first column's patches held there,
    `ghost` `(h, O, 3)`, where patch and picture are meant to agree (so a line along the edge in one and
    not the other does not darken the band), smoothed along the edge (so one pixel's noise does not
    streak outward); then what little step is left, between the strip's last pixels and the band's first,
    smoothed further and bounded. It spreads only over what looks like the band's pixel at the edge, the
    thing that continues the picture there, not over a line or another thing beyond it."""
    if band.shape[1] == 0:
        return band
    along = max(1.0, reach / _MEMBRANE_ALONG)
    mismatch = (edge - ghost)[:, -max(2, edge.shape[1] // 3) :]  # the columns next to the band
    difference = cv2.GaussianBlur(mismatch.mean(axis=1, keepdims=True), (1, 0), along)  # (h, 1, 3)
    near = min(band.shape[1], reach)  # beyond, the fade is 0
    distance = np.arange(near, dtype=np.float32) / max(1, reach)
    fade = np.square(1.0 - distance)[None, :]  # (1, n)
    # Only what looks like the band's first pixel in its row, so that the part of it that continues the
    # edge takes the correction, not a line or another thing beyond.
    unlike = np.square(band[:, :near] - band[:, :1]).sum(axis=2) / (6.0 * _MEMBRANE_COLOUR_PX**2)  # (h, n)
    weight = fade * np.exp(-unlike)
    met = band.copy()
    met[:, :near] += weight[..., None] * difference.reshape(-1, 1, 3)
    pixels = min(2, near)
    step = edge[:, -pixels:].mean(axis=1) - met[:, :pixels].mean(axis=1)  # (h, 3)
    step = cv2.GaussianBlur(step[:, None], (1, 0), 3.0 * along).reshape(-1, 1, 3)
    met[:, :near] += weight[..., None] * np.clip(step, -_MEMBRANE_STEP_MOST, _MEMBRANE_STEP_MOST)
    return met


def _colour_shift(piece: FloatFrame, left_part: FloatFrame, top_part: FloatFrame) -> FloatFrame:
    """`(P, P, 1)`: the mean brightness difference between what the overlaps hold and `piece` there,
    bounded, in full over the overlaps and fading to none across the patch. The best patch rarely matches
    the light at the edge exactly, and a step in brightness shows as a seam. Brightness only, the same
    on every channel: a shift per channel would tint greys; fading keeps shifts from adding up from patch
    to patch."""
    size, overlap = left_part.shape[:2]
    above = top_part.shape[0]
    difference = float((left_part - piece[:, :overlap]).sum())
    count = size * overlap * 3
    if above > 0:
        difference += float((top_part[:, overlap:] - piece[:above, overlap:]).sum())
        count += above * (size - overlap) * 3
    shift = min(max(difference / count, -_MAX_SHIFT), _MAX_SHIFT)
    return np.asarray(_fade(size, overlap, above) * shift, dtype=np.float32)


@functools.cache
def _fade(size: int, overlap: int, above: int) -> FloatFrame:
    """`(P, P, 1)`: 1 over the overlaps, falling to 0 across the rest of the patch."""
    reach = np.arange(size, dtype=np.float32)
    beyond = np.broadcast_to(np.maximum(reach - (overlap - 1), 0.0)[None, :], (size, size))  # px past the left
    if above > 0:
        beyond = np.minimum(beyond, np.maximum(reach - (above - 1), 0.0)[:, None])  # or past the top overlap
    fade = np.clip(1.0 - beyond / max(1, size - overlap), 0.0, 1.0)
    return np.asarray(fade[..., None], dtype=np.float32)


def _cut_weight(piece: FloatFrame, left_part: FloatFrame, top_part: FloatFrame, *, first: bool) -> FloatFrame:
    """`(P, P, 1)`: how much of `piece` to lay over what is already there. 0 left of a cut through the left
    overlap (all of it for the `first` column, which lies on the picture) and above a cut through the top
    overlap, 1 elsewhere, half on the cut. Each cut follows, row by row, the least difference between
    `piece` and what is there, smoothed along the cut so that it does not jump."""
    size = piece.shape[0]
    overlap = left_part.shape[1]
    above = top_part.shape[0]
    weight = np.ones((size, size), dtype=np.float32)
    smooth = 2 * max(1, size // 8) + 1
    if first:
        weight[:, :overlap] = 0.0
    else:
        error = np.square(piece[:, :overlap] - left_part) @ _ONES  # (P, O), summed over the channels
        error = cv2.blur(error, (1, smooth), borderType=cv2.BORDER_REPLICATE)
        cut = np.argmin(error, axis=1).astype(np.float32)  # (P,) column
        columns = np.arange(overlap, dtype=np.float32)
        weight[:, :overlap] *= np.minimum(np.maximum((columns[None, :] - cut[:, None]) * 0.5 + 0.5, 0.0), 1.0)
    if above > 0:
        error = np.square(piece[:above] - top_part) @ _ONES  # (A, P)
        error = cv2.blur(error, (smooth, 1), borderType=cv2.BORDER_REPLICATE)
        cut = np.argmin(error, axis=0).astype(np.float32)  # (P,) row
        rows_ = np.arange(above, dtype=np.float32)
        weight[:above] *= np.minimum(np.maximum((rows_[:, None] - cut[None, :]) * 0.5 + 0.5, 0.0), 1.0)
    return weight[..., None]
