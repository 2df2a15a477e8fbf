"""Motion and colour change inside a named region of a clip, against outside it and an idle control.

Shared by the prompt-corpus scorer (`prompt_eval.py`) and the motion evaluation's region cases
(`motion_eval.py`). An `Observed` clip is a decoded video with Farneback flow (`flow_metrics`), the
camera's motion fitted on the picture's still parts, and the regions' masks in frame 0's geometry.
Each judgement returns a `flow_metrics.Check` whose detail says which bar decided.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

import flow_metrics as fm

BoolMask = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float32]

# --- the bars (each documented where it is used) ----------------------------------------------------

# A region "moves" at >= 0.5% of the short side per second (3.6 px/s at 720; flow_metrics'
# region_concentration uses the same floor): encoder noise and sub-pixel wobble stay far below it.
MIN_SPEED: Final = 0.005
# ... and at >= 2x the speed outside every region the entry names, and >= 2x the same region's speed
# in the idle control: "clearly exceeds", the factor the motion evaluation uses for its controls.
MIN_RATIO: Final = 2.0
# Speeds below this (px per frame) are treated as this when dividing: encoder noise on a still
# picture measures ~0.01-0.03 px/frame.
SPEED_FLOOR_PX: Final = 0.05
# A colour effect changes the region's mean colour by >= 3 grey levels (about 1% of the range; the
# brightness-flicker check uses the same swing), with the same 2x ratios.
MIN_CHANGE: Final = 3.0
CHANGE_FLOOR: Final = 0.5
# Outside regions are kept this far (fraction of the short side) from the named regions: Farneback
# spreads an edge's motion ~15 px at 1/3 size.
OUTSIDE_MARGIN: Final = 0.04
# The quantile over steps of a region's per-step speed: high enough that a 0.3 s blink or a short
# flicker counts in a 2 s clip, low enough that one jerky step does not.
STEP_QUANTILE: Final = 90
# A camera-still request: the still regions neither scale nor drift more than 1% over the clip (as
# flow_metrics.camera_static, but fitted on the scene's still parts instead of the border ring).
MAX_CAMERA_SCALE: Final = 0.01
MAX_CAMERA_SHIFT: Final = 0.01


# --- measuring a clip ----------------------------------------------------------------------------------


@dataclass
class Observed:
    """One rendered clip, ready to measure: flow, colour frames and regions in frame 0's geometry."""

    clip: fm.Clip
    rgb: FloatArray  # (T, h, w, 3) float32 RGB at the flow grid's size
    masks: dict[str, BoolMask]  # full-size, in frame 0's geometry
    camera: FloatArray  # (T-1, h, w, 2) camera motion fitted on the still regions (or the border ring)
    step_weights: FloatArray  # (T-1, h, w) texture confidence of each step: the larger of its two frames'
    regions: Any = None  # a character's `motion_eval.Regions`, for its signatures

    def small(self, region: str) -> BoolMask:
        if region == "frame":
            return np.ones(self.clip.small.shape[1:], dtype=bool)
        return self.clip.small_mask(self.masks[region])

    @property
    def local_flow(self) -> FloatArray:
        return self.clip.flow - self.camera


def observe(
    frames: Sequence[npt.NDArray[np.uint8]],
    *,
    fps: float,
    masks: dict[str, BoolMask],
    regions: Any = None,
) -> Observed:
    """`(H, W, 3)` RGB `frames` measured: Farneback flow at 1/3 size (`flow_metrics.prepare_clip`), and
    the camera's motion as robust affine fits of the flow on the `still` mask (texture-weighted), or on
    the border ring when the still parts have too little texture to hold a fit."""
    clip = fm.prepare_clip(frames, fps=fps)
    h, w = clip.small.shape[1:]
    rgb = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames]).astype(np.float32)
    camera = clip.camera
    still = masks.get("still")
    if still is not None:
        weights = clip.weights * clip.small_mask(still)
        # At least the texture of 0.5% of the frame fully textured: a flat painted background is not.
        if float(weights.sum()) >= 0.005 * h * w:
            camera = np.stack([fm.affine_field(fm.fit_affine(f, weights), (h, w)) for f in clip.flow])
    texture = np.stack([fm.texture_weights(g) for g in clip.small])  # (T, h, w)
    step_weights = np.maximum(texture[:-1], texture[1:])
    return Observed(clip=clip, rgb=rgb, masks=masks, camera=camera, step_weights=step_weights, regions=regions)


def region_speed(observed: Observed, mask: BoolMask) -> float:
    """px per frame (full size): the STEP_QUANTILE over steps of the texture-weighted mean
    |camera-compensated flow| inside `mask` (flow-grid mask). Each step is weighted by the texture of
    either of its frames: flat paint (a window pane, an evening sky) gives Farneback nothing to hold and
    it reports garbage there when the camera moves, but steam or a tear passing over it brings its own
    texture into the frames it is in."""
    if not mask.any():
        return 0.0
    speed = np.linalg.norm(observed.local_flow, axis=-1)  # (T-1, h, w)
    weights = observed.step_weights[:, mask]
    per_step = (speed[:, mask] * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-6)
    return float(np.percentile(per_step, STEP_QUANTILE))


def region_change(observed: Observed, mask: BoolMask) -> float:
    """Grey levels: the largest colour change of `mask`'s mean over the clip that motion does not
    explain. Per step, frame t+1 minus frame t warped along the flow (`brightness_flicker`'s idea, per
    RGB channel), averaged over the mask and summed over time; the largest distance of that curve from
    its start (a flicker's swing, a blush's shift), per channel averaged as a vector norm / sqrt(3)."""
    if not mask.any():
        return 0.0
    clip = observed.clip
    steps = []
    for t in range(len(clip.flow)):
        predicted = np.stack(
            [fm._warp_to(observed.rgb[t, ..., c], -clip.flow[t], full_width=clip.width) for c in range(3)], axis=-1
        )
        residual = observed.rgb[t + 1] - predicted  # (h, w, 3)
        steps.append(residual[mask].mean(axis=0))
    curve = np.cumsum(np.asarray(steps), axis=0)  # (T-1, 3)
    return float(np.linalg.norm(curve, axis=1).max() / math.sqrt(3))


def named_mask(observed: Observed, regions: Iterable[str], *, margin: int) -> BoolMask:
    """Flow-grid mask of every named region, grown by `margin` flow-grid pixels."""
    named = np.zeros(observed.clip.small.shape[1:], dtype=bool)
    for region in regions:
        named |= observed.small(region)
    return np.asarray(cv2.dilate(named.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)).astype(bool))


def outside_mask(observed: Observed, regions: Iterable[str]) -> BoolMask | None:
    """Flow-grid mask away from every named region (by OUTSIDE_MARGIN), or None when the regions cover
    (nearly) the whole frame."""
    margin = max(1, round(OUTSIDE_MARGIN * min(observed.clip.small.shape[1:])))
    outside = ~named_mask(observed, regions, margin=margin)
    return outside if outside.mean() >= 0.05 else None


def _ratios(inside: float, outside: float | None, control: float | None, *, floor: float) -> tuple[bool, str]:
    """Whether `inside` is >= MIN_RATIO x `outside` and x `control` (each floored at `floor`; None: not
    measured), and the detail."""
    passed, reasons = True, []
    for name, other in (("outside", outside), ("the idle control", control)):
        if other is None:
            continue
        ratio = inside / max(other, floor)
        passed &= ratio >= MIN_RATIO
        reasons.append(f"x{ratio:.1f} {name} (>= {MIN_RATIO:g})")
    return passed, ", ".join(reasons)


def judge_flow(observed: Observed, control: Observed | None, region: str, named: Iterable[str]) -> fm.Check:
    """Drawn when `region` moves at >= MIN_SPEED short sides/s, >= MIN_RATIO x outside the `named`
    regions (skipped when they cover the frame) and >= MIN_RATIO x the same region in the control."""
    inside = region_speed(observed, observed.small(region))
    outside_region = outside_mask(observed, named)
    outside = region_speed(observed, outside_region) if outside_region is not None else None
    ctrl = region_speed(control, control.small(region)) if control is not None else None
    per_second = inside * observed.clip.fps / observed.clip.short_side
    ratios_ok, ratios = _ratios(inside, outside, ctrl, floor=SPEED_FLOOR_PX)
    detail = f"{region} moves {per_second:.2%} of short side/s (>= {MIN_SPEED:.1%})" + (f", {ratios}" if ratios else "")
    return fm.Check(per_second >= MIN_SPEED and ratios_ok, per_second, detail)


# hand_area's parts: beside the face on either side and under the chin (scenes.py).
HAND_PARTS: Final = ("left", "right", "chin")


def judge_hand(observed: Observed, control: Observed | None, named: Iterable[str]) -> fm.Check:
    """A raised hand (`hand_area`): drawn when one of hand_area's parts passes `judge_flow`, outside it
    meaning away from all of hand_area and from the path of the arm that raises a hand into that part.

    A hand is raised by an arm that comes up with it from below: the forearm under a hand held at the chin
    moves as fast as the hand does while it rises, and it is part of what the prompt asks for, not motion
    elsewhere. The hand is in one part of three (two of them empty): each part is judged on its own, as
    a head turn is judged to either side. Without the parts' masks (`hand_area_left`, `arm_left`, ...):
    hand_area as a whole."""
    if not all(f"hand_area_{part}" in observed.masks for part in HAND_PARTS):
        return judge_flow(observed, control, "hand_area", named)
    named = [*named, "hand_area"]
    details = []
    for part in HAND_PARTS:
        check = judge_flow(observed, control, f"hand_area_{part}", [*named, f"arm_{part}"])
        if check.passed:
            return check
        details.append(check)
    best = max(details, key=lambda check: check.score)
    return fm.Check(False, best.score, " | ".join(check.detail for check in details))


def judge_still(observed: Observed, region: str) -> fm.Check:
    """Stillness: `region` moves at < MIN_SPEED short sides/s (camera-compensated, as `judge_flow`)."""
    per_second = region_speed(observed, observed.small(region)) * observed.clip.fps / observed.clip.short_side
    detail = f"{region} moves {per_second:.2%} of short side/s (still: < {MIN_SPEED:.1%})"
    return fm.Check(per_second < MIN_SPEED, per_second, detail)


def judge_change(observed: Observed, control: Observed | None, region: str, named: Iterable[str]) -> fm.Check:
    """Drawn when `region`'s colour changes by >= MIN_CHANGE levels (`region_change`), >= MIN_RATIO x
    outside the `named` regions and >= MIN_RATIO x the same region in the control."""
    inside = region_change(observed, observed.small(region))
    outside_region = outside_mask(observed, named)
    outside = region_change(observed, outside_region) if outside_region is not None else None
    ctrl = region_change(control, control.small(region)) if control is not None else None
    ratios_ok, ratios = _ratios(inside, outside, ctrl, floor=CHANGE_FLOOR)
    detail = f"{region} changes {inside:.1f} levels (>= {MIN_CHANGE:g})" + (f", {ratios}" if ratios else "")
    return fm.Check(inside >= MIN_CHANGE and ratios_ok, inside, detail)


def camera_still(observed: Observed) -> fm.Check:
    """No camera move: robust affine fits on the still regions (the border ring without them), summed
    over the clip, scale by <= MAX_CAMERA_SCALE and drift by <= MAX_CAMERA_SHIFT of the short side."""
    clip = observed.clip
    still = observed.masks.get("still")
    weights = clip.weights * (clip.small_mask(still) if still is not None else fm._ring_mask(*clip.weights.shape))
    if float(weights.sum()) < 0.005 * weights.size:
        weights = clip.weights * fm._ring_mask(*clip.weights.shape)
    zoom, shift = fm._global_motion(clip, weights)
    scale = float(np.abs(np.cumsum(zoom)).max())
    drift = float(np.linalg.norm(np.cumsum(shift, axis=0), axis=1).max()) / clip.short_side
    passed = scale <= MAX_CAMERA_SCALE and drift <= MAX_CAMERA_SHIFT
    detail = (
        f"camera scale change {scale:.2%} (<= {MAX_CAMERA_SCALE:.0%}), drift {drift:.2%} of short side "
        f"(<= {MAX_CAMERA_SHIFT:.0%})"
    )
    return fm.Check(passed, max(scale / MAX_CAMERA_SCALE, drift / MAX_CAMERA_SHIFT), detail)
