"""The extended canvas (`extend_canvas`): the first frame padded by the margins the camera path needs
(`camera.Margins`), the padding filled with content that continues the picture: its own texture, quilted
outward from each edge in patches taken from near that edge (`_Quilter`, which searches for each patch),
as sharp as the picture and no mirror image of it, built once per clip from its seed. How a chosen patch
is laid in where it meets what is already there is `seams.py`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.render.camera import Margins
from stillmotion.engines.live2d.render.seams import _colour_shift, _cut_weight, _meet_edge

RGBFrame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB
FloatFrame = npt.NDArray[np.float32]  # (H, W, 3) or (H, W, 1) float32
_Places = int | npt.NDArray[np.float32]  # a place in the source, or an array of them

# The extended canvas (`extend_canvas`, `_Quilter`).
# Pictures narrower than this are tiled, not quilted.
_QUILT_MIN_PX: Final = 8
# Bands this narrow (the guard a still or pushing-in camera keeps, never shown) repeat the edge instead.
_EDGE_ONLY_PX: Final = 4
# Patches: this many along the picture's shorter side; searched at the size where one is this many px.
_PATCHES_PER_SIDE: Final = 10
_COARSE_PATCH_PX: Final = 12
# Patches come from this share of the picture (its width, for a side band) nearest the edge, and from
# within this many patch sizes of their own place along the edge.
_SOURCE_SHARE: Final = 0.25
_SEARCH_ROWS: Final = 2
# The overlap with the patch above weighs this much per pixel against that with the patch left.
_TOP_WEIGHT: Final = 0.5
# Overlap differences (mean squared, summed over the channels) count relative to the best's plus this.
_OVERLAP_FLOOR: Final = 100.0
# The guide: per patch, this many bands along the edge; colour and texture (mean gradient, weighed by
# `_TEXTURE_WEIGHT` against colour) up to `_GUIDE_SLACK` grey levels from the edge's are free, and each
# `_GUIDE_SCALE` beyond costs `_GUIDE_WEIGHT` (squared) as much as the best overlap's difference.
_GUIDE_BANDS: Final = 4
_TEXTURE_WEIGHT: Final = 2.0
_GUIDE_SLACK: Final = 24.0
_GUIDE_SCALE: Final = 24.0
_GUIDE_WEIGHT: Final = 1.0
# The guide's texture energy: the root mean squared gradient at full size (the coarse looks have lost the
# grain and the small parts, and a mean would weigh a grain as much as the edges of things), compared as a
# ratio, since a dark thing's texture is as weak in grey levels as it is strong to the eye. Within
# `_ENERGY_SLACK` (a factor, in log) of the edge's it is free; each `_ENERGY_SCALE` beyond costs
# `_ENERGY_WEIGHT` (squared) as much as the best overlap's difference. It counts from `_ENERGY_FLOOR`
# grey levels per px on, so that flat regions compare alike whatever their noise.
_ENERGY_FLOOR: Final = 4.0
_ENERGY_SLACK: Final = math.log(1.5)
_ENERGY_SCALE: Final = math.log(1.5)
_ENERGY_WEIGHT: Final = 1.0
# A source patch at the far side of the source costs this share more than one at the edge.
_DEPTH_PENALTY: Final = 0.5
# Each earlier use of a source patch within a patch size over `_REUSE_RADIUS` costs this share more.
_REUSE_PENALTY: Final = 0.5
_REUSE_RADIUS: Final = 2
# A source patch laid beside where it was taken from (less than a patch size away down, and two across)
# costs up to this share more: it repeats a thing beside itself, which a texture hides but a single thing
# at the edge (a hand, a bracket) shows as a stamp. Lines crossing the edge still go on: the overlaps
# decide for them.
_BESIDE_PENALTY: Final = 1.0
# A patch is picked at random among this many lowest costs within this share of the lowest.
_CANDIDATES: Final = 6
_TOLERANCE: Final = 0.1
# A patch carries on where its neighbour's came from if that costs at most this many times the pick.
_COHERENCE: Final = 1.3
# Weighing (as `cv2.COLOR_RGB2GRAY` does) the colour channels, by matrix product.
_GREY: Final = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def extend_canvas(image: RGBFrame, margins: Margins, *, seed: int = 0) -> RGBFrame:
    """`image` `(H, W, 3)` padded to `(H + top + bottom, W + left + right, 3)`: the image itself copied
    exactly, the padding synthesised so that it continues the picture.

    A mirror shows as a reflection and a blur as a soft band, in every frame that reveals the padding.
    Quilting (`_Quilter`) instead copies the picture's own texture from near each edge, in overlapping
    patches each chosen to agree with the edge and with its neighbours, so lines that cross an edge go
    on and the padding is as sharp as the picture. The left and right bands come first; the top and
    bottom bands are then quilted along the widened picture, which fills the corners from both sides.
    The same `seed` gives the same canvas: the clip builds it once and shows it in every frame, so what
    is revealed never flickers.
    """
    height, width = image.shape[:2]
    top, bottom, left, right = margins.top, margins.bottom, margins.left, margins.right
    if min(height, width) < _QUILT_MIN_PX:
        # Too small to hold a patch: tile the picture, which continues it without reflecting it.
        wrapped = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_WRAP)
        return np.asarray(wrapped, dtype=np.uint8)
    canvas: RGBFrame = np.empty((height + top + bottom, width + left + right, 3), dtype=np.uint8)
    canvas[top : top + height, left : left + width] = image
    rng = np.random.default_rng(seed)
    patch = _Patches.for_image(width, height)
    # Each band is quilted to the right of a flipped or transposed view, and lands back through it.
    middle = canvas[top : top + height]  # (H, W', 3), the picture widened once its sides are filled
    middle[:, :left] = _quilt_band(image[:, ::-1], left, patch, rng)[:, ::-1]
    middle[:, left + width :] = _quilt_band(image, right, patch, rng)
    canvas[:top] = _quilt_band(middle[::-1].transpose(1, 0, 2), top, patch, rng).transpose(1, 0, 2)[::-1]
    canvas[top + height :] = _quilt_band(middle.transpose(1, 0, 2), bottom, patch, rng).transpose(1, 0, 2)
    return canvas


@dataclass(frozen=True)
class _Patches:
    """Quilting sizes: `size` px square patches that overlap their neighbours by `overlap` px. The search
    runs at `1 / coarse` of the size (where a patch is about `_COARSE_PATCH_PX` across) and is refined at
    `1 / fine` (1, or 2 for large patches): the search is what costs."""

    size: int
    overlap: int
    coarse: int
    fine: int

    @classmethod
    def for_image(cls, width: int, height: int) -> _Patches:
        # Patches scale with the picture, so that they hold the same share of its texture at any size.
        shorter = min(width, height)
        size = min(int(np.clip(round(shorter / _PATCHES_PER_SIDE), 16, 128)), shorter // 2)
        if size > 48:  # refined at half size, from an even coarse size
            coarse, fine = 2 * max(1, round(size / (2 * _COARSE_PATCH_PX))), 2
        else:
            coarse, fine = max(1, round(size / _COARSE_PATCH_PX)), 1
        return cls(size=size, overlap=max(1, round(size / 4)), coarse=coarse, fine=fine)


def _quilt_band(picture: RGBFrame, band: int, patch: _Patches, rng: np.random.Generator) -> RGBFrame:
    """`(h, band, 3)`: the `band` columns to the right of `picture` `(h, w, 3)`, quilted (`_Quilter`)."""
    if band <= 0:
        return np.zeros((picture.shape[0], 0, 3), dtype=np.uint8)
    if band <= _EDGE_ONLY_PX:  # read only by interpolation at the edge, where the edge's colour is right
        return np.repeat(picture[:, -1:], band, axis=1)
    quilted = _Quilter(picture, patch).band(band, rng)
    return np.asarray(np.clip(np.rint(quilted), 0, 255), dtype=np.uint8)


@dataclass(frozen=True)
class _Coarse:
    """The quilting source at `1 / c` of its size, from full row `phase` on: coarse pixel `(i, j)` is the
    mean of full rows `[phase + i c, phase + (i + 1) c)` by columns `[j c, (j + 1) c)`. A patch's rows can
    start anywhere; searching the phase its rows start at puts candidates in the same rows (a horizon,
    a shelf) exactly in line with it, where a single grid would be up to `c - 1` rows off."""

    channels: tuple[npt.NDArray[np.float32], ...]  # 3 x (h', S'): the colour planes
    squares: npt.NDArray[np.float32]  # (h', S'): the squared colour, summed over the channels
    block_looks: npt.NDArray[np.float32]  # (h', S', 4): the guide's looks of the block right and down of each
    block_squares: npt.NDArray[np.float32]  # (h', S'): the squared looks, summed
    edge_looks: npt.NDArray[np.float32]  # (h', 4): the guide's looks of the edge from each row
    block_energy: npt.NDArray[np.float32]  # (h', S' - o'): the log texture energy a patch at each lays beyond
    edge_energy: npt.NDArray[np.float32]  # (h',): the log texture energy of the edge from each row

    @classmethod
    def build(
        cls,
        rows: FloatFrame,
        energy: npt.NDArray[np.float32],
        phase: int,
        patch: _Patches,
        sizes: tuple[int, int, int],
    ) -> _Coarse:
        """From `rows` `(h, S / c, 3)`, the source shrunk across and averaged over `c` rows down from each, and
        `energy` `(h, S / c)`, its full size texture energy as well; `sizes`: the patch, its overlap and a
        guide band, in coarse px."""
        coarse = patch.coarse
        small_size, small_overlap, guide_rows = sizes
        picked = slice(phase, rows.shape[0] - coarse + 1, coarse)
        small = np.ascontiguousarray(rows[picked])  # (h', S', 3)
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        gradient = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=1)) + np.abs(
            cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=1)
        )
        # Looks: colour, and texture as the mean gradient in grey levels per full pixel.
        looks = np.dstack([small, (_TEXTURE_WEIGHT / coarse) * gradient])  # (h', S', 4)
        block = (small_size, guide_rows)
        block_looks = cv2.boxFilter(looks, -1, block, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
        # At the edge: its outermost overlap's width, which misses what stands a little inside it, over the
        # band and one either side, since the edge may alternate (brick and mortar, stripes) and which one
        # it shows just there is chance.
        edge = looks[:, -small_overlap:].mean(axis=1, keepdims=True)  # (h', 1, 4)
        edge_looks = cv2.boxFilter(
            edge, -1, (1, 3 * guide_rows), anchor=(0, guide_rows), borderType=cv2.BORDER_REPLICATE
        )
        # Texture energy, of what a patch lays beyond its left overlap and of as wide a strip at the edge, each
        # over the band and one either side, like the edge's looks: alike at any phase of a pattern.
        small_energy = np.ascontiguousarray(energy[picked])  # (h', S')
        shown = max(1, small_size - small_overlap)
        around = ((shown, 3 * guide_rows), (0, guide_rows))
        block_energy = cv2.boxFilter(small_energy, -1, around[0], anchor=around[1], borderType=cv2.BORDER_REPLICATE)
        edge = small_energy[:, -shown:].mean(axis=1, keepdims=True)
        edge_energy = cv2.boxFilter(edge, -1, (1, around[0][1]), anchor=around[1], borderType=cv2.BORDER_REPLICATE)
        return cls(
            channels=tuple(np.ascontiguousarray(small[..., channel]) for channel in range(3)),
            squares=np.ascontiguousarray(np.square(small).sum(axis=2)),
            block_looks=np.asarray(block_looks, dtype=np.float32),
            block_squares=np.asarray(np.square(block_looks).sum(axis=2), dtype=np.float32),
            edge_looks=np.asarray(edge_looks, dtype=np.float32).reshape(-1, 4),
            block_energy=_log_energy(block_energy[:, small_overlap:]),
            edge_energy=_log_energy(edge_energy).reshape(-1),
        )

    def ssd(self, lo: int, rows: int, columns: int, template: FloatFrame) -> npt.NDArray[np.float32]:
        """`(rows, columns)`: the squared difference between `template` `(t, s, 3)` and this source at each
        top-left `(lo + i, j)`, as `sum I^2 - 2 sum I T + sum T^2` (small kernels are filtered directly,
        where `cv2.matchTemplate` always pays for a DFT)."""
        t_rows, t_columns = template.shape[:2]
        span = slice(lo, lo + rows + t_rows - 1)
        squares = cv2.boxFilter(self.squares[span], -1, (t_columns, t_rows), anchor=(0, 0), normalize=False)
        total = squares[:rows, :columns] + float(np.square(template).sum())
        for channel, plane in enumerate(self.channels):
            kernel = np.ascontiguousarray(template[..., channel])
            product = cv2.filter2D(plane[span], -1, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
            total -= 2.0 * product[:rows, :columns]
        return np.asarray(np.maximum(total, 0.0), dtype=np.float32)


class _Quilter:
    """Quilts the band to the right of `picture` `(h, w, 3)` from its rightmost `_SOURCE_SHARE` (the content
    nearest the edge is the likeliest to continue past it): see `band`."""

    def __init__(self, picture: RGBFrame, patch: _Patches) -> None:
        height, width = picture.shape[:2]
        self.patch = patch
        source_w = min(width, max(round(_SOURCE_SHARE * width), 2 * patch.size))
        self.source: FloatFrame = np.ascontiguousarray(picture[:, width - source_w :], dtype=np.float32)
        self.edge: FloatFrame = np.asarray(picture[:, width - patch.overlap :], dtype=np.float32)  # (h, O, 3)
        # The picture's strip that the first column is matched to: the overlap and, further in, a multiple
        # of the coarse size up to half a patch more (less where the source is too narrow for it).
        extra = min(patch.size // 2, source_w - 2 * patch.size) // patch.coarse * patch.coarse
        self.context: FloatFrame = np.asarray(picture[:, width - patch.overlap - max(extra, 0) :], dtype=np.float32)
        self.small_size = max(1, patch.size // patch.coarse)
        self.small_overlap = max(1, patch.overlap // patch.coarse)
        self.guide_rows = max(1, self.small_size // _GUIDE_BANDS)
        self.phases: dict[int, _Coarse] = {}  # built as patches need them, from:
        coarse = patch.coarse
        grey = np.asarray(cv2.cvtColor(self.source, cv2.COLOR_RGB2GRAY), dtype=np.float32)
        across, down = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=1), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=1)
        # The colour and the texture energy (the squared gradient, at full size): block means across (an exact
        # multiple of the coarse size wide), then down.
        self.rows: FloatFrame = _block_means(self.source, coarse)  # (h, S / c, 3)
        self.energy = _block_means(np.square(across) + np.square(down), coarse)  # (h, S / c)
        # The colours the source holds, near enough (see `band`).
        means = self.rows.reshape(-1, 3)
        self.low, self.high = means.min(axis=0), means.max(axis=0)
        # Source patches used so far, counted around their coarse top-left.
        self.used = np.zeros((height // patch.coarse + 1, source_w // patch.coarse + 1), dtype=np.float32)
        self.detail = _shrink(grey, patch.fine)  # (h / f, S / f)
        # The deeper inside a source patch lies, the less likely it is to continue past the edge.
        columns = source_w // patch.coarse - self.small_size + 1
        self.depth = _DEPTH_PENALTY * np.linspace(1.0, 0.0, max(columns, 1), dtype=np.float32)  # (columns,)

    def band(self, band: int, rng: np.random.Generator) -> FloatFrame:
        """`(h, band, 3)`, quilted (image quilting, Efros and Freeman 2001, with a guide).

        Patches are laid column by column outward, top to bottom. Each is the source patch, among those
        within `_SEARCH_ROWS` patch sizes of its own rows (which keeps a horizon at its height), that best
        agrees with what lies left of it (for the first column, the picture's strip at the edge, wider
        than the overlap) and above it, and whose colour and texture, band by band along the edge, are
        near the edge's there: a face or a rocket near the edge is not copied into the sky beside it.
        It is picked at random among the few best (the seed's part), the less likely the more often it
        was used and the deeper inside it lies; where the patch left or above came from carries on
        instead if that fits nearly as well, which makes larger coherent pieces. It is shifted in
        brightness to match what it overlaps and cut in along the line where it differs least from it.
        Last, the band is brought to the edge's colour where it meets it (`_meet_edge`)."""
        height = self.source.shape[0]
        size, overlap = self.patch.size, self.patch.overlap
        step = size - overlap
        canvas = np.zeros((height, overlap + band + size, 3), dtype=np.float32)
        canvas[:, :overlap] = self.edge
        rows = list(range(0, height - size + 1, step))
        if rows[-1] != height - size:
            rows.append(height - size)
        taken: list[tuple[int, int]] = []  # the source of each patch of the column before
        # What the first column's patches hold where they overlap the picture's edge strip (cut away).
        ghost = np.zeros((height, overlap, 3), dtype=np.float32)
        for x0 in range(0, band, step):
            column: list[tuple[int, int]] = []
            for index, y0 in enumerate(rows):
                above = rows[index - 1] + size - y0 if index > 0 else 0  # rows shared with the patch above
                left_part = canvas[y0 : y0 + size, x0 : x0 + overlap]  # (P, O, 3)
                top_part = canvas[y0 : y0 + above, x0 : x0 + size]  # (A, P, 3)
                # The first column matches more of the picture than it overlaps: the wider the strip, the
                # surer the phase of a pattern (which course of bricks, which stripe) beyond the edge.
                context = self.context[y0 : y0 + size] if x0 == 0 else left_part
                src_y, src_x = self._find((x0, y0), context, top_part, rng)
                # Carrying on where the patch left or above came from, if that fits nearly as well,
                # makes larger coherent pieces, so fewer seams and fragments.
                onward = []
                if taken:
                    onward.append((taken[index][0], taken[index][1] + step))
                if column:
                    onward.append((column[-1][0] + y0 - rows[index - 1], column[-1][1]))
                onward = [(y, x) for y, x in onward if y <= height - size and x <= self.source.shape[1] - size]
                if onward:
                    found_overlap, found_guide = self._fit(y0, (src_y, src_x), context, top_part)  # finite
                    scale = found_overlap + _OVERLAP_FLOOR  # costs as `_find` weighs them
                    fits = [(self._fit(y0, at, context, top_part), float(self._beside(x0, y0, *at))) for at in onward]
                    costs = [(overlap / scale + guide) * beside for (overlap, guide), beside in fits]
                    best = int(np.argmin(costs))
                    found = (found_overlap / scale + found_guide) * float(self._beside(x0, y0, src_y, src_x))
                    if costs[best] <= _COHERENCE * found:
                        src_y, src_x = onward[best]
                column.append((src_y, src_x))
                piece = self.source[src_y : src_y + size, src_x : src_x + size]  # (P, P, 3)
                piece = piece + _colour_shift(piece, left_part, top_part)  # clipped with the band, below
                weight = _cut_weight(piece, left_part, top_part, first=x0 == 0)  # (P, P, 1)
                target = canvas[y0 : y0 + size, x0 : x0 + size]
                target += weight * (piece - target)
                if x0 == 0:
                    hidden = ghost[y0 : y0 + size]
                    hidden += weight[:, overlap : overlap + 1] * (piece[:, :overlap] - hidden)
            taken = column
        met = _meet_edge(canvas[:, overlap : overlap + band], self.edge, ghost, reach=size // 2)
        # Shifts in colour and brightness stay within the colours the source holds.
        return np.asarray(np.minimum(np.maximum(met, self.low), self.high), dtype=np.float32)

    def _fit(self, y0: int, place: tuple[int, int], left_part: FloatFrame, top_part: FloatFrame) -> tuple[float, float]:
        """The search's costs of the source patch at `place` for the patch at row `y0`: its difference from
        the overlaps (at full size) and its guide's cost."""
        src_y, src_x = place
        size, overlap, coarse = self.patch.size, self.patch.overlap, self.patch.coarse
        extra = left_part.shape[1] - overlap  # `left_part` may reach left of the patch, as in `_find`
        if src_x < extra:
            return math.inf, math.inf
        beside = self.source[src_y : src_y + size, src_x - extra : src_x + overlap]
        cost = cv2.norm(np.ascontiguousarray(beside), np.ascontiguousarray(left_part), cv2.NORM_L2SQR)
        count = float(left_part.shape[0] * left_part.shape[1])
        if top_part.shape[0] > 0:
            above = np.ascontiguousarray(self.source[src_y : src_y + top_part.shape[0], src_x : src_x + size])
            cost += _TOP_WEIGHT * cv2.norm(above, np.ascontiguousarray(top_part), cv2.NORM_L2SQR)
            count += _TOP_WEIGHT * top_part.shape[0] * size
        cost /= count
        level = self._level(src_y % coarse)
        last_row, last_column = level.block_looks.shape[0] - 1, level.block_looks.shape[1] - 1
        rows = np.minimum(src_y // coarse + self.guide_rows * np.arange(_GUIDE_BANDS), last_row)
        looks = level.block_looks[rows, min(round(src_x / coarse), last_column)]  # (bands, 4)
        wanted = self._wanted(self._level(y0 % coarse), y0 // coarse)  # (bands, 4)
        beyond = np.maximum(np.sqrt(np.square(looks - wanted).sum(axis=1)) - _GUIDE_SLACK, 0.0)  # (bands,)
        energy = level.block_energy[rows, min(round(src_x / coarse), level.block_energy.shape[1] - 1)]  # (bands,)
        wanted_energy = self._wanted_energy(self._level(y0 % coarse), y0 // coarse)
        guide = _GUIDE_WEIGHT * float(np.square(beyond / _GUIDE_SCALE).mean())
        return float(cost), guide + float(self._energy_cost(energy, wanted_energy))

    @staticmethod
    def _energy_cost(energy: npt.NDArray[np.float32], wanted: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The guide's cost of log texture `energy` `(bands, ...)` against the edge's, `wanted`, over the bands."""
        beyond = np.maximum(np.abs(energy - wanted) - np.float32(_ENERGY_SLACK), 0.0)
        return np.asarray(_ENERGY_WEIGHT * np.square(beyond / np.float32(_ENERGY_SCALE)).mean(axis=0), dtype=np.float32)

    def _wanted(self, level: _Coarse, here: int) -> npt.NDArray[np.float32]:
        """`(bands, 4)`: the edge's looks for each guide band of the patch at coarse row `here` of `level`."""
        bands = here + self.guide_rows * np.arange(_GUIDE_BANDS)
        return np.asarray(level.edge_looks[np.minimum(bands, level.edge_looks.shape[0] - 1)], dtype=np.float32)

    def _wanted_energy(self, level: _Coarse, here: int) -> npt.NDArray[np.float32]:
        """`(bands,)`: the edge's log texture energy for each guide band of the patch at coarse row `here`."""
        bands = np.minimum(here + self.guide_rows * np.arange(_GUIDE_BANDS), level.edge_energy.shape[0] - 1)
        return np.asarray(level.edge_energy[bands], dtype=np.float32)

    def _level(self, phase: int) -> _Coarse:
        level = self.phases.get(phase)
        if level is None:
            sizes = (self.small_size, self.small_overlap, self.guide_rows)
            level = _Coarse.build(self.rows, self.energy, phase, self.patch, sizes)
            self.phases[phase] = level
        return level

    def _beside(self, x0: int, y0: int, src_y: _Places, src_x: _Places) -> npt.NDArray[np.float32]:
        """The cost factor of laying the source patch at `(src_y, src_x)` (or arrays of them) as the patch at
        `(x0, y0)` of the band: `1 + _BESIDE_PENALTY` where it lies at its own rows at most a patch size in
        from where it lands, falling to 1 at a patch size down or two across (the picture's own px)."""
        size = self.patch.size
        across = (self.source.shape[1] - self.patch.overlap + x0 - src_x) / size
        near = np.maximum(1.0 - np.abs(y0 - src_y) / size, 0.0) * np.minimum(np.maximum(2.0 - across, 0.0), 1.0)
        return np.asarray(1.0 + _BESIDE_PENALTY * near, dtype=np.float32)

    def _find(
        self, at: tuple[int, int], left_part: FloatFrame, top_part: FloatFrame, rng: np.random.Generator
    ) -> tuple[int, int]:
        """The top-left in the source of the patch at `at` `(x0, y0)` in the band: searched coarse, refined
        fine. `left_part` `(P, O + e, 3)` may reach `e` px (a multiple of the coarse size) left of the patch."""
        x0, y0 = at
        coarse, fine, size = self.patch.coarse, self.patch.fine, self.patch.size
        small_size = self.small_size
        phase, here = y0 % coarse, y0 // coarse
        level = self._level(phase)
        reach = _SEARCH_ROWS * size // coarse
        lo = max(0, here - reach)
        hi = max(lo, min(level.squares.shape[0] - small_size, here + reach))
        extra = left_part.shape[1] - self.patch.overlap  # px of the left part left of the patch
        first = extra // coarse  # the first coarse column a patch can start at, with room for them
        rows, columns = hi - lo + 1, level.squares.shape[1] - small_size + 1 - first
        span = slice(first, first + columns)
        # Agreement with the overlaps, per pixel of them (`_TOP_WEIGHT` for each above): what lies left, the
        # way out from the picture, carries the lines that cross the edge on; the picture's own strip, for
        # the first column, is the widest, and counts the most.
        left = _shrink_to(left_part, self.small_overlap + first, small_size)
        cost = level.ssd(lo, rows, columns, left)
        count = float(left.shape[0] * left.shape[1])
        if top_part.shape[0] > 0:
            top = _shrink_to(top_part, small_size, max(1, round(top_part.shape[0] / coarse)))
            cost += _TOP_WEIGHT * level.ssd(lo, rows, first + columns, top)[:, span]
            count += _TOP_WEIGHT * top.shape[0] * top.shape[1]
        cost /= count
        # The guide: colour and texture, band by band, beyond `_GUIDE_SLACK` from the edge's (`_wanted`).
        wanted = self._wanted(level, here)  # (bands, 4)
        starts = lo + self.guide_rows * np.arange(_GUIDE_BANDS)[:, None] + np.arange(rows)[None, :]  # (bands, rows)
        looks = level.block_looks[starts, span]  # (bands, rows, columns, 4)
        squares = level.block_squares[starts, span]  # (bands, rows, columns)
        products = np.matmul(looks, wanted[:, None, :, None])[..., 0]  # (bands, rows, columns)
        distance = squares - 2.0 * products + np.square(wanted).sum(axis=1)[:, None, None]
        beyond = np.maximum(np.sqrt(np.maximum(distance, 0.0)) - _GUIDE_SLACK, 0.0)
        guide = _GUIDE_WEIGHT * np.square(beyond / _GUIDE_SCALE).mean(axis=0)
        guide += self._energy_cost(level.block_energy[starts, span], self._wanted_energy(level, here)[:, None, None])
        # The overlap's difference as a multiple of the best's, so that the guide counts for little where a
        # patch fits the overlaps far better than others (the next course of bricks), and decides where
        # none does (an object at the edge, or a patch before that went astray).
        cost = cost / (float(cost.min()) + _OVERLAP_FLOOR) + guide
        cost *= 1.0 + _REUSE_PENALTY * self.used[lo : lo + rows, span] + self.depth[span]
        src_ys = (phase + coarse * np.arange(lo, lo + rows, dtype=np.float32))[:, None]
        cost *= self._beside(x0, y0, src_ys, coarse * np.arange(first, first + columns, dtype=np.float32)[None, :])
        pick_row, pick_column = _pick(cost, rng)
        radius = small_size // _REUSE_RADIUS
        used_y, used_x = lo + pick_row, first + pick_column
        self.used[max(0, used_y - radius) : used_y + radius + 1, max(0, used_x - radius) : used_x + radius + 1] += 1.0
        guess_y, guess_x = phase + used_y * coarse, used_x * coarse
        if coarse == fine:
            return guess_y, guess_x
        # Refine in grey, at 1 / fine, within a coarse pixel of the guess.
        detail = self.detail
        fine_size = size // fine
        spread = coarse // fine  # a coarse pixel either way: `_pick` may take a neighbour of the best
        y_lo = max(0, guess_y // fine - spread)
        y_hi = max(y_lo, min(detail.shape[0] - fine_size, guess_y // fine + spread))
        extra_fine = extra // fine
        x_lo = max(extra_fine, guess_x // fine - spread)
        x_hi = max(x_lo, min(detail.shape[1] - fine_size, guess_x // fine + spread))
        near = detail[y_lo : y_hi + fine_size, x_lo - extra_fine : x_hi + fine_size]  # with the room left
        fit_rows, fit_columns = y_hi - y_lo + 1, x_hi - x_lo + 1
        left_grey = _grey(left_part, max(1, left_part.shape[1] // fine), fine_size)
        fit = cv2.matchTemplate(near, left_grey, cv2.TM_SQDIFF)[:fit_rows, :fit_columns]
        if top_part.shape[0] > 0:
            top_grey = _grey(top_part, fine_size, max(1, top_part.shape[0] // fine))
            on_patch = np.ascontiguousarray(near[:, extra_fine:])
            fit = fit + cv2.matchTemplate(on_patch, top_grey, cv2.TM_SQDIFF)[:fit_rows, :fit_columns]
        best_y, best_x = divmod(int(np.argmin(fit)), fit_columns)
        src_y = min((y_lo + best_y) * fine, self.source.shape[0] - size)
        src_x = min((x_lo + best_x) * fine, self.source.shape[1] - size)
        return src_y, src_x


def _block_means(image: FloatFrame, coarse: int) -> FloatFrame:
    """`image` `(h, w, ...)` in means of `coarse` px across (an exact multiple of them wide), then of `coarse`
    rows down from each row."""
    across = _shrink(image[:, : image.shape[1] // coarse * coarse], coarse, across_only=True)
    means = cv2.boxFilter(across, -1, (1, coarse), anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    return np.asarray(means, dtype=np.float32)


def _log_energy(squares: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The log texture energy of mean squared gradients `squares`: their root, from `_ENERGY_FLOOR` on."""
    return np.asarray(np.log(np.sqrt(np.maximum(squares, 0.0)) + np.float32(_ENERGY_FLOOR)), dtype=np.float32)


def _shrink(image: FloatFrame, factor: int, *, across_only: bool = False) -> FloatFrame:
    """`image` `(h, w, ...)` shrunk by `factor` (only across, if `across_only`), each pixel the mean of its
    block (a ragged end is cut)."""
    if factor == 1:
        return np.ascontiguousarray(image)
    down = 1 if across_only else factor
    height, width = image.shape[0] // down, image.shape[1] // factor
    cropped = image[: height * down, : width * factor]
    return np.asarray(cv2.resize(cropped, (width, height), interpolation=cv2.INTER_AREA), dtype=np.float32)


def _shrink_to(image: FloatFrame, width: int, height: int) -> FloatFrame:
    if image.shape[0] == height and image.shape[1] == width:
        return np.ascontiguousarray(image)
    return np.asarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), dtype=np.float32)


def _grey(image: FloatFrame, width: int, height: int) -> FloatFrame:
    """`image` `(h, w, 3)` in grey (as `cv2.COLOR_RGB2GRAY` weighs the channels), shrunk to `(height, width)`."""
    return _shrink_to(np.asarray(image @ _GREY, dtype=np.float32), width, height)


def _pick(cost: npt.NDArray[np.float32], rng: np.random.Generator) -> tuple[int, int]:
    """A position of `cost` at random among the `_CANDIDATES` lowest that are within `_TOLERANCE` of the
    lowest: near-ties are common in texture, and always taking the lowest repeats one patch."""
    flat = cost.ravel()
    count = min(_CANDIDATES, flat.size)
    best = np.argpartition(flat, count - 1)[:count]
    lowest = float(flat[best].min())
    good = best[flat[best] <= lowest * (1.0 + _TOLERANCE) + 1e-3]
    chosen = int(good[rng.integers(good.size)]) if good.size > 1 else int(good[0])
    row, column = divmod(chosen, cost.shape[1])
    return row, column
