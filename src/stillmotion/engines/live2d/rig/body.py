"""The body's deformers: breathe, sway, lean and bounce, about a pivot below the frame, and the no-face
fallbacks (head tracks drawn as whole-subject motion when no face was found). Their bases (`_sway_basis`,
`_bounce_basis`) also serve the head's idle (the body's angle)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import numpy as np

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Curve
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.regions import Field, Regions, Vector, falloff, rise, vector
from stillmotion.engines.live2d.rig.terms import (
    FieldContext,
    Term,
    TrackMotion,
    _cycles,
    _down_and_back,
    _name,
    _sign,
    _there_and_back,
)

# Breathing at a gentle amplitude (0.5, what the optimizer adds) lifts the shoulders by this share of
# the face (or, without a face, of the frame); deeper breaths grow faster than the amplitude, so that
# "breathes deeply" is clearly seen while idle breathing stays calm.
BREATHE_FACE_H: Final = 0.013
BREATHE_FRAME_H: Final = 0.0045
GENTLE_BREATH: Final = 0.5
BREATH_DEPTH_POWER: Final = 2.0
BREATH_NECK_FACE_H: Final = 0.15  # the least span below the chin over which the lift grows to full
# Sway and bounce move the shoulders by this share of the face at amplitude 1.0 (of the frame without one).
SWAY_FACE_H: Final = 0.09
SWAY_FRAME_W: Final = 0.011
LEAN_FRAME_W: Final = 0.035
LEAN_SCALE: Final = 0.05
BOUNCE_FACE_H: Final = 0.15
BOUNCE_FRAME_H: Final = 0.02
# A bounce's lift fades out above, into the top strip of the frame, with at most this strain; towards the
# sides it fades over this share of the width (wider than SIDE_HOLD_FRAME_W: the shoulders' outline meets
# the side fade, and a steep one there would let the stretch limiter cut the whole bounce).
BOUNCE_TOP_STRAIN: Final = 0.15
BOUNCE_SIDE_FRAME_W: Final = 0.4
SIDE_HOLD_FRAME_W: Final = 0.18
TOP_HOLD_FRAME_H: Final = 0.15
# Natural rhythms, used when a track leaves `repeats` at 1.
BREATH_PERIOD_S: Final = 3.2
# The longest sway period: a sway drawn slower than this over a short clip reads as a lean.
SWAY_PERIOD_S: Final = 2.4
BOUNCE_PERIOD_S: Final = 0.8


# body ------------------------------------------------------------------------------------------------


def _shoulder_line(regions: Regions) -> float:
    """y of the shoulders: what a body motion must move in full for it to be seen."""
    if regions.geometry is not None:
        return regions.geometry.neck[1] + 0.25 * regions.geometry.face.h
    box = regions.subject_box
    return box.y + 0.3 * box.h


def _chest_band(regions: Regions) -> tuple[float, float]:
    """(top, bottom) y of the band that stretches when breathing: the shoulders (which rise in full, with
    everything above them) to the lower chest (which stays)."""
    if regions.geometry is not None:
        face = regions.geometry.face
        return _shoulder_line(regions), regions.geometry.neck[1] + 2.2 * face.h
    box = regions.subject_box
    return box.y + 0.3 * box.h, box.y + 0.85 * box.h


def _height_ramp(context: FieldContext) -> Field:
    """0 at the bottom edge, growing towards the top of the subject: the feet (or the frame's cut) stay."""
    grid = context.grid
    top = min(context.regions.subject_box.y, 0.6 * grid.height)
    u = np.clip((np.float32(grid.height - 1) - grid.y) / np.float32(max(grid.height - 1 - top, 1.0)), 0.0, 1.0)
    return np.asarray(np.power(u, 1.3), dtype=np.float32)


def _body_lever(context: FieldContext) -> Field:
    """0 at the bottom edge, 1 from the shoulders up: a body swaying about a pivot below the frame, whose
    shoulders travel (nearly) as far as its head. Without a face, `_height_ramp`."""
    regions = context.regions
    if regions.geometry is None:
        return _height_ramp(context)
    grid = context.grid
    bottom = np.float32(grid.height - 1)
    top = min(_shoulder_line(regions), 0.8 * grid.height)
    # Level at the bottom edge (which holds) and at the shoulders (which carry the head in full).
    return rise(bottom - grid.y, 0.0, float(bottom - top))


_BREATH_GAINS: Final[Mapping[str, float]] = {"face": 0.0, "bangs": 0.0, "back_hair": 0.0}


def _breathe(track: Track, context: FieldContext) -> TrackMotion:
    grid = context.grid
    regions = context.regions
    top, bottom = _chest_band(regions)
    above_band = falloff(grid.y, top, max(bottom, top + 1.0))
    depth = (track.amplitude / GENTLE_BREATH) ** BREATH_DEPTH_POWER
    if regions.geometry is not None:
        face = regions.geometry.face
        gentle_px = BREATHE_FACE_H * face.h
        # The neck takes up the lift between the shoulders and the chin: what lies just under the jaw (the hair
        # beside the neck, the jaw's outline over it) stays with the still head instead of sliding over it.
        chin = face.y + face.h
        above_band = above_band * rise(grid.y, chin, max(top, chin + BREATH_NECK_FACE_H * face.h))
    else:
        gentle_px = BREATHE_FRAME_H * grid.height
    lift = gentle_px * depth * above_band * regions.subject
    period = BREATH_PERIOD_S * float(context.rng.uniform(0.9, 1.1))
    # At least one whole breath, in and out, however short the span (`cycle_count` sees to it).
    curve = _down_and_back(_cycles(track, context, period))
    # The chest and shoulders rise; the head and the hair around it stay (the neck takes it up).
    return TrackMotion(track, [Term(vector(0.0, -lift, grid.shape), curve, gains=_BREATH_GAINS)])


def _sway_basis(context: FieldContext, amount_px: float) -> Vector:
    weight = _body_lever(context) * context.regions.carried
    return vector(amount_px * weight, 0.0, context.grid.shape)


def _sway_phase(track: Track, context: FieldContext) -> Curve:
    """Half cycles of a sway over the span: enough that the period is at most SWAY_PERIOD_S (so a short clip
    still sways from side to side, and back), at least one whole cycle. `sin` ends at rest after any
    number of half cycles. An explicit count (`repeats` > 1) is kept."""
    if track.repeats > 1:
        return _cycles(track, context, None)
    bounds = motion.span(track, context.clock)
    if bounds is None:
        return np.zeros_like(context.clock.times)
    longest = SWAY_PERIOD_S * float(context.rng.uniform(0.9, 1.1))
    half_cycles = max(2, math.ceil(2.0 * (bounds[1] - bounds[0]) / longest))
    return motion.cycle_phase(track, context.clock, cycles=0.5 * half_cycles)


def _sway(track: Track, context: FieldContext) -> TrackMotion:
    regions = context.regions
    if regions.geometry is not None:
        amount = SWAY_FACE_H * regions.geometry.face.h * track.amplitude
    else:
        amount = SWAY_FRAME_W * context.grid.width * track.amplitude
    basis = _sway_basis(context, amount)
    return TrackMotion(track, [Term(basis, _there_and_back(_sway_phase(track, context)))])


def _lean(track: Track, context: FieldContext) -> TrackMotion:
    grid = context.grid
    pose = motion.pose_curve(track, context.clock)
    if track.direction in ("forward", "back"):
        # Towards the camera the upper body grows about its base; away from it, it shrinks.
        weight = _height_ramp(context) * context.regions.subject
        base_x = context.regions.subject_box.cx
        amount = LEAN_SCALE * track.amplitude * _sign(track.direction, "back")
        rel_x = grid.x - np.float32(base_x)
        rel_y = grid.y - np.float32(grid.height - 1)
        return TrackMotion(track, [Term(vector(amount * rel_x * weight, amount * rel_y * weight, grid.shape), pose)])
    amount = LEAN_FRAME_W * grid.width * track.amplitude * _sign(track.direction, "left")
    weight = _height_ramp(context) * context.regions.subject
    return TrackMotion(track, [Term(vector(amount * weight, 0.0, grid.shape), pose)])


def _side_hold(context: FieldContext) -> Field:
    """0 at the left and right edges of the frame, 1 from SIDE_HOLD_FRAME_W of the width inwards: where the
    frame cuts the subject, it holds it, as the bottom edge does. A whole-body motion that reached the
    side edges would read as the camera moving rather than the subject."""
    return rise(context.regions.inside_x, 0.0, SIDE_HOLD_FRAME_W * context.grid.width)


def _top_hold(context: FieldContext, amount_px: float) -> Field:
    """0 in the top TOP_HOLD_FRAME_H of the frame, rising to 1 below it over a band wide enough for the
    lift to stretch the content by at most BOUNCE_TOP_STRAIN: a head that reaches into the top strip of the frame lifts
    less at its crown and more at the chin, like the frame's other edges holding what they cut (a
    whole-body motion along the top edge reads as the camera moving). A subject lower in the frame
    rises rigidly: the band then lies in the air above it."""
    grid = context.grid
    start = TOP_HOLD_FRAME_H * grid.height
    band = max(abs(amount_px) * 1.5 / BOUNCE_TOP_STRAIN, 1.0)
    end = max(start + band, context.regions.subject_box.y)
    start = max(start, end - band)
    return rise(grid.y, start, end)


def _torso_carried(context: FieldContext) -> Field:
    """The subject, its torso's outline moving in full (`Regions.carried`); the head keeps its own soft
    edge, so that the scene above it stays put."""
    regions = context.regions
    shoulders = _shoulder_line(regions)
    torso = rise(context.grid.y, shoulders - 0.6 * (shoulders - regions.subject_box.y), shoulders)
    return np.asarray(regions.subject + torso * (regions.carried - regions.subject), dtype=np.float32)


def _bounce_basis(context: FieldContext, amount_px: float) -> Vector:
    """The whole subject, head and torso together, lifted by `amount_px`; only the edges of the frame
    hold it back (`Regions.pin_to_border` fades the lift out towards the bottom over a band wide enough
    for the stretch, BOUNCE_SIDE_FRAME_W towards the sides, `_top_hold` towards the top)."""
    side = rise(context.regions.inside_x, 0.0, BOUNCE_SIDE_FRAME_W * context.grid.width)
    weight = _torso_carried(context) * side * _top_hold(context, amount_px)
    return vector(0.0, -amount_px * weight, context.grid.shape)


def _bounce(track: Track, context: FieldContext) -> TrackMotion:
    regions = context.regions
    if regions.geometry is not None:
        amount = BOUNCE_FACE_H * regions.geometry.face.h * track.amplitude
    else:
        amount = BOUNCE_FRAME_H * context.grid.height * track.amplitude
    basis = _bounce_basis(context, amount)
    return TrackMotion(track, [Term(basis, _down_and_back(_cycles(track, context, BOUNCE_PERIOD_S)))])


# no face ---------------------------------------------------------------------------------------------


def _without_face(track: Track, context: FieldContext) -> TrackMotion:
    """Head tracks become gentle whole-subject motion; eye, mouth and hair tracks are skipped."""
    name = _name(track)
    grid = context.grid
    half = 0.5 * track.amplitude
    if (track.part, track.action) in (("head", "nod"), ("mouth", "laugh")):
        basis = _bounce_basis(context, 0.5 * BOUNCE_FRAME_H * grid.height * half)
        cycles = _cycles(track, context, BOUNCE_PERIOD_S if track.action == "laugh" else None)
        return TrackMotion(
            track,
            [Term(basis, _down_and_back(cycles))],
            note=f"{name}: no face found; drawn as a gentle bob of the subject",
        )
    if (track.part, track.action) == ("head", "shake"):
        basis = _sway_basis(context, 2.0 * SWAY_FRAME_W * grid.width * half)
        return TrackMotion(
            track,
            [Term(basis, _there_and_back(_cycles(track, context, None)))],
            note=f"{name}: no face found; drawn as a sway of the subject",
        )
    if (track.part, track.action) in (("head", "tilt"), ("head", "turn")):
        amount = 0.5 * LEAN_FRAME_W * grid.width * half * _sign(track.direction, "left")
        return TrackMotion(
            track,
            [Term(_sway_basis(context, amount), motion.pose_curve(track, context.clock))],
            note=f"{name}: no face found; drawn as a slight lean of the subject",
        )
    return TrackMotion(track, note=f"{name}: no face found; skipped")
