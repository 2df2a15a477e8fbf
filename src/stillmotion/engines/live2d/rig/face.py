"""The face's deformers: the eyes (blink, wink, look) and the mouth (smile, open, talk, laugh). What a
warp cannot draw they hand to the face layers as curves: eyelid closure, mouth opening, smile. A laugh
bobs the head (`head._nod_basis`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Final

import numpy as np

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.regions import Side, Vector, falloff, rise, vector
from stillmotion.engines.live2d.rig.head import _nod_basis
from stillmotion.engines.live2d.rig.terms import FieldContext, Term, TrackMotion, _need_geometry, _sign

# Peak displacement of each action at amplitude 1.0, as a fraction of the part it moves.
EYE_LOOK_EYE_W: Final = 0.16
EYE_LOOK_EYE_H: Final = 0.25
SMILE_MOUTH_W: Final = 0.14
FROWN_MOUTH_W: Final = 0.12  # how far a frown pulls the corners down, a share of the mouth's width at amplitude 1
OPEN_MOUTH_H: Final = 0.45
# A line-drawn mouth is a few pixels tall: the jaw drops by at least this share of the face's height
# per unit of OPEN_MOUTH_H, so that an open mouth shows on any face.
JAW_MIN_FACE_H: Final = 0.08
# "A natural, clearly visible motion" in the plan's amplitude scale: depth of a blink, opening of a mouth.
NATURAL_AMPLITUDE: Final = 0.7


# eyes ------------------------------------------------------------------------------------------------


def _blink_depth(amplitude: float) -> float:
    """How far the lid comes down: fully from a natural amplitude up, a half-blink at the weakest."""
    return min(1.0, max(0.4, amplitude / NATURAL_AMPLITUDE))


def _blink(track: Track, context: FieldContext) -> TrackMotion:
    closure = motion.event_curve(track, context.clock, context.rng) * _blink_depth(track.amplitude)
    sides: tuple[Side, ...] = ("left", "right")
    # The eyelid layers close the eyes (`rig.eyelids`); no warp around them (it dragged the skin and the
    # bangs' edge beside the eyes down with the lid).
    return TrackMotion(track, [], lids=dict.fromkeys(sides, closure))


def _close(track: Track, context: FieldContext) -> TrackMotion:
    """Eyes closed and held (laughing with the eyes shut, falling asleep): the lids come down like a blink's and
    stay down for the pose."""
    closure = motion.pose_curve(track, context.clock, rise_s=0.25) * _blink_depth(track.amplitude)
    sides: tuple[Side, ...] = ("left", "right")
    return TrackMotion(track, [], lids=dict.fromkeys(sides, closure))


def _wink(track: Track, context: FieldContext) -> TrackMotion:
    geometry, _, _, _ = _need_geometry(context)
    side: Side = "left" if track.direction == "left" else "right"
    closure = motion.event_curve(track, context.clock, context.rng, hold_s=motion.WINK_HOLD_S)
    closure = closure * _blink_depth(track.amplitude)
    eye = geometry.eye(side)
    # The cheek under a winking eye rises with it.
    cheek = context.grid.gaussian(eye.cx, eye.y + 1.6 * eye.h, 0.6 * eye.w, 0.8 * eye.h)
    cheek_basis = vector(0.0, -0.25 * eye.h * cheek, context.grid.shape)
    return TrackMotion(track, [Term(cheek_basis, closure)], lids={side: closure})


def _eye_look(track: Track, context: FieldContext) -> TrackMotion:
    geometry, _, _, _ = _need_geometry(context)
    grid = context.grid
    basis = np.zeros((*grid.shape, 2), dtype=np.float32)
    for side in ("left", "right"):
        eye = geometry.eye(side)
        # The iris moves, the corners of the eye stay: a bump over the eye box.
        cells = 2.0 * grid.cell_px
        radius = grid.ellipse_radius(eye.cx, eye.cy, max(0.6 * eye.w, cells), max(0.9 * eye.h, cells))
        weight = falloff(radius, 0.15, 1.0)
        if track.direction in ("left", "right"):
            basis[..., 0] += EYE_LOOK_EYE_W * eye.w * track.amplitude * _sign(track.direction, "left") * weight
        else:
            basis[..., 1] += EYE_LOOK_EYE_H * eye.h * track.amplitude * _sign(track.direction, "up") * weight
    return TrackMotion(track, [Term(basis, motion.pose_curve(track, context.clock))])


# mouth -----------------------------------------------------------------------------------------------


def _smile_basis(context: FieldContext, amplitude: float) -> Vector:
    geometry, _, _, _ = _need_geometry(context)
    grid = context.grid
    mouth = geometry.mouth
    basis = np.zeros((*grid.shape, 2), dtype=np.float32)
    amount = SMILE_MOUTH_W * mouth.w * amplitude
    for outward, corner_x in ((-1.0, mouth.x + 0.04 * mouth.w), (1.0, mouth.x + 0.96 * mouth.w)):
        corner = grid.gaussian(corner_x, mouth.cy, 0.32 * mouth.w, 0.34 * mouth.w)
        basis[..., 0] += 0.35 * outward * amount * corner
        basis[..., 1] -= amount * corner
        cheek = grid.gaussian(
            corner_x + 0.1 * outward * mouth.w, mouth.cy - 0.9 * mouth.h, 0.35 * mouth.w, 0.35 * mouth.w
        )
        basis[..., 1] -= 0.35 * amount * cheek
    return basis


def _frown_basis(context: FieldContext, amplitude: float) -> Vector:
    """The corners of the mouth pulled down and a little in, the middle of the lower lip pushed up a little:
    the mouth of sadness or anger (a smile's opposite, with no cheek raised)."""
    geometry, _, _, _ = _need_geometry(context)
    grid = context.grid
    mouth = geometry.mouth
    basis = np.zeros((*grid.shape, 2), dtype=np.float32)
    amount = FROWN_MOUTH_W * mouth.w * amplitude
    for inward, corner_x in ((1.0, mouth.x + 0.04 * mouth.w), (-1.0, mouth.x + 0.96 * mouth.w)):
        corner = grid.gaussian(corner_x, mouth.cy, 0.3 * mouth.w, 0.34 * mouth.w)
        basis[..., 0] += 0.2 * inward * amount * corner
        basis[..., 1] += amount * corner
    middle = grid.gaussian(mouth.x + 0.5 * mouth.w, mouth.cy + 0.4 * mouth.h, 0.22 * mouth.w, 0.3 * mouth.w)
    basis[..., 1] -= 0.3 * amount * middle
    return basis


def _jaw_basis(context: FieldContext, amplitude: float) -> Vector:
    geometry, _, _, _ = _need_geometry(context)
    grid = context.grid
    mouth = geometry.mouth
    lip_line = mouth.cy
    # A line-drawn mouth is only as tall as its line: measure the jaw by the face instead.
    mouth_h = max(mouth.h, JAW_MIN_FACE_H * geometry.face.h)
    # Everything below the lip line drops, the chin with it, fading out sideways and further down.
    below = rise(grid.y, lip_line - 0.5 * mouth_h, lip_line + 0.7 * mouth_h)
    jaw = grid.gaussian(mouth.cx, lip_line + 0.6 * mouth_h, 0.6 * mouth.w, 1.6 * mouth_h)
    return vector(0.0, OPEN_MOUTH_H * mouth_h * amplitude * below * jaw, grid.shape)


def _opening(amplitude: float) -> float:
    return min(1.0, amplitude / NATURAL_AMPLITUDE)


def _smile(track: Track, context: FieldContext) -> TrackMotion:
    pose = motion.pose_curve(track, context.clock)
    return TrackMotion(
        track, [Term(_smile_basis(context, track.amplitude), pose)], smile=pose * track.amplitude / NATURAL_AMPLITUDE
    )


def _frown(track: Track, context: FieldContext) -> TrackMotion:
    pose = motion.pose_curve(track, context.clock)
    # A drawn mouth's line is bent down as a smile bends it up.
    frown = -pose * track.amplitude / NATURAL_AMPLITUDE
    return TrackMotion(track, [Term(_frown_basis(context, track.amplitude), pose)], smile=frown)


def _blush(track: Track, context: FieldContext) -> TrackMotion:
    """The cheeks flush (painted by `rig.blush`); nothing moves."""
    _need_geometry(context)
    pose = motion.pose_curve(track, context.clock)
    return TrackMotion(track, blush=pose * min(1.0, track.amplitude / NATURAL_AMPLITUDE))


def _sparkle(track: Track, context: FieldContext) -> TrackMotion:
    """Glints twinkle in the eyes (painted by `rig.sparkle`); nothing moves."""
    _need_geometry(context)
    pose = motion.pose_curve(track, context.clock)
    return TrackMotion(track, sparkle=pose * min(1.0, track.amplitude / NATURAL_AMPLITUDE))


def _tear(track: Track, context: FieldContext) -> TrackMotion:
    """A tear runs down from under one eye (painted by `rig.tear`) over the track's span: the viewer's right eye
    unless the track names the other. Nothing moves."""
    _need_geometry(context)
    side: Side = "left" if track.direction == "left" else "right"
    once = replace(context.clock, loop=False)  # down the cheek, never back up
    bounds = motion.span(track, once)
    if not context.clock.loop or bounds is None:
        running = motion.ramp_curve(track, once)
    else:
        # In a loop the tear runs down over the first 80% of its span (within the clip) and fades out over the
        # rest (values above 1 are `rig.tear`'s fading; 2 is gone), so that the loop's seam never cuts a tear.
        start, end = bounds
        fade_from = start + 0.8 * (end - start)
        fading = np.clip((once.times - fade_from) / (end - fade_from), 0.0, 1.0)
        running = np.where(fading > 0.0, 1.0 + fading, motion.ramp_curve(replace(track, end_s=fade_from), once))
    return TrackMotion(track, tears={side: running})


def _open(track: Track, context: FieldContext) -> TrackMotion:
    pose = motion.pose_curve(track, context.clock)
    return TrackMotion(
        track, [Term(_jaw_basis(context, track.amplitude), pose)], mouth_open=pose * _opening(track.amplitude)
    )


def _talk(track: Track, context: FieldContext) -> TrackMotion:
    opening = 0.7 * motion.talk_curve(track, context.clock, context.rng)
    return TrackMotion(
        track, [Term(_jaw_basis(context, track.amplitude), opening)], mouth_open=opening * _opening(track.amplitude)
    )


def _laugh(track: Track, context: FieldContext) -> TrackMotion:
    clock = context.clock
    envelope = motion.fade_curve(track, clock, fade_s=0.3)
    ha_hz = clock.frequency(float(context.rng.uniform(3.6, 4.6)))
    phase = float(context.rng.uniform(0.0, motion.TWO_PI))
    # "Ha-ha-ha": the jaw pulses around a wide opening and the head bobs with each pulse.
    pulse = 0.5 - 0.5 * np.cos(motion.TWO_PI * ha_hz * clock.times + phase)
    opening = envelope * (0.55 + 0.45 * pulse)
    bob = envelope * pulse
    terms = [
        Term(_jaw_basis(context, track.amplitude), opening),
        Term(_smile_basis(context, track.amplitude), envelope),
        Term(_nod_basis(context, 0.25 * track.amplitude), bob),
    ]
    return TrackMotion(
        track,
        terms,
        mouth_open=opening * _opening(track.amplitude),
        smile=envelope * track.amplitude / NATURAL_AMPLITUDE,
    )
