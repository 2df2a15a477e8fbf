"""The subject's edge at full size (`refine_edge`): the segmentation runs on a small working copy and comes
back as a mask that ramps from 0 to 1 over a dozen pixels, centred a pixel or two off the picture's own
edge. A layer cut with that ramp carries a band of the wall with it when it moves (a translucent fringe
around swinging hair) and leaves the subject's edge softened on the plate.

Inside the ramp, each pixel's colour says how much of it is subject: with F the colour of the sure subject
nearby and B that of the sure background nearby (both local averages), the pixel I is taken as
`a F + (1 - a) B`, and `a` is I's projection onto the line from B to F. A drawing's hard outline comes out
at 0 or 1 with one anti-aliased pixel between; a photo's soft hair stays soft where its colours are mixed.
Where F and B are alike the colour says nothing, and the ramp is kept (`_DISTINCT_LEVELS`). Used on drawings
(`parts.find_parts` decides): a photo's hair mixes its colours over more pixels than this model allows.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.parts.types import RGBFrame

Mask = npt.NDArray[np.float32]  # (H, W) float32 in [0, 1]

# The mask is sure (subject or background) beyond these values; the ramp lies between.
_SURE: Final = 0.97
# F and B are local averages of the sure pixels, over a Gaussian this many times the scale the mask was
# made at (its ramp is about 3 such pixels to each side of its middle).
_REACH: Final = 2.0
# Below this much sure colour nearby (Gaussian weight), a side's local average is not trusted.
_MIN_WEIGHT: Final = 0.02
# Colour distances (RGB levels) between F and B: below the first the colour is no evidence; above the second
# it is full evidence; between, it is weighed with the ramp.
_DISTINCT_LEVELS: Final = (20.0, 50.0)
# Projections within this share of either end are that end: texture on the wall or in the hair (a mortar line,
# a strand) is not a partial cover.
_DEAD_ZONE: Final = 0.12
# Points read from the smoothed means per row of a remap.
_READ_ROW: Final = 1024
# Partial cover lies within this many pixels of where the cover crosses one half.
_EDGE_PX: Final = 2


def refine_edge(image: RGBFrame, mask: Mask, *, scale: float) -> Mask:
    """`mask` `(H, W)` with its ramp re-read from `image`'s colours (see the module). `scale`: full-size pixels
    per pixel of the copy the mask was made at. Pixels outside the ramp keep their values."""
    ramp = (mask > 1.0 - _SURE) & (mask < _SURE)
    if not bool(ramp.any()):
        return mask
    sigma = max(1.0, _REACH * scale)
    reach = int(np.ceil(3.0 * sigma))
    rows = np.flatnonzero(ramp.any(axis=1))
    columns = np.flatnonzero(ramp.any(axis=0))
    height, width = mask.shape
    y0, y1 = max(0, int(rows[0]) - reach), min(height, int(rows[-1]) + 1 + reach)
    x0, x1 = max(0, int(columns[0]) - reach), min(width, int(columns[-1]) + 1 + reach)
    crop_mask = mask[y0:y1, x0:x1]
    crop_ramp = ramp[y0:y1, x0:x1]
    ys, xs = np.nonzero(crop_ramp)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    subject_colour, subject_weight = _local_mean(crop, crop_mask >= _SURE, sigma, ys, xs)
    background_colour, background_weight = _local_mean(crop, crop_mask <= 1.0 - _SURE, sigma, ys, xs)
    colour = crop[ys, xs].astype(np.float32)  # (N, 3): the ramp's pixels
    span = subject_colour - background_colour  # (N, 3) B -> F
    length2 = np.einsum("ij,ij->i", span, span)
    along = np.einsum("ij,ij->i", colour - background_colour, span) / np.maximum(length2, 1.0)
    cover = np.clip((along - _DEAD_ZONE) / (1.0 - 2.0 * _DEAD_ZONE), 0.0, 1.0)
    low, high = _DISTINCT_LEVELS
    trust = np.clip((np.sqrt(length2) - low) / (high - low), 0.0, 1.0)
    # Where only one side is near, the pixel is that side's.
    near_subject, near_background = subject_weight >= _MIN_WEIGHT, background_weight >= _MIN_WEIGHT
    trust[~(near_subject & near_background)] = 0.0
    one_side = near_subject ^ near_background
    cover[one_side] = near_subject[one_side]
    trust[one_side] = 1.0
    # Texture a few pixels off the edge (a dark brick beside the hair, a light strand inside it) is not the
    # edge: away from where the cover crosses one half, it is all one side.
    half = (crop_mask >= 0.5).astype(np.uint8)
    half[ys, xs] = cover >= 0.5
    ring = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _EDGE_PX + 1, 2 * _EDGE_PX + 1))
    cover[cv2.erode(half, ring)[ys, xs] > 0] = 1.0
    cover[cv2.dilate(half, ring)[ys, xs] == 0] = 0.0
    refined = mask.copy()
    refined[ys + y0, xs + x0] = trust * cover + (1.0 - trust) * crop_mask[ys, xs]
    return refined


def _local_mean(
    crop: RGBFrame,
    sure: npt.NDArray[np.bool_],
    sigma: float,
    ys: npt.NDArray[np.intp],
    xs: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """At the pixels `(ys, xs)` of `crop` `(h, w, 3)`: the Gaussian-weighted mean colour `(N, 3)` of the `sure`
    pixels around each, and the weight `(N,)` it rests on (0 where no sure pixel is near). Both are smooth over
    `sigma`: computed at half size where sigma allows (2 px and more) and brought back."""
    height, width = sure.shape
    flag = sure.astype(np.uint8)
    weighted = cv2.merge([*cv2.split(cv2.bitwise_and(crop, crop, mask=flag)), flag * np.uint8(255)])  # (h, w, 4)
    step = 2 if sigma >= 2.0 and min(height, width) >= 8 else 1
    if step > 1:
        weighted = cv2.resize(weighted, ((width + 1) // 2, (height + 1) // 2), interpolation=cv2.INTER_AREA)
    smooth = cv2.GaussianBlur(weighted.astype(np.float32), (0, 0), sigma / step)
    # Read at the pixels' centres, bilinearly, on the smaller grid.
    scale = np.float32(1.0 / step)
    count = ys.shape[0]
    rows = -(-count // _READ_ROW)  # remap takes maps under 32767 rows: the N points as rows of _READ_ROW
    map_x = np.zeros(rows * _READ_ROW, dtype=np.float32)
    map_y = np.zeros(rows * _READ_ROW, dtype=np.float32)
    map_x[:count] = (xs.astype(np.float32) + 0.5) * scale - 0.5
    map_y[:count] = (ys.astype(np.float32) + 0.5) * scale - 0.5
    read = cv2.remap(
        smooth,
        map_x.reshape(rows, _READ_ROW),
        map_y.reshape(rows, _READ_ROW),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    at = np.asarray(read, dtype=np.float32).reshape(-1, 4)[:count]  # (N, 4)
    weight = at[:, 3] / np.float32(255.0)
    mean = at[:, :3] / np.maximum(weight[:, None], np.float32(1e-6))
    return np.asarray(mean, dtype=np.float32), np.asarray(weight, dtype=np.float32)
