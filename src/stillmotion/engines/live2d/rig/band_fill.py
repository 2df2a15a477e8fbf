"""The plate's fill (`fill_band`): what the subject uncovers when it moves, painted with the background's
own texture.

What the subject uncovers is a strip along its outline, and a smooth fill there reads as a smear on a
textured background (and optical flow sees it as motion). So the band of the hole within `band_px` of the
known pixels is filled with the background's own texture, copied whole: the band is cut into tiles about a
band wide, and every tile copies its pixels from one offset, the offset under which the picture shifted
agrees best with the known pixels next to the tile (squared difference, weighed up on detail so that mortar
lines and edges line up, and on the blurred brightness so that a copy keeps its place's shade). The
candidates are the background's own repeats near the hole (the lowest points of its self-difference over
every shift, one FFT) and a seeded fan of shifts out of the hole. Tiles are decided from the hole's edge
inwards (onion peel), each also weighing the seam against the tiles decided next to it; on a brick wall that
keeps the courses running and puts the joints where joints go. The choice runs on a copy of about 90k
pixels; each chosen offset is then refined at full resolution and the pixels copied at full resolution, so
the detail is the picture's own. Tiles cross-fade over a few pixels at their borders; on a smooth backdrop
the copies keep only their grain and take their shade from a local plane fit of the known colours (no seams
on a gradient; `band_shade.py`), on texture they stay as they are. Seeded and deterministic. What lies
deeper than the band is never uncovered: it gets the smooth fill (`fill.py`, push-pull), at the working
resolution (a few times cheaper than at full size). About 0.25 s on one core at 720x1072 with a 35 %
subject and a 32 px band.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.rig.band_shade import _relight, _relighting
from stillmotion.engines.live2d.rig.fill import _downsample, _smooth

RGBFrame = npt.NDArray[np.uint8]  # (h, w, 3) uint8 RGB
Mask = npt.NDArray[np.bool_]  # (h, w) bool

_WORK_PIXELS: Final = 90_000  # the offsets are chosen on a copy of about this many pixels
_PATCH_PX: Final = 12  # known pixels this near the band (full resolution) refine the offsets
_REACH: Final = 3.5  # candidate offsets reach this many band widths (and at least _MIN_REACH_PX)
_MIN_REACH_PX: Final = 24
_MAX_TILE_PX: Final = 48  # the tiles that copy from one place are the band's width, at most this
_MAX_TILES: Final = 1500  # ... and no more than about this many over the band's bounding box
_REPEATS: Final = 64  # candidates from the background's self-similarity
_SPACING: Final = 2.0  # ... at least this far apart (in working pixels)
_DETAIL_GAIN: Final = 1.5  # matching weighs the detail (colour less its blur) this much more
_SHADE_GAIN: Final = 3.0  # ... and the blurred brightness this much
_FAN_DIRECTIONS: Final = 16  # candidates from a fan of shifts: this many directions
_FAN_LENGTHS: Final = (1.25, 2.0, 3.0)  # ... at these multiples of the band width
_LENGTH_PENALTY: Final = 0.15  # cost x (1 + this * |offset| / reach): nearer texture is likelier alike
_JITTER: Final = 0.03  # seeded per-candidate cost jitter, so that ties go a seeded way
_REFINE_SAMPLES: Final = 400  # known pixels per offset that refine it at full resolution
_SEAM_WEIGHT: Final = 1.0  # a tile's seam against its neighbours, against its own cost
_SHORTLIST: Final = 16  # offsets per tile whose seams are weighed
_NEAR: Final = 0.3  # known blocks' weight falls by e every this many tiles from the band
_FEATHER: Final = 0.1  # tiles cross-fade over this share of their side on each side of a border
_MAX_MISS: Final = 0.05  # share of a tile's blocks an offset may copy from the hole (they take the runner-up)


def fill_band(image: RGBFrame, known: Mask, *, band_px: int, seed: int = 0) -> RGBFrame:
    """`image` `(h, w, 3)` uint8 with the pixels where `known` `(h, w)` is False painted in: those within
    `band_px` of a known pixel with the background's own texture continued into the hole (see the module
    docstring), deeper ones smoothly (push-pull). Known pixels are returned unchanged; the same arguments
    give the same picture, and `seed` picks among equally good offsets."""
    if image.ndim != 3 or image.shape[2] != 3 or known.shape != image.shape[:2]:
        raise ValueError(f"expected (h, w, 3) and (h, w), got {image.shape} and {known.shape}")
    picture = np.ascontiguousarray(image, dtype=np.uint8)
    known = np.asarray(known, dtype=bool)
    if bool(known.all()):
        return picture.copy()
    if not bool(known.any()):
        mean = picture.reshape(-1, 3).mean(axis=0)
        return np.broadcast_to(np.rint(mean).astype(np.uint8), picture.shape).copy()
    height, width = known.shape
    scale = _work_scale(height, width)
    out = picture.copy()
    done = known.copy()
    if band_px > 0:
        depth = cv2.distanceTransform((~known).astype(np.uint8), cv2.DIST_L2, 5)
        band = ~known & (depth <= band_px)
        done |= _copy_texture(picture, known, band, out, band_px=band_px, scale=scale, seed=seed)
    rest = ~done
    if bool(rest.any()):
        out[rest] = _smooth(out, done, scale)[rest]
    return out


def _work_scale(height: int, width: int) -> int:
    return max(1, int(np.ceil(np.sqrt(height * width / _WORK_PIXELS))))


def _copy_texture(
    picture: RGBFrame, known: Mask, band: Mask, out: RGBFrame, *, band_px: int, scale: int, seed: int
) -> Mask:
    """Writes texture copied from `known` pixels into the `band` pixels of `out`; returns where it did."""
    rng = np.random.default_rng(seed)
    height, width = known.shape
    share = _downsample(known.astype(np.float32), scale)  # the known share of every block
    colour_sum = _downsample(picture.astype(np.float32) * known[..., None], scale)
    plain = np.asarray(colour_sum / np.maximum(share, 1e-6)[..., None], dtype=np.float32)
    features = _features(plain)
    whole = share >= 1.0 - 1e-4
    source_ok = cv2.erode(whole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    band_w = _downsample(band.astype(np.float32), scale) > 0.0
    reach = max(2, min(int(np.ceil(max(_REACH * band_px, _MIN_REACH_PX) / scale)), max(share.shape)))
    tile = max(3, round(min(band_px, _MAX_TILE_PX) / scale))
    ys, xs = np.nonzero(band_w)
    span = (int(ys.max()) - int(ys.min()) + 1) * (int(xs.max()) - int(xs.min()) + 1)
    tile = max(tile, int(np.ceil(np.sqrt(span / _MAX_TILES))))  # a speckled hole: fewer, larger tiles
    candidates, factor = _candidates(features, whole, reach, band_px / scale, rng)

    # The band's tiles (a seeded grid of `tile` blocks) and how well each offset suits each: the mean
    # squared difference between the picture and the picture shifted by it over the known blocks of the
    # tile and the tiles around it (half weight), and the share of its band blocks it would copy from the
    # hole or from too near it.
    pad = reach + 2 * tile
    features_p = np.asarray(np.pad(features, ((pad, pad), (pad, pad), (0, 0))), dtype=np.float32)
    share_p = np.pad(share, pad)
    blocked_p = np.pad(~source_ok, pad, constant_values=True).astype(np.float32)
    band_p = np.pad(band_w, pad).astype(np.float32)
    oy, ox = (int(v) for v in rng.integers(0, tile, size=2))
    y0 = pad + (int(ys.min()) - tile - oy) // tile * tile + oy
    x0 = pad + (int(xs.min()) - tile - ox) // tile * tile + ox
    y1 = y0 + -(-(pad + int(ys.max()) + 1 + tile - y0) // tile) * tile
    x1 = x0 + -(-(pad + int(xs.max()) + 1 + tile - x0) // tile) * tile
    grid = ((x1 - x0) // tile, (y1 - y0) // tile)
    here = np.ascontiguousarray(features_p[y0:y1, x0:x1])
    # Known blocks weigh the more the nearer they are to the band: the copy has to meet them there.
    near = np.exp(-cv2.distanceTransform((~band_w).astype(np.uint8), cv2.DIST_L2, 5) / max(1.0, _NEAR * tile))
    here_share = np.ascontiguousarray((share_p * np.pad(near, pad))[y0:y1, x0:x1], dtype=np.float32)
    here_band = np.ascontiguousarray(band_p[y0:y1, x0:x1])
    band_share = np.asarray(cv2.resize(here_band, grid, interpolation=cv2.INTER_AREA))
    tile_y, tile_x = np.nonzero(band_share > 0.0)
    tile_index = np.full((grid[1], grid[0]), -1, dtype=np.int64)
    tile_index[tile_y, tile_x] = np.arange(len(tile_y))
    ones = np.ones(here.shape[2], np.float32)
    taps = np.array([0.5, 1.0, 0.5], np.float32)
    costs = np.empty((len(candidates), len(tile_y)), np.float32)
    misses = np.empty((len(candidates), len(tile_y)), np.float32)
    for label, (dy, dx) in enumerate(candidates):
        there = (slice(y0 + int(dy), y1 + int(dy)), slice(x0 + int(dx), x1 + int(dx)))
        diff = cv2.subtract(here, features_p[there])
        error = (cv2.multiply(diff, diff).reshape(-1, len(ones)) @ ones).reshape(here_share.shape)
        weight = cv2.multiply(here_share, share_p[there])
        miss = cv2.multiply(here_band, blocked_p[there])
        means = cv2.resize(cv2.merge([weight, cv2.multiply(weight, error), miss]), grid, interpolation=cv2.INTER_AREA)
        around = cv2.sepFilter2D(means[..., :2], -1, taps, taps, borderType=cv2.BORDER_CONSTANT)
        seen = around[tile_y, tile_x]
        costs[label] = np.where(seen[:, 0] > 1e-3, seen[:, 1] / np.maximum(seen[:, 0], 1e-6), np.nan) * factor[label]
        misses[label] = means[tile_y, tile_x, 2] / band_share[tile_y, tile_x]

    depth = np.asarray(cv2.distanceTransform((~whole).astype(np.uint8), cv2.DIST_L2, 5)[ys, xs], dtype=np.float32)
    block_tile = tile_index[(ys + pad - y0) // tile, (xs + pad - x0) // tile]
    chosen, runner = _quilt(costs, misses, block_tile, (ys + pad, xs + pad), depth, features_p, candidates)
    best_label, second_label = chosen[block_tile], runner[block_tile]

    refined = _refine(picture, known, candidates, band_w, whole, best_label, (ys, xs), scale=scale, rng=rng)
    base, lowpass, strength = _relighting(plain, share, whole, reach=max(4.0, min(band_px / scale, max(share.shape))))

    # Copy at full resolution: every band pixel from its tile's offset (the runner-up where that misses),
    # cross-faded with the tile across the nearest tile border over the last `feather` pixels before it.
    slot = np.full(share.shape, -1, dtype=np.int64)
    slot[ys, xs] = np.arange(len(ys))
    fy, fx = np.nonzero(band)
    where = slot[fy // scale, fx // scale]
    source_known = cv2.erode(known.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0

    def fetch(labels: npt.NDArray[np.int64], at: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float32], Mask]:
        """The colours the pixels `at` (indices into fy, fx) get from offsets `labels`, and which exist."""
        colours = np.zeros((len(at), 3), np.float32)
        sy, sx = fy[at] + refined[labels, 0], fx[at] + refined[labels, 1]
        good = (labels >= 0) & (sy >= 0) & (sy < height) & (sx >= 0) & (sx < width)
        good[good] = source_known[sy[good], sx[good]]
        targets, sources = (fy[at][good], fx[at][good]), (sy[good], sx[good])
        colours[good] = picture[sources] + _relight(base, lowpass, strength, targets, sources, scale)
        return colours, good

    everyone = np.arange(len(fy))
    colours, copied = fetch(best_label[where], everyone)
    again = np.flatnonzero(~copied)
    colours[again], copied[again] = fetch(second_label[where[again]], again)

    side = tile * scale
    grid_y, grid_x = fy - (y0 - pad) * scale, fx - (x0 - pad) * scale
    u, v = grid_y % side, grid_x % side
    gaps = np.stack([u + 0.5, side - u - 0.5, v + 0.5, side - v - 0.5], axis=1)
    nearest = np.argmin(gaps, axis=1)
    gap = gaps[everyone, nearest]
    ny = grid_y // side + np.array([-1, 1, 0, 0])[nearest]
    nx = grid_x // side + np.array([0, 0, -1, 1])[nearest]
    inside = (ny >= 0) & (ny < grid[1]) & (nx >= 0) & (nx < grid[0])
    across = np.full(len(fy), -1, dtype=np.int64)
    across[inside] = tile_index[ny[inside], nx[inside]]
    other = np.where(across >= 0, chosen[np.maximum(across, 0)], -1)
    feather = max(1.0, _FEATHER * side)
    fade = np.flatnonzero(copied & (gap < feather) & (other >= 0) & (other != best_label[where]))
    theirs, good = fetch(other[fade], fade)
    fade, theirs = fade[good], theirs[good]
    mine = (0.5 + 0.5 * gap[fade] / feather)[:, None]
    colours[fade] = mine * colours[fade] + (1.0 - mine) * theirs

    out[fy[copied], fx[copied]] = np.clip(np.rint(colours[copied]), 0, 255).astype(np.uint8)
    done = np.zeros_like(known)
    done[fy[copied], fx[copied]] = True
    return done


def _candidates(
    features: npt.NDArray[np.float32], whole: Mask, reach: int, band: float, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Offsets (dy, dx) in blocks to copy from, and a factor for each one's cost: the background's own
    repeats near the hole and a seeded fan of shifts out of it; longer ones cost a little more, and a
    seeded jitter breaks ties."""
    gap = cv2.distanceTransform(whole.astype(np.uint8), cv2.DIST_L2, 5)  # blocks from the hole
    context = (whole & (gap <= 1.5 * reach)).astype(np.float32)
    offsets = _repeats(features, context, reach, min_length=max(2.0, 0.4 * band), count=_REPEATS)
    phase = rng.uniform(0.0, 2.0 * np.pi / _FAN_DIRECTIONS)
    for length in _FAN_LENGTHS:
        span = min(float(reach), length * band)
        for k in range(_FAN_DIRECTIONS):
            angle = phase + 2.0 * np.pi * k / _FAN_DIRECTIONS
            offsets.append((round(span * np.sin(angle)), round(span * np.cos(angle))))
    candidates = np.array(sorted(set(offsets) - {(0, 0)}), dtype=np.int64).reshape(-1, 2)
    lengths = np.hypot(candidates[:, 0], candidates[:, 1])
    factor = (1.0 + _LENGTH_PENALTY * lengths / reach) * (1.0 + _JITTER * rng.uniform(size=len(candidates)))
    return candidates, factor


def _features(colour: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """What the offsets are matched on: the colour with its detail (colour less its blur) weighed up, so
    that mortar lines and edges line up, and the blurred brightness weighed up, so that a copy keeps the
    shade of the place it goes to (fine grain alone would outweigh a gentle gradient)."""
    blurred = cv2.GaussianBlur(colour, (0, 0), 1.5)
    detailed = colour + _DETAIL_GAIN * (colour - blurred)
    brightness = cv2.GaussianBlur(blurred @ np.array([0.299, 0.587, 0.114], np.float32), (0, 0), 1.5)
    return np.ascontiguousarray(np.dstack([detailed, _SHADE_GAIN * brightness]), dtype=np.float32)


def _repeats(
    colour: npt.NDArray[np.float32], weight: npt.NDArray[np.float32], reach: int, *, min_length: float, count: int
) -> list[tuple[int, int]]:
    """The `count` shifts (dy, dx) within `reach`, at least `min_length` long, under which the weighted
    picture differs least from itself (mean squared difference over the overlap, all shifts at once by
    FFT), each at least _SPACING from those taken before (so that a valley gives a row of them)."""
    rows, columns = weight.shape
    total = float(weight.sum())
    if total <= 0.0:
        return []
    size = (cv2.getOptimalDFTSize(rows + reach + 1), cv2.getOptimalDFTSize(columns + reach + 1))
    w = weight.astype(np.float64)
    mean = (colour * weight[..., None]).sum(axis=(0, 1)) / total
    centred = (colour.astype(np.float64) - mean) * w[..., None]
    spectrum_w = np.fft.rfft2(w, size)
    spectrum_energy = np.fft.rfft2((centred * (colour - mean)).sum(axis=2), size)
    cross = sum(np.abs(np.fft.rfft2(centred[..., c], size)) ** 2 for c in range(colour.shape[2]))
    numerator = np.fft.irfft2(2.0 * np.real(np.conj(spectrum_energy) * spectrum_w) - 2.0 * cross, size)
    overlap = np.fft.irfft2(np.abs(spectrum_w) ** 2, size)
    steps = np.arange(-reach, reach + 1)
    grid = np.ix_(steps % size[0], steps % size[1])
    overlap_d = overlap[grid]
    mismatch = numerator[grid] / np.maximum(overlap_d, 1e-9)
    dy, dx = np.meshgrid(steps, steps, indexing="ij")
    usable = (overlap_d >= 0.2 * overlap[0, 0]) & (np.hypot(dy, dx) >= min_length)
    free = usable.copy()
    radius = int(np.ceil(_SPACING)) - 1
    picked: list[tuple[int, int]] = []
    flat = np.flatnonzero(usable)
    for index in flat[np.argsort(mismatch.reshape(-1)[flat], kind="stable")]:
        a, b = divmod(int(index), 2 * reach + 1)
        if not free[a, b]:
            continue
        picked.append((a - reach, b - reach))
        if len(picked) == count:
            break
        free[max(0, a - radius) : a + radius + 1, max(0, b - radius) : b + radius + 1] = False
    return picked


def _quilt(
    costs: npt.NDArray[np.float32],
    misses: npt.NDArray[np.float32],
    block_tile: npt.NDArray[np.int64],
    blocks: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    depth: npt.NDArray[np.float32],
    features: npt.NDArray[np.float32],
    candidates: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """An offset for every tile, and a runner-up (-1: none). Tiles are decided from the hole's edge inwards
    (by the mean depth of their blocks); each takes, among the offsets that miss for at most _MAX_MISS of
    its blocks, the one with the lowest cost plus seam: how much its copy and the copies of the tiles
    already decided beside it differ on both sides of the border between them."""
    count, tiles = costs.shape
    ys, xs = blocks
    sizes = np.bincount(block_tile, minlength=tiles)
    tile_depth = np.bincount(block_tile, weights=depth, minlength=tiles) / np.maximum(sizes, 1)
    # 4-neighbour pairs of band blocks in different tiles, both ways, grouped by the first one's tile.
    slot = np.full((int(ys.max()) + 2, int(xs.max()) + 2), -1, dtype=np.int64)
    slot[ys, xs] = np.arange(len(ys))
    pairs = []
    for step_y, step_x in ((0, 1), (1, 0)):
        other = slot[ys + step_y, xs + step_x]
        first = np.flatnonzero((other >= 0) & (block_tile[np.maximum(other, 0)] != block_tile))
        pairs.append(np.stack([first, other[first]], axis=1))
    both = np.concatenate(pairs)
    both = np.concatenate([both, both[:, ::-1]])
    both = both[np.argsort(block_tile[both[:, 0]], kind="stable")]
    starts = np.searchsorted(block_tile[both[:, 0]], np.arange(tiles + 1))
    chosen = np.full(tiles, -1, dtype=np.int64)
    runner = np.full(tiles, -1, dtype=np.int64)
    for t in np.argsort(tile_depth, kind="stable"):
        allowed = misses[:, t] <= _MAX_MISS
        if not bool(allowed.any()):
            allowed = misses[:, t] <= misses[:, t].min()
        cost = costs[:, t]
        score = np.where(allowed, np.nan_to_num(cost, nan=0.0), np.inf)
        pair = both[starts[t] : starts[t + 1]]
        pair = pair[chosen[block_tile[pair[:, 1]]] >= 0]
        if len(pair):
            # Seams for the likeliest few (all of them where the tile has no known pixels near it).
            shortlist = np.argsort(score, kind="stable")[: count if np.isnan(cost).all() else _SHORTLIST]
            shortlist = shortlist[np.isfinite(score[shortlist])]
            theirs = candidates[chosen[block_tile[pair[:, 1]]]]
            seam = np.zeros(len(shortlist))
            for side in (pair[:, 0], pair[:, 1]):
                py, px = ys[side], xs[side]
                mine = features[py[None] + candidates[shortlist, :1], px[None] + candidates[shortlist, 1:]]
                other = features[py + theirs[:, 0], px + theirs[:, 1]]
                seam += ((mine - other[None]) ** 2).sum(axis=2).mean(axis=1)
            score = np.full(count, np.inf)
            score[shortlist] = np.nan_to_num(cost[shortlist], nan=0.0) + _SEAM_WEIGHT * seam
        order = np.argsort(score, kind="stable")[:2]
        chosen[t] = int(order[0])
        if len(order) > 1 and np.isfinite(score[order[1]]):
            runner[t] = int(order[1])
    return chosen, runner


def _refine(
    picture: RGBFrame,
    known: Mask,
    candidates: npt.NDArray[np.int64],
    band_w: Mask,
    whole: Mask,
    labels: npt.NDArray[np.int64],
    blocks: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    *,
    scale: int,
    rng: np.random.Generator,
) -> npt.NDArray[np.int64]:
    """Full-resolution offsets (dy, dx) for `candidates` (in blocks): each used one moved by up to a block
    to where the picture shifted by it best matches the known pixels beside the band blocks that use it."""
    refined = candidates * scale
    radius = (scale + 1) // 2 if scale > 1 else 0
    if radius == 0:
        return refined
    height, width = known.shape
    # Each known block beside the band takes the offset of the nearest band block.
    _, nearest = cv2.distanceTransformWithLabels(
        (~band_w).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    ys, xs = blocks
    lookup = np.full(int(nearest.max()) + 1, -1, dtype=np.int64)
    lookup[nearest[ys, xs]] = labels
    gap = cv2.distanceTransform((~band_w).astype(np.uint8), cv2.DIST_L2, 5)
    ring_y, ring_x = np.nonzero(whole & (gap <= max(1.5, _PATCH_PX / (2.0 * scale))))
    ring_label = lookup[nearest[ring_y, ring_x]]
    py = ring_y * scale + rng.integers(0, scale, size=len(ring_y))
    px = ring_x * scale + rng.integers(0, scale, size=len(ring_x))
    keep = (py < height) & (px < width)
    py, px, ring_label = py[keep], px[keep], ring_label[keep]
    shifts = np.arange(-radius, radius + 1)
    sdy, sdx = (a.reshape(-1, 1) for a in np.meshgrid(shifts, shifts, indexing="ij"))
    order = rng.permutation(len(py))
    py, px, ring_label = py[order], px[order], ring_label[order]
    for label in np.unique(labels[labels >= 0]):
        mine = np.flatnonzero(ring_label == label)[:_REFINE_SAMPLES]
        if len(mine) == 0:
            continue
        ty, tx = py[mine], px[mine]
        qy = ty[None, :] + refined[label, 0] + sdy
        qx = tx[None, :] + refined[label, 1] + sdx
        inside = (qy >= 0) & (qy < height) & (qx >= 0) & (qx < width)
        qy, qx = np.clip(qy, 0, height - 1), np.clip(qx, 0, width - 1)
        usable = inside & known[qy, qx]
        diff = picture[qy, qx].astype(np.float32) - picture[ty, tx].astype(np.float32)[None]
        error = np.where(usable, (diff * diff).sum(axis=2), 0.0).sum(axis=1) / np.maximum(usable.sum(axis=1), 1)
        error[usable.mean(axis=1) < 0.5] = np.inf
        if np.isfinite(error).any():
            pick = int(np.argmin(error))
            refined[label] += (int(sdy[pick, 0]), int(sdx[pick, 0]))
    return refined
