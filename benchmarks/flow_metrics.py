"""Motion signatures measured with dense optical flow, for the motion evaluation (`motion_eval.py`).

A `Clip` holds a rendered video as grey frames and Farneback flow between consecutive frames,
computed at a reduced size for speed. Each signature check takes a clip (plus the regions it needs, in
full-size pixel coordinates) and returns a `Check`: passed, a score (its unit is in the docstring)
and a one-line detail that says which condition decided.

Conventions, the same as the live2d motion plan (`stillmotion.engines.live2d.plan`):
* Image coordinates: x to the right, y DOWN. "left"/"right" are the viewer's.
* Flow is forward: a pixel at p in frame t is at p + flow in frame t + 1.
* Camera language: `pan right` moves content LEFT (flow x < 0); `tilt up` moves content DOWN (flow y > 0);
  `zoom in` makes content grow (divergence > 0).

Where a threshold can be relative (a region against a control region, one axis against the other),
it is; the absolute ones are expressed as fractions of the frame or region size so that they do not
depend on the output resolution. Every threshold is a keyword argument with its default documented.

Part-level checks (nod, shake, tilt, blink, mouth, wind) use *camera-compensated* flow: the affine
motion fitted to a border ring of the frame (top, left and right strips, where the background usually
is) is subtracted, so that a push-in or pan does not read as a head motion.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
BoolMask = npt.NDArray[np.bool_]
UInt8Array = npt.NDArray[np.uint8]

# Farneback settings for small, smooth motion on ~240-360 px frames: a 3-level pyramid reaches
# ~8 px per frame at the reduced size (24 px at 720), more than any part motion should move per frame.
_PYR_SCALE: Final = 0.5
_LEVELS: Final = 3
_WINSIZE: Final = 15
_ITERATIONS: Final = 3
_POLY_N: Final = 5
_POLY_SIGMA: Final = 1.2
# Share of each side used as the "background" ring for the camera fit (top, left, right strips).
_RING: Final = 0.15
# Floor on texture weights so that a region of flat colour still counts a little. Low: inside flat
# colour (drawings) Farneback reports ~0 whatever moves, and that must not outvote the edges.
_WEIGHT_FLOOR: Final = 0.01


@dataclass(frozen=True)
class Check:
    passed: bool
    score: float
    detail: str


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in full-size pixel coordinates."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def scaled(self, factor: float) -> Box:
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)

    def grow(self, fraction: float) -> Box:
        """The box widened by `fraction` of its size on every side (negative shrinks it)."""
        return Box(
            self.x - fraction * self.w,
            self.y - fraction * self.h,
            self.w * (1 + 2 * fraction),
            self.h * (1 + 2 * fraction),
        )

    def sub(self, fx: float, fy: float, fw: float, fh: float) -> Box:
        """A box placed in this one's fractional coordinates (0..1 across and down)."""
        return Box(self.x + fx * self.w, self.y + fy * self.h, fw * self.w, fh * self.h)

    def mask(self, height: int, width: int) -> BoolMask:
        """`(height, width)` bool, True inside (clipped to the frame)."""
        out = np.zeros((height, width), dtype=bool)
        x0, y0 = max(0, round(self.x)), max(0, round(self.y))
        x1, y1 = min(width, round(self.x + self.w)), min(height, round(self.y + self.h))
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] = True
        return out

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


@dataclass
class Clip:
    """A video prepared for the checks.

    `grey` is `(T, H, W)` uint8 at full size; `small` is `(T, h, w)` uint8 at `scale`; `flow` is
    `(T - 1, h, w, 2)` float32 in FULL-SIZE pixels per frame step (already divided by `scale`);
    `weights` is `(h, w)` float32 texture confidence from frame 0 (flow in flat areas is a guess);
    `camera` is `(T - 1, h, w, 2)` float32: the affine camera motion fitted to the border ring;
    `fps` is the rate of the frames kept (after `step`).
    """

    grey: UInt8Array
    small: UInt8Array
    flow: FloatArray
    weights: FloatArray
    camera: FloatArray
    scale: float
    fps: float

    @property
    def height(self) -> int:
        return int(self.grey.shape[1])

    @property
    def width(self) -> int:
        return int(self.grey.shape[2])

    @property
    def short_side(self) -> int:
        return min(self.height, self.width)

    @property
    def local_flow(self) -> FloatArray:
        """Flow minus the fitted camera motion: what parts of the scene do on their own."""
        return self.flow - self.camera

    def small_mask(self, mask: BoolMask | Box) -> BoolMask:
        """A full-size mask or box as a `(h, w)` bool mask on the flow grid."""
        h, w = self.small.shape[1:]
        if isinstance(mask, Box):
            return mask.scaled(self.scale).mask(h, w)
        resized = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
        return np.asarray(resized, dtype=bool)


def rgb_to_grey(frame: UInt8Array) -> UInt8Array:
    return np.asarray(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def prepare_clip(frames: Iterable[UInt8Array], *, fps: float, scale: float = 1 / 3, step: int = 1) -> Clip:
    """Grey frames, texture weights, Farneback flow and the camera fit for `(H, W, 3)` RGB `frames`.

    `step` keeps every `step`-th frame (2 halves the cost; blinks need 1 at 12-15 fps).
    """
    grey_frames = [rgb_to_grey(frame) if frame.ndim == 3 else frame for i, frame in enumerate(frames) if i % step == 0]
    if len(grey_frames) < 2:
        raise ValueError(f"need at least 2 frames, got {len(grey_frames)}")
    grey = np.stack(grey_frames)  # (T, H, W) uint8
    height, width = grey.shape[1:]
    small_size = (max(8, round(width * scale)), max(8, round(height * scale)))
    actual_scale = small_size[0] / width
    small = np.stack(
        [np.asarray(cv2.resize(g, small_size, interpolation=cv2.INTER_AREA), dtype=np.uint8) for g in grey]
    )  # (T, h, w) uint8
    # A fresh output array per call: OpenCV writes into the one it is given (flags=0: not read first).
    flows = [
        np.asarray(
            cv2.calcOpticalFlowFarneback(
                small[i],
                small[i + 1],
                np.zeros((*small.shape[1:], 2), np.float32),
                _PYR_SCALE,
                _LEVELS,
                _WINSIZE,
                _ITERATIONS,
                _POLY_N,
                _POLY_SIGMA,
                0,
            ),
            dtype=np.float32,
        )
        for i in range(len(small) - 1)
    ]
    flow = np.stack(flows) / np.float32(actual_scale)  # (T-1, h, w, 2) full-size px
    weights = texture_weights(small[0])
    ring = weights * _ring_mask(*weights.shape)
    camera = np.stack([affine_field(fit_affine(f, ring), weights.shape) for f in flow])  # (T-1, h, w, 2)
    return Clip(grey=grey, small=small, flow=flow, weights=weights, camera=camera, scale=actual_scale, fps=fps / step)


def load_clip(path: Path, *, fps: float, scale: float = 1 / 3, step: int = 1) -> Clip:
    from stillmotion.media.video import read_frames  # only the evaluation needs the video reader

    return prepare_clip(read_frames(path), fps=fps, scale=scale, step=step)


def texture_weights(grey: UInt8Array) -> FloatArray:
    """`(h, w)` float32 in [floor, 1]: the structure tensor's smaller eigenvalue, normalised by its
    90th percentile. Flow is trustworthy where the image has texture in two directions."""
    eig = cv2.cornerMinEigenVal(grey.astype(np.float32) / 255.0, blockSize=5, ksize=3)
    top = float(np.percentile(eig, 90))
    if top <= 0:
        return np.ones_like(eig, dtype=np.float32)
    return np.asarray(np.clip(eig / top, 0.0, 1.0) * (1 - _WEIGHT_FLOOR) + _WEIGHT_FLOOR, dtype=np.float32)


def _ring_mask(h: int, w: int) -> FloatArray:
    ring = np.zeros((h, w), dtype=np.float32)
    ring[: round(_RING * h), :] = 1
    ring[:, : round(_RING * w)] = 1
    ring[:, w - round(_RING * w) :] = 1
    return ring


def fit_affine(field: FloatArray, weights: FloatArray) -> FloatArray:
    """Robust weighted least-squares affine motion of a `(h, w, 2)` field.

    Returns `(2, 3)` float32 `[[a0, a1, a2], [b0, b1, b2]]` with `v = c0 + c1 * x + c2 * y`, where x, y
    are in the field's own grid pixels measured from the grid centre. One Huber-style reweighting
    pass keeps a moving subject from dragging the fit.
    """
    h, w = field.shape[:2]
    ys, xs = np.mgrid[0:h:2, 0:w:2]
    x = (xs - (w - 1) / 2).ravel().astype(np.float64)
    y = (ys - (h - 1) / 2).ravel().astype(np.float64)
    vx = field[0:h:2, 0:w:2, 0].ravel().astype(np.float64)
    vy = field[0:h:2, 0:w:2, 1].ravel().astype(np.float64)
    wt = weights[0:h:2, 0:w:2].ravel().astype(np.float64)
    design = np.stack([np.ones_like(x), x, y], axis=1)
    coeffs = np.zeros((2, 3))
    for _ in range(2):
        if wt.sum() <= 1e-9:
            break
        sw = np.sqrt(wt)[:, None]
        coeffs[0] = np.linalg.lstsq(design * sw, vx * sw[:, 0], rcond=None)[0]
        coeffs[1] = np.linalg.lstsq(design * sw, vy * sw[:, 0], rcond=None)[0]
        residual = np.hypot(vx - design @ coeffs[0], vy - design @ coeffs[1])
        cutoff = 2.0 * float(np.median(residual[wt > 0])) + 1e-3 if np.any(wt > 0) else 1.0
        wt = wt * np.minimum(1.0, cutoff / np.maximum(residual, 1e-9))
    return coeffs.astype(np.float32)


def affine_field(coeffs: FloatArray, shape: tuple[int, int]) -> FloatArray:
    """The `(h, w, 2)` field of an affine model from `fit_affine` on a grid of `shape`."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    x = xs - (w - 1) / 2
    y = ys - (h - 1) / 2
    vx = coeffs[0, 0] + coeffs[0, 1] * x + coeffs[0, 2] * y
    vy = coeffs[1, 0] + coeffs[1, 1] * x + coeffs[1, 2] * y
    return np.stack([vx, vy], axis=-1).astype(np.float32)


# --- helpers -------------------------------------------------------------------------------------


def region_mean(field: FloatArray, mask: BoolMask, weights: FloatArray) -> FloatArray:
    """Texture-weighted mean of a `(T, h, w, 2)` field inside `mask`, as `(T, 2)` float32."""
    wt = weights * mask
    total = float(wt.sum())
    if total <= 0:
        return np.zeros((field.shape[0], 2), dtype=np.float32)
    return np.asarray(np.einsum("thwc,hw->tc", field, wt) / total, dtype=np.float32)


def count_reversals(signal: npt.ArrayLike, threshold: float) -> int:
    """Direction changes of `signal` that retreat at least `threshold` from the last extreme.

    A zig-zag count with hysteresis: noise smaller than `threshold` never counts. One nod (down and
    back up) is 1 reversal; a nod twice is 3.
    """
    values = np.asarray(signal, dtype=np.float64)
    if values.size == 0 or threshold <= 0:
        return 0
    start = extreme = float(values[0])
    direction = 0
    reversals = 0
    for value in values[1:]:
        v = float(value)
        if direction == 0:
            if abs(v - start) >= threshold:
                direction = 1 if v > start else -1
                extreme = v
        elif direction > 0:
            if v > extreme:
                extreme = v
            elif extreme - v >= threshold:
                reversals += 1
                direction, extreme = -1, v
        else:
            if v < extreme:
                extreme = v
            elif v - extreme >= threshold:
                reversals += 1
                direction, extreme = 1, v
    return reversals


def _cumulative(series: FloatArray) -> FloatArray:
    """Per-step values `(T-1, ...)` -> displacement from frame 0 `(T, ...)`, starting at 0."""
    zero = np.zeros((1, *series.shape[1:]), dtype=np.float32)
    return np.concatenate([zero, np.cumsum(series, axis=0, dtype=np.float32)], axis=0)


def _complement(clip: Clip, region: Box, grow: float = 0.25) -> BoolMask:
    return ~clip.small_mask(region.grow(grow))


def _region_mask(clip: Clip, region: Box, within: BoolMask | None) -> BoolMask:
    """The region on the flow grid, limited to `within` (e.g. the subject) when given."""
    mask = clip.small_mask(region)
    return mask & clip.small_mask(within) if within is not None else mask


def _oscillation(
    clip: Clip,
    region: Box,
    axis: int,
    *,
    control: Box | BoolMask | None,
    within: BoolMask | None,
    extent_px: float | None,
    min_amplitude: float,
    min_ratio: float,
    min_reversals: int,
) -> Check:
    name = "vertical" if axis == 1 else "horizontal"
    extent = extent_px or (region.h if axis == 1 else region.w)
    inside = region_mean(clip.local_flow, _region_mask(clip, region, within), clip.weights)  # (T-1, 2) px/step
    outside_mask = _complement(clip, region) if control is None else clip.small_mask(control)
    outside = region_mean(clip.local_flow, outside_mask, clip.weights)
    along = _cumulative(inside[:, axis])  # (T,) px
    across = _cumulative(inside[:, 1 - axis])
    ctrl = _cumulative(outside[:, axis])
    ptp = float(np.ptp(along))
    amplitude = ptp / extent
    ratio = ptp / max(float(np.ptp(ctrl)), 0.25)
    dominance = ptp / max(float(np.ptp(across)), 0.25)
    reversals = count_reversals(along, 0.4 * ptp) if ptp > 0 else 0
    passed = amplitude >= min_amplitude and ratio >= min_ratio and reversals >= min_reversals and dominance >= 1.0
    detail = (
        f"{name} p-p {ptp:.1f}px = {amplitude:.1%} of {extent:.0f}px (>= {min_amplitude * 100:g}%), "
        f"vs control x{ratio:.1f} (>= {min_ratio:g}), reversals {reversals} (>= {min_reversals}), "
        f"vs other axis x{dominance:.1f} (>= 1)"
    )
    return Check(passed, amplitude, detail)


# --- head and body -------------------------------------------------------------------------------


def vertical_oscillation(
    clip: Clip,
    region: Box,
    *,
    control: Box | BoolMask | None = None,
    within: BoolMask | None = None,
    extent_px: float | None = None,
    min_amplitude: float = 0.03,
    min_ratio: float = 2.0,
    min_reversals: int = 1,
) -> Check:
    """Nod, breathe, bounce: the region's content goes up/down and comes back.

    The texture-weighted mean camera-compensated vertical flow in `region` (limited to the `within`
    mask if given, e.g. the subject), summed over time, gives a displacement curve. Passes when its
    peak-to-peak is >= `min_amplitude` of `extent_px` (default: the region's height; 3%: a barely
    visible nod of a 200 px face is 6 px), >= `min_ratio` (2) times that of `control` (default:
    everything outside the region grown by 25%), the curve turns back at least `min_reversals` times
    (hysteresis 40% of its peak-to-peak: one nod, down and up, is 1) and vertical motion dominates
    horizontal. Score: peak-to-peak as a fraction of the extent.
    """
    return _oscillation(
        clip,
        region,
        1,
        control=control,
        within=within,
        extent_px=extent_px,
        min_amplitude=min_amplitude,
        min_ratio=min_ratio,
        min_reversals=min_reversals,
    )


def horizontal_oscillation(
    clip: Clip,
    region: Box,
    *,
    control: Box | BoolMask | None = None,
    within: BoolMask | None = None,
    extent_px: float | None = None,
    min_amplitude: float = 0.03,
    min_ratio: float = 2.0,
    min_reversals: int = 1,
) -> Check:
    """Shake, sway: `vertical_oscillation` on the x axis (default extent: the region's width). A shake
    (left, right, back) has 2 reversals; a tilt or turn that goes and returns has 1."""
    return _oscillation(
        clip,
        region,
        0,
        control=control,
        within=within,
        extent_px=extent_px,
        min_amplitude=min_amplitude,
        min_ratio=min_ratio,
        min_reversals=min_reversals,
    )


def region_shift(
    clip: Clip,
    region: Box,
    direction: Literal["left", "right", "up", "down"],
    *,
    control: Box | BoolMask | None = None,
    within: BoolMask | None = None,
    extent_px: float | None = None,
    min_shift: float = 0.03,
    min_ratio: float = 2.0,
) -> Check:
    """Turn, look up, lean: the region's content moves one way (and may come back).

    Displacement curve as in `vertical_oscillation`, minus the control region's curve (default: the
    complement of the region grown by 25%), so that the part moves relative to what carries it. The
    peak displacement in `direction` must be >= `min_shift` (3%) of `extent_px` (default: the
    region's size along that axis) and >= `min_ratio` (2) times the peak in the opposite direction.
    Score: that peak as a fraction of the extent.
    """
    axis = 0 if direction in ("left", "right") else 1
    sign = -1.0 if direction in ("left", "up") else 1.0
    extent = extent_px or (region.w if axis == 0 else region.h)
    inside = region_mean(clip.local_flow, _region_mask(clip, region, within), clip.weights)
    outside_mask = _complement(clip, region) if control is None else clip.small_mask(control)
    outside = region_mean(clip.local_flow, outside_mask, clip.weights)
    relative = sign * (_cumulative(inside[:, axis]) - _cumulative(outside[:, axis]))
    forward = float(relative.max())
    backward = float(-relative.min())
    shift = forward / extent
    passed = shift >= min_shift and forward >= min_ratio * max(backward, 0.25)
    detail = (
        f"peak {direction} {forward:.1f}px = {shift:.1%} of {extent:.0f}px (>= {min_shift * 100:g}%) relative to "
        f"control, opposite peak {backward:.1f}px (ratio >= {min_ratio:g})"
    )
    return Check(passed, shift, detail)


def _curl_curve(clip: Clip, mask: BoolMask) -> FloatArray:
    """`(T,)` degrees: the rotation of the camera-compensated flow inside `mask`, summed over time.

    Per step, the robust affine fit's curl, (dvy/dx - dvx/dy) / 2, in radians per step: positive is
    clockwise on screen (y points down). A translation has no curl, wherever the pivot is.
    """
    weights = clip.weights * mask
    if float(weights.sum()) <= 0:
        return np.zeros(len(clip.flow) + 1, dtype=np.float32)
    curls = []
    for step in clip.local_flow:
        c = fit_affine(step, weights)
        curls.append((c[1, 1] - c[0, 2]) / 2 * clip.scale)  # per grid px -> per full-size px
    return np.degrees(_cumulative(np.asarray(curls, dtype=np.float32)))


def rotation(
    clip: Clip,
    region: Box,
    *,
    clockwise: bool,
    control: Box | BoolMask | None = None,
    min_angle_deg: float = 1.5,
    min_ratio: float = 2.0,
) -> Check:
    """Head tilt: the region turns in its own plane.

    The angle curve of `_curl_curve` (the rotation part of an affine fit to the region's
    camera-compensated flow, so a sideways shift of the head does not count, and no pivot is needed:
    a rotation about the neck is a rotation plus a translation). A tilt to the viewer's right (top of
    the head moves right) is clockwise. Passes when the peak angle in the expected sense is
    >= `min_angle_deg` (1.5 deg), >= `min_ratio` (2) times the peak in the other sense and
    >= `min_ratio` times the control's peak (default control: outside the region grown by 25%).
    Score: that peak angle in degrees.
    """
    sense = 1.0 if clockwise else -1.0
    curve = sense * _curl_curve(clip, clip.small_mask(region))
    ctrl = _curl_curve(clip, _complement(clip, region) if control is None else clip.small_mask(control))
    forward = float(curve.max())
    backward = float(-curve.min())
    ctrl_peak = float(np.abs(ctrl).max())
    passed = (
        forward >= min_angle_deg
        and forward >= min_ratio * max(backward, 0.1)
        and forward >= min_ratio * max(ctrl_peak, 0.1)
    )
    detail = (
        f"{'clockwise' if clockwise else 'counter-clockwise'} peak {forward:.2f} deg (>= {min_angle_deg:g}), "
        f"other sense {backward:.2f}, control {ctrl_peak:.2f} (ratios >= {min_ratio:g})"
    )
    return Check(passed, forward, detail)


# --- eyes and mouth ------------------------------------------------------------------------------


def _sample_patch(grey: UInt8Array, box: Box, centre: tuple[float, float], scale: float) -> FloatArray:
    """`box`'s size worth of `grey` around `centre`, magnified by `scale`, bilinear, as float32."""
    w, h = max(2, round(box.w)), max(2, round(box.h))
    # Destination (u, v) -> source (cx + scale * (u - w/2 + 0.5), ...): pixel centres line up.
    matrix = np.array(
        [
            [scale, 0.0, centre[0] - scale * (w / 2 - 0.5)],
            [0.0, scale, centre[1] - scale * (h / 2 - 0.5)],
        ]
    )
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return np.asarray(cv2.warpAffine(grey, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE), np.float32)


def _tracked_change(
    clip: Clip, box: Box, track_box: Box | BoolMask, exclude: Iterable[Box] = (), *, search_px: int = 2
) -> FloatArray:
    """`(T,)` appearance change of `box` against frame 0, following the head.

    The box's centre and size follow an affine motion fitted, step by step, to the raw flow inside
    `track_box` (a box or mask: the face without hair, which wind would move) minus the `exclude` boxes
    (so that an eyelid's own motion does not drag the tracker):
    a push-in or a nod moves and scales the eye, and a translation-only tracker would see that as
    change. What tracking still misses is absorbed by taking the best match within +-`search_px`.
    Change = mean |patch_t - patch_0| / (std(patch_0) + 4): about 1 when a textured patch is replaced
    by flat skin, ~0 when the patch only moved.
    """
    mask = clip.small_mask(track_box)
    for other in exclude:
        mask &= ~clip.small_mask(other)
    wt = clip.weights * mask
    h, w = clip.small.shape[1:]
    centre = np.array([box.cx, box.cy], dtype=np.float64)
    scale = 1.0
    positions, scales = [centre.copy()], [scale]
    for step in clip.flow:
        c = fit_affine(step, wt).astype(np.float64)
        gx, gy = centre[0] * clip.scale - (w - 1) / 2, centre[1] * clip.scale - (h - 1) / 2
        centre = centre + np.array([c[0, 0] + c[0, 1] * gx + c[0, 2] * gy, c[1, 0] + c[1, 1] * gx + c[1, 2] * gy])
        scale *= 1.0 + (c[0, 1] + c[1, 2]) / 2 * clip.scale
        positions.append(centre.copy())
        scales.append(scale)
    reference = _sample_patch(clip.grey[0], box, (box.cx, box.cy), 1.0)
    contrast = float(reference.std()) + 4.0
    offsets = range(-search_px, search_px + 1)
    changes = []
    for t, grey in enumerate(clip.grey):
        best = min(
            float(
                np.abs(
                    _sample_patch(grey, box, (positions[t][0] + dx, positions[t][1] + dy), scales[t]) - reference
                ).mean()
            )
            for dx in offsets
            for dy in offsets
        )
        changes.append(best / contrast)
    return np.asarray(changes, dtype=np.float32)


def eye_closure(
    clip: Clip,
    eye: Box,
    *,
    face: Box | BoolMask,
    control: Box,
    min_change: float = 0.25,
    min_ratio: float = 2.0,
    reopen: float = 0.5,
) -> Check:
    """Blink or wink of one eye: the eye region's appearance changes and comes back.

    `_tracked_change` of the eye box (tracked with the face box, eyes excluded). Passes when the peak
    change is >= `min_change` (0.25: a quarter of the eye's own contrast, far more than sub-pixel
    tracking error; a closed lid replaces iris and sclera), >= `min_ratio` times the peak change of
    `control` (skin that moves only with the head, e.g. a cheek) tracked the same way, and after
    the peak the change falls below `reopen` of the peak (the eye opens again). Score: peak change.
    """
    curve = _tracked_change(clip, eye, face, exclude=(eye,))
    ctrl = _tracked_change(clip, control, face, exclude=(eye,))
    peak_index = int(np.argmax(curve))
    peak = float(curve[peak_index])
    ctrl_peak = float(ctrl.max())
    after = curve[peak_index:]
    reopened = bool(np.any(after <= reopen * peak)) if peak > 0 else False
    passed = peak >= min_change and peak >= min_ratio * max(ctrl_peak, 0.02) and reopened
    detail = (
        f"eye change peak {peak:.2f} at frame {peak_index} (>= {min_change:g}), control {ctrl_peak:.2f} "
        f"(ratio >= {min_ratio:g}), reopens: {'yes' if reopened else 'no'}"
    )
    return Check(passed, peak, detail)


def mouth_motion(
    clip: Clip,
    mouth: Box,
    *,
    face: Box | BoolMask,
    control: Box,
    min_change: float = 0.15,
    min_ratio: float = 2.0,
) -> Check:
    """Smile, talk, laugh: the mouth region changes much more than the rest of the face.

    `_tracked_change` of the mouth box vs a control box of the face (e.g. a cheek),
    both tracked with the face box (mouth excluded). Passes when the peak change is >= `min_change`
    (0.15 of the mouth's own contrast: the lips move by a few pixels) and >= `min_ratio` times the
    control's peak. No return is required: a smile may hold. Score: peak change.
    """
    curve = _tracked_change(clip, mouth, face, exclude=(mouth,))
    ctrl = _tracked_change(clip, control, face, exclude=(mouth,))
    peak = float(curve.max())
    ctrl_peak = float(ctrl.max())
    passed = peak >= min_change and peak >= min_ratio * max(ctrl_peak, 0.02)
    detail = f"mouth change peak {peak:.2f} (>= {min_change:g}), control {ctrl_peak:.2f} (ratio >= {min_ratio:g})"
    return Check(passed, peak, detail)


# --- hair ----------------------------------------------------------------------------------------


def region_concentration(
    clip: Clip,
    mask: BoolMask | Box,
    *,
    controls: Iterable[BoolMask | Box],
    min_ratio: float = 2.0,
    min_speed: float = 0.005,
) -> Check:
    """Wind in the hair: motion concentrated in `mask` rather than in the `controls`.

    Speed of a region per step: the texture-weighted mean magnitude of the camera-compensated flow;
    its median over the steps is the region's speed (wind is sustained, while a 0.3 s blink inside a
    face control would dominate a mean). Passes when the mask's speed is >= `min_ratio` (2) times
    the largest control's (e.g. the face box without hair, whose texture weights favour eyes, mouth
    and outline: in flat skin Farneback only smears the neighbours' motion; and the background) and
    >= `min_speed` short sides per second (0.5%/s, 3.6 px/s at 720: clearly moving). Score: the ratio.
    """
    speed = np.linalg.norm(clip.local_flow, axis=-1)  # (T-1, h, w) px/step

    def median_speed(region: BoolMask | Box) -> float:
        wt = clip.weights * clip.small_mask(region)
        total = float(wt.sum())
        return float(np.median(np.einsum("thw,hw->t", speed, wt) / total)) if total > 0 else 0.0

    inside = median_speed(mask)
    outside = max((median_speed(c) for c in controls), default=0.0)
    ratio = inside / max(outside, 1e-3)
    per_second = inside * clip.fps / clip.short_side
    passed = ratio >= min_ratio and per_second >= min_speed
    detail = (
        f"region speed {per_second:.2%} of short side/s (>= {min_speed:.1%}), "
        f"x{ratio:.1f} the busiest control (>= {min_ratio:g})"
    )
    return Check(passed, ratio, detail)


# --- camera --------------------------------------------------------------------------------------


def _global_motion(clip: Clip, weights: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
    """Per step: `(T-1,)` zoom rate (relative scale change) and `(T-1, 2)` translation at the frame
    centre in full-size px, from robust affine fits of the raw flow (whole frame unless `weights`)."""
    wt = clip.weights if weights is None else weights
    coeffs = np.stack([fit_affine(f, wt) for f in clip.flow])  # (T-1, 2, 3)
    # Coefficients are full-size px per grid px; times `scale` they are per full-size px.
    zoom = (coeffs[:, 0, 1] + coeffs[:, 1, 2]) / 2 * clip.scale
    return zoom.astype(np.float32), coeffs[:, :, 0].astype(np.float32)


def _cell_displacements(clip: Clip, cells: int = 4) -> tuple[FloatArray, FloatArray]:
    """Total raw displacement `(n, 2)` px of each textured cell of a `cells` x `cells` grid, and the
    cell centres `(n, 2)` in full-size px. Cells of flat colour (mean weight < 0.15) are left out."""
    total = clip.flow.sum(axis=0)  # (h, w, 2)
    h, w = total.shape[:2]
    displacements, centres = [], []
    for row in range(cells):
        for col in range(cells):
            ys = slice(row * h // cells, (row + 1) * h // cells)
            xs = slice(col * w // cells, (col + 1) * w // cells)
            wt = clip.weights[ys, xs]
            if float(wt.mean()) < 0.15:
                continue
            displacements.append(np.einsum("hwc,hw->c", total[ys, xs], wt) / float(wt.sum()))
            centres.append(((col + 0.5) * clip.width / cells, (row + 0.5) * clip.height / cells))
    return np.asarray(displacements, dtype=np.float32).reshape(-1, 2), np.asarray(centres, dtype=np.float32)


def radial_flow(clip: Clip, sign: int, *, min_scale: float = 0.08, min_consistency: float = 0.8) -> Check:
    """Zoom in (`sign` +1: content grows, divergence > 0) or out (-1).

    A robust affine fit of each step's flow over the whole frame gives a zoom rate (half the
    divergence); summed over the clip it is the relative scale change. Passes when the peak scale
    change in the expected sense is >= `min_scale` (8%: a prompted zoom must be clearly more than the
    slow push-in an unprompted clip may get; the engine's idle push-in is ~6% and its plain "zoom in"
    ~10.5% over a clip, the v1 engine's push-in measured ~7% on a 3 s clip) and
    >= `min_consistency` (80%) of the steps that move (rate above 10% of the largest) have the
    expected sign. Score: signed scale change.
    """
    zoom, _ = _global_motion(clip)
    curve = sign * _cumulative(zoom)
    peak = float(curve.max())
    moving = np.abs(zoom) > 0.1 * float(np.abs(zoom).max()) if zoom.size and np.abs(zoom).max() > 0 else zoom > 1
    agree = float(np.mean(sign * zoom[moving] > 0)) if moving.any() else 0.0
    passed = peak >= min_scale and agree >= min_consistency
    detail = (
        f"zoom {'in' if sign > 0 else 'out'} by {peak:.1%} (>= {min_scale:.0%}), "
        f"{agree:.0%} of moving steps agree (>= {min_consistency:.0%})"
    )
    return Check(passed, peak, detail)


def _translation(clip: Clip, axis: int, sign: int, *, min_shift: float, min_consistency: float) -> Check:
    extent = clip.width if axis == 0 else clip.height
    _, shift = _global_motion(clip)
    along = sign * _cumulative(shift[:, axis])
    across = _cumulative(shift[:, 1 - axis])
    peak = float(along.max())
    fraction = peak / extent
    cells, _ = _cell_displacements(clip)
    agree = float(np.mean(sign * cells[:, axis] >= 0.3 * peak)) if len(cells) and peak > 0 else 0.0
    dominance = peak / max(float(np.abs(across).max()), 0.5)
    passed = fraction >= min_shift and agree >= min_consistency and dominance >= 2.0
    word = ("right" if sign > 0 else "left") if axis == 0 else ("down" if sign > 0 else "up")
    detail = (
        f"content moves {word} {peak:.1f}px = {fraction:.1%} of the frame (>= {min_shift:.0%}), "
        f"{agree:.0%} of {len(cells)} cells agree (>= {min_consistency:.0%}), x{dominance:.1f} the other axis (>= 2)"
    )
    return Check(passed, fraction, detail)


def horizontal_translation(clip: Clip, sign: int, *, min_shift: float = 0.03, min_consistency: float = 0.75) -> Check:
    """Pan: the whole content moves sideways; `sign` is the CONTENT's direction (+1 right, -1 left), so
    `pan right` is `sign=-1`.

    Translation at the frame centre of robust affine fits, summed over the clip, must reach
    `min_shift` of the frame width (3%) in the expected direction, >= 2x any vertical drift, and
    >= `min_consistency` (75%) of the textured cells of a 4x4 grid must each have moved at least 30%
    as far in that direction (a zoom moves cells apart and fails this). Score: shift / width.
    """
    return _translation(clip, 0, sign, min_shift=min_shift, min_consistency=min_consistency)


def vertical_translation(clip: Clip, sign: int, *, min_shift: float = 0.03, min_consistency: float = 0.75) -> Check:
    """Camera tilt: `horizontal_translation` on y; `sign` +1 = content moves DOWN (`tilt up`)."""
    return _translation(clip, 1, sign, min_shift=min_shift, min_consistency=min_consistency)


def camera_static(clip: Clip, *, max_scale: float = 0.01, max_shift: float = 0.01) -> Check:
    """Static camera: the border ring (top, left and right strips: background in a portrait) neither
    zooms nor pans, whatever the subject does.

    Robust affine fits of each step's flow on the ring, summed over the clip. Passes when the
    largest |scale change| is <= `max_scale` (1%) and the largest drift at the frame centre is <=
    `max_shift` (1%) of the short side. Score: the larger of the two ratios to its limit (<= 1 passes).
    """
    zoom, shift = _global_motion(clip, clip.weights * _ring_mask(*clip.weights.shape))
    scale = float(np.abs(_cumulative(zoom)).max())
    drift = float(np.linalg.norm(_cumulative(shift), axis=1).max()) / clip.short_side
    score = max(scale / max_scale, drift / max_shift)
    detail = (
        f"camera scale change {scale:.2%} (<= {max_scale:.0%}), drift {drift:.2%} of short side (<= {max_shift:.0%})"
    )
    return Check(score <= 1.0, score, detail)


# --- the whole scene ------------------------------------------------------------------------------


def near_zero(clip: Clip, *, max_speed: float = 0.05, max_difference: float = 1.5) -> Check:
    """A still prompt: nothing moves.

    Passes when, for every step, the texture-weighted mean flow magnitude is <= `max_speed`
    full-size px per frame (0.05: 1 px in 20 frames; encoder noise alone is ~0.01) and the mean
    absolute grey difference of every frame from frame 0 is <= `max_difference` levels (1.5:
    above x264's re-encoding noise at crf 18). Score: the largest mean speed, px per frame.
    """
    speed = np.linalg.norm(clip.flow, axis=-1)  # (T-1, h, w)
    per_step = np.einsum("thw,hw->t", speed, clip.weights) / float(clip.weights.sum())
    top_speed = float(per_step.max())
    reference = clip.grey[0].astype(np.int16)
    difference = max(float(np.abs(g.astype(np.int16) - reference).mean()) for g in clip.grey)
    passed = top_speed <= max_speed and difference <= max_difference
    detail = (
        f"peak mean speed {top_speed:.3f}px/frame (<= {max_speed:g}), "
        f"peak mean difference from frame 0 {difference:.2f} levels (<= {max_difference:g})"
    )
    return Check(passed, top_speed, detail)


def idle_life(
    clip: Clip,
    *,
    min_motion: float = 0.002,
    max_part_motion: float = 0.05,
    max_camera_scale: float = 0.10,
    max_step: float = 0.01,
) -> Check:
    """An unknown prompt: something moves gently, nothing large.

    From the summed flow (displacement from frame 0 at each pixel): the 95th percentile over pixels
    of |displacement|, at its largest over time, must be >= `min_motion` of the short side (0.2%:
    1.4 px at 720, visible life). "Nothing large" is judged on the camera-compensated flow (the same
    percentile <= `max_part_motion`, 5%: no big gesture) and on the camera fit (|scale change| <=
    `max_camera_scale`, 10%: a slow push-in is idle behaviour, a prompted-size zoom is not); and the
    99th percentile of any single step's speed <= `max_step` of the short side per frame (1%: no
    jerks). Score: the peak 95th-percentile raw displacement as a fraction of the short side.
    """

    def p95_peak(flow: FloatArray) -> float:
        displacement = np.linalg.norm(np.cumsum(flow, axis=0), axis=-1).reshape(len(flow), -1)
        return float(np.percentile(displacement, 95, axis=1).max()) / clip.short_side

    moved = p95_peak(clip.flow)
    parts = p95_peak(clip.local_flow)
    zoom, _ = _global_motion(clip, clip.weights * _ring_mask(*clip.weights.shape))
    camera_scale = float(np.abs(_cumulative(zoom)).max())
    step = float(np.percentile(np.linalg.norm(clip.flow, axis=-1).reshape(len(clip.flow), -1), 99, axis=1).max())
    step_fraction = step / clip.short_side
    passed = (
        moved >= min_motion
        and parts <= max_part_motion
        and camera_scale <= max_camera_scale
        and step_fraction <= max_step
    )
    detail = (
        f"p95 displacement peak {moved:.2%} of short side (>= {min_motion:.1%}), "
        f"of parts {parts:.2%} (<= {max_part_motion:.0%}), camera scale {camera_scale:.1%} "
        f"(<= {max_camera_scale:.0%}), p99 step {step_fraction:.2%}/frame (<= {max_step:.0%})"
    )
    return Check(passed, moved, detail)


def _half(clip: Clip) -> UInt8Array:
    h, w = clip.grey.shape[1:]
    return np.stack(
        [np.asarray(cv2.resize(g, (w // 2, h // 2), interpolation=cv2.INTER_AREA), dtype=np.uint8) for g in clip.grey]
    )  # (T, H/2, W/2)


def _warp_to(image: UInt8Array | FloatArray, displacement: FloatArray, *, full_width: int) -> FloatArray:
    """`image` `(h, w)` brought into the geometry of another frame: each pixel p samples `image` at
    p + `displacement`(p), where `displacement` is `(h', w', 2)` in full-size pixels on any grid."""
    h, w = image.shape
    factor = w / full_width  # full-size px -> this image's px
    field = np.asarray(cv2.resize(displacement, (w, h), interpolation=cv2.INTER_LINEAR), np.float32) * factor
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    warped = cv2.remap(
        image.astype(np.float32),
        xs + field[..., 0],
        ys + field[..., 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(warped, dtype=np.float32)


# Neighbours for the particle-free background of frame t, nearest first: far enough that a particle
# has moved off its own spot, near enough that the compensated scene still matches.
_NEIGHBOUR_OFFSETS: Final = (4, -4, 8, -8, 12, -12, 16, -16)


def _particle_layers(clip: Clip, *, threshold: float, brighter_only: bool) -> list[BoolMask]:
    """Per frame, `(H/2, W/2)` bool: pixels > `threshold` levels away from the particle-free scene.

    The scene behind frame t is the median of four neighbouring frames, each warped into frame t's
    geometry with the summed flow (so that idle motion or a push-in does not light up every edge).
    A particle passes through a pixel in a frame or two, so the median does not contain it. The
    flow, smooth and at 1/3 size, follows the scene, not the small particles.
    """
    half = _half(clip)
    positions = _cumulative(clip.flow)  # (T, h, w, 2): Eulerian approximation, fine for small motion
    layers = []
    for t in range(len(half)):
        neighbours = [t + o for o in _NEIGHBOUR_OFFSETS if 0 <= t + o < len(half)][:4]
        warped = [_warp_to(half[i], positions[i] - positions[t], full_width=clip.width) for i in neighbours]
        background = np.asarray(np.median(np.stack(warped), axis=0), dtype=np.float32)
        # A compensation error of up to ~1 px leaves a residual of up to the local gradient (levels
        # per px) along every edge; a particle stands out on flat and textured ground alike.
        gradient = np.hypot(cv2.Sobel(background, cv2.CV_32F, 1, 0), cv2.Sobel(background, cv2.CV_32F, 0, 1)) / 8
        limit = threshold + gradient
        diff = half[t].astype(np.float32) - background
        layers.append((diff > limit) if brighter_only else (np.abs(diff) > limit))
    return layers


def _small_blobs(layer: BoolMask, max_area: int) -> tuple[int, BoolMask]:
    _, labels, stats, _ = cv2.connectedComponentsWithStats(layer.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero((areas >= 2) & (areas <= max_area)) + 1
    return len(keep), np.isin(labels, keep)


def _layer_shift(blobs: list[BoolMask]) -> tuple[float, float]:
    """Median shift `(dx, dy)` in full-size px per frame of the particle layer, by phase correlation of
    consecutive (blurred) blob masks at half size."""
    h, w = blobs[0].shape
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    shifts = []
    for a, b in itertools.pairwise(blobs):
        if a.sum() < 4 or b.sum() < 4:
            continue
        fa = cv2.GaussianBlur(a.astype(np.float32), (0, 0), 1.5)
        fb = cv2.GaussianBlur(b.astype(np.float32), (0, 0), 1.5)
        (dx, dy), _response = cv2.phaseCorrelate(fa, fb, window)
        shifts.append((dx, dy))
    if not shifts:
        return 0.0, 0.0
    dx, dy = np.median(np.asarray(shifts), axis=0) * 2  # half size -> full size
    return float(dx), float(dy)


def overlay_particles(
    clip: Clip,
    kind: Literal["snow", "rain", "petals", "sparkles"],
    *,
    min_blobs: int = 20,
    threshold: float = 20.0,
    min_fall_px: float = 1.0,
    ignore: BoolMask | None = None,
) -> Check:
    """Falling particles (snow, rain, petals) or twinkling sparkles drawn over the scene.

    `ignore` (any size, resized): where other motion of the clip lies (rippling water, swaying trees), which
    leaves residuals that do not fall; the particles are looked for elsewhere.

    Particle pixels: > `threshold` grey levels (20) plus the local gradient (levels per px: what a
    1 px compensation error leaves along an edge) away from the motion-compensated median of
    neighbouring frames (half size, see `_particle_layers`); pixels flagged in over 25% of frames
    (50% for sparkles) are fixed compensation errors at edges and are dropped. Blobs: connected
    components of 2 px .. 0.2% of the frame.

    Falling kinds pass when the median blob count per frame is >= `min_blobs` (20: "many"; what
    compensation leaves on idle clips is ~4-12) and the particle layer as a whole moves down: the
    median shift found by phase correlation of consecutive layers is >= `min_fall_px` full-size px
    per frame downwards (1: falling, not jitter) and at least half its sideways drift. Snow, rain
    and petals are not told apart. Sparkles pass with >= `min_blobs` / 2 (10) brighter blobs per
    frame that blink (consecutive blob masks overlap by IoU < 0.7 on average) in place (layer shift
    < `min_fall_px` per frame). Score: median blob count per frame.
    """
    falling = kind != "sparkles"
    layers = _particle_layers(clip, threshold=threshold, brighter_only=not falling)
    # A pixel flagged in many frames is a compensation error at a fixed edge, not a passing particle
    # (a falling flake covers a pixel for a frame or two; a twinkle is off about half the time).
    persistent = np.mean(np.stack(layers), axis=0) > (0.25 if falling else 0.5)
    layers = [layer & ~persistent for layer in layers]
    h, w = layers[0].shape
    if ignore is not None:
        kept = ~(cv2.resize(ignore.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool))
        layers = [layer & kept for layer in layers]
    max_area = max(4, int(0.002 * h * w))
    counted = [_small_blobs(layer, max_area) for layer in layers]
    blobs = [mask for _, mask in counted]
    median_count = float(np.median([count for count, _ in counted]))
    dx, dy = _layer_shift(blobs)
    if falling:
        downward = dy >= min_fall_px and dy >= 0.5 * abs(dx)
        passed = median_count >= min_blobs and downward
        detail = (
            f"{median_count:.0f} blobs/frame (>= {min_blobs}), layer moves ({dx:+.1f}, {dy:+.1f})px/frame "
            f"(down >= {min_fall_px:g}, >= half the sideways drift)"
        )
    else:
        ious = []
        for a, b in itertools.pairwise(blobs):
            union = int((a | b).sum())
            if union:
                ious.append(int((a & b).sum()) / union)
        mean_iou = float(np.mean(ious)) if ious else 1.0
        in_place = math.hypot(dx, dy) < min_fall_px
        passed = median_count >= min_blobs / 2 and mean_iou < 0.7 and in_place
        detail = (
            f"{median_count:.0f} bright blobs/frame (>= {min_blobs / 2:g}), frame-to-frame IoU {mean_iou:.2f} "
            f"(< 0.7), layer shift {math.hypot(dx, dy):.1f}px/frame (< {min_fall_px:g})"
        )
    return Check(passed, median_count, detail)


def brightness_flicker(clip: Clip, *, min_swing: float = 3.0, min_reversals: int = 2, cells: int = 3) -> Check:
    """Flickering light: the brightness of some part of the frame goes up and down repeatedly.

    For each step, the mean of frame t+1 minus frame t warped along the flow (so that motion does not
    count as a brightness change), per cell of a `cells` x `cells` grid (a 5% border left out, where
    warping replicates edges); summed over time and detrended, that is each cell's brightness curve.
    Passes when the cell that swings most has a peak-to-peak >= `min_swing` grey levels (3, about 1%
    of the range) and >= `min_reversals` (2) reversals with 40% hysteresis. Score: that swing.
    """
    t_count, h, w = clip.small.shape
    margin_y, margin_x = round(0.05 * h), round(0.05 * w)
    steps = np.zeros((t_count - 1, cells, cells))
    for t in range(t_count - 1):
        # Frame t+1 at p shows what frame t showed at p - flow: approximate with the flow at p.
        predicted = _warp_to(clip.small[t], -clip.flow[t], full_width=clip.width)
        change = clip.small[t + 1].astype(np.float32) - predicted
        inner = change[margin_y : h - margin_y, margin_x : w - margin_x]
        ih, iw = inner.shape
        for row in range(cells):
            for col in range(cells):
                block = inner[row * ih // cells : (row + 1) * ih // cells, col * iw // cells : (col + 1) * iw // cells]
                steps[t, row, col] = float(block.mean())
    curves = np.concatenate([np.zeros((1, cells, cells)), np.cumsum(steps, axis=0)]).reshape(t_count, -1)
    times = np.arange(t_count, dtype=np.float64)
    best = (0.0, 0)
    for curve in curves.T:
        detrended = curve - np.polyval(np.polyfit(times, curve, 1), times)
        swing = float(np.ptp(detrended))
        if swing > best[0]:
            best = (swing, count_reversals(detrended, 0.4 * swing))
    swing, reversals = best
    passed = swing >= min_swing and reversals >= min_reversals
    detail = f"largest cell swing {swing:.1f} levels (>= {min_swing:g}), reversals {reversals} (>= {min_reversals})"
    return Check(passed, swing, detail)
