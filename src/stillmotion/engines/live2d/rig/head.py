"""The head's deformers, its angles as a rig has them: nod, shake, tilt (roll), turn (yaw), look
(pitch) and idle, with their bases. Every head track takes its hair along (`hair._hair_follows`); the
idle also sways the body (`body._sway_basis`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Final

import numpy as np

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Curve
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.regions import Field, Vector, falloff, vector
from stillmotion.engines.live2d.rig.body import _sway_basis
from stillmotion.engines.live2d.rig.hair import _hair_follows
from stillmotion.engines.live2d.rig.terms import (
    FieldContext,
    Term,
    TrackMotion,
    _cycles,
    _down_and_back,
    _need_geometry,
    _sign,
    _there_and_back,
)

# Peak displacement of each action at amplitude 1.0, as a fraction of the part it moves.
NOD_FACE_H: Final = 0.16
SHAKE_FACE_W: Final = 0.08
TILT_DEG: Final = 8.0
TURN_FACE_W: Final = 0.115
HEAD_LOOK_FACE_H: Final = 0.06
# Idle like a rig (Live2D's conventions): head angles X / Y / Z and body angle, degrees at amplitude 1.0,
# each on its own period.
IDLE_YAW_DEG: Final = 7.5
IDLE_PITCH_DEG: Final = 4.0
IDLE_ROLL_DEG: Final = 5.0
IDLE_BODY_DEG: Final = 2.0
IDLE_YAW_PERIOD_S: Final = 6.53
IDLE_PITCH_PERIOD_S: Final = 3.53
IDLE_ROLL_PERIOD_S: Final = 5.53
IDLE_BODY_PERIOD_S: Final = 15.0
# Out of a loop the idle eases in from the picture's pose over this long (a second or two, as a rig wakes).
IDLE_EASE_IN_S: Final = 2.0
# A head that turns (yaw) carries the layers nearer the viewer further: bangs lie in front of the face,
# back hair behind the head, side locks in between (parallax).
YAW_GAINS: Final[Mapping[str, float]] = {"back_hair": 0.35, "side_locks": 0.5, "bangs": 1.15}


# head ------------------------------------------------------------------------------------------------


def _nod_basis(context: FieldContext, amplitude: float) -> Vector:
    geometry, head, _, _ = _need_geometry(context)
    grid = context.grid
    face = geometry.face
    neck_y = geometry.neck[1]
    # A pitch about the neck, seen from the front: the higher a point of the head, the further it
    # travels, so the face also shortens a little as it dips.
    lever = np.clip((np.float32(neck_y) - grid.y) / np.float32(max(neck_y - face.y, 1.0)), 0.0, 1.4)
    return vector(0.0, NOD_FACE_H * face.h * amplitude * head * lever, grid.shape)


def _nod(track: Track, context: FieldContext) -> TrackMotion:
    phase = _cycles(track, context, None)
    return _hair_follows(
        TrackMotion(track, [Term(_nod_basis(context, track.amplitude), _down_and_back(phase))]), context
    )


def _yaw_weight(context: FieldContext) -> Field:
    """How far each point of the head travels when it turns (yaw), as a share of the nose's travel: the
    head as an ellipsoid, so a point moves with its depth `z`. The middle of the face (nose, the near
    features) moves most, the outline least: the side the head turns towards compresses, the other side
    opens up, as in a 2.5D rotation. Fades out below the chin with the head weight."""
    geometry, head, _, _ = _need_geometry(context)
    grid = context.grid
    face = geometry.face
    # The ellipsoid's depth profile, smoothed (its exact sqrt is infinitely steep at the outline, beyond
    # any stretch limit).
    depth = falloff(grid.ellipse_radius(face.cx, face.cy, 0.55 * face.w, 0.6 * face.h), 0.0, 1.15)
    return np.asarray(head * (0.3 + 0.7 * depth), dtype=np.float32)


def _shake(track: Track, context: FieldContext) -> TrackMotion:
    geometry, _, _, _ = _need_geometry(context)
    basis = vector(SHAKE_FACE_W * geometry.face.w * track.amplitude * _yaw_weight(context), 0.0, context.grid.shape)
    curve = _there_and_back(_cycles(track, context, None))
    return _hair_follows(TrackMotion(track, [Term(basis, curve, gains=YAW_GAINS)]), context)


def _tilt(track: Track, context: FieldContext) -> TrackMotion:
    # Image y points down, so a positive angle turns the top of the head towards the viewer's right.
    theta = math.radians(TILT_DEG) * track.amplitude * _sign(track.direction, "left")
    pose = motion.pose_curve(track, context.clock)
    return _hair_follows(TrackMotion(track, _roll_terms(context, theta * pose)), context)


def _roll_terms(context: FieldContext, angle: Curve) -> list[Term]:
    """The head rolling by `angle` `(T,)` radians about the neck (a tilt)."""
    geometry, narrow_head, _, head_radius = _need_geometry(context)
    grid = context.grid
    face = geometry.face
    # Far from the neck a rotation travels far, so its weight must fade out over a longer way than the
    # other head motions' to stay within the stretch limit: the air around the head turns with it a little.
    below_chin = falloff(grid.y, face.y + face.h, max(geometry.neck[1] + 0.45 * face.h, face.y + face.h + 1.0))
    head = np.maximum(narrow_head, falloff(head_radius, 1.0, 3.2) * below_chin)
    nx, ny = geometry.neck
    rel_x = grid.x - np.float32(nx)
    rel_y = grid.y - np.float32(ny)
    # An exact rotation about the neck, (R(theta) - I) (p - neck), written as two terms so that it stays
    # a sum of fixed bases: cos(theta) - 1 scales the radial one, sin(theta) the tangential one.
    radial = vector(rel_x * head, rel_y * head, grid.shape)
    tangential = vector(-rel_y * head, rel_x * head, grid.shape)
    return [Term(radial, np.cos(angle) - 1.0), Term(tangential, np.sin(angle))]


def _turn(track: Track, context: FieldContext) -> TrackMotion:
    geometry, _, _, _ = _need_geometry(context)
    amount = TURN_FACE_W * geometry.face.w * track.amplitude * _sign(track.direction, "left")
    basis = vector(amount * _yaw_weight(context), 0.0, context.grid.shape)
    pose = motion.pose_curve(track, context.clock)
    return _hair_follows(TrackMotion(track, [Term(basis, pose, gains=YAW_GAINS)]), context)


def _face_viewer(track: Track, context: FieldContext) -> TrackMotion:
    """"Turns to the camera" on a picture that already faces it (frame 0 is the input): the head turns a little
    aside over the first part of the span and comes back, so that the clip ends facing the viewer."""
    start, end = track.start_s, track.end_s
    aside = replace(
        track,
        action="turn",
        direction="right",
        amplitude=min(track.amplitude * 1.1, 1.0),  # as far as a turn asked for, so that the return is seen
        end_s=start + 0.7 * (end - start),
    )
    return replace(_turn(aside, context), track=track)


def _pitch_basis(context: FieldContext, amount_px: float) -> Vector:
    """The head looking down by `amount_px` at the nose (up for a negative amount): the features move
    further than the outline."""
    _, head, face_inner, _ = _need_geometry(context)
    return vector(0.0, amount_px * (0.3 * head + 0.7 * face_inner * head), context.grid.shape)


def _head_look(track: Track, context: FieldContext) -> TrackMotion:
    geometry, _, _, _ = _need_geometry(context)
    amount = HEAD_LOOK_FACE_H * geometry.face.h * track.amplitude * _sign(track.direction, "up")
    pose = motion.pose_curve(track, context.clock)
    return _hair_follows(TrackMotion(track, [Term(_pitch_basis(context, amount), pose)]), context)


def _head_idle(track: Track, context: FieldContext) -> TrackMotion:
    """A rig's idle: head angles X / Y / Z (yaw, pitch, roll) and the body's angle, each a sine on its own
    period (Live2D's are incommensurate, so the motion never visibly repeats; in a loop each period is
    fitted to divide the clip). Signs are seeded; every curve starts at 0 (frame 0 is the input)."""
    geometry, _, _, _ = _need_geometry(context)
    clock = context.clock
    face = geometry.face
    amplitude = track.amplitude

    # Out of a loop the motion eases in from the picture's pose; a loop has no start.
    ease_in = np.ones_like(clock.times) if clock.loop else motion.smoothstep_array(clock.times / IDLE_EASE_IN_S)

    def wave(period_s: float) -> Curve:
        sign = 1.0 if context.rng.random() < 0.5 else -1.0
        return sign * ease_in * np.sin(motion.TWO_PI * clock.frequency(1.0 / period_s) * clock.times)

    yaw_px = 0.5 * face.w * math.sin(math.radians(IDLE_YAW_DEG)) * amplitude
    pitch_px = 0.5 * face.h * math.sin(math.radians(IDLE_PITCH_DEG)) * amplitude
    roll = math.radians(IDLE_ROLL_DEG) * amplitude
    terms = [
        Term(vector(yaw_px * _yaw_weight(context), 0.0, context.grid.shape), wave(IDLE_YAW_PERIOD_S), gains=YAW_GAINS),
        Term(_pitch_basis(context, pitch_px), wave(IDLE_PITCH_PERIOD_S)),
        *_roll_terms(context, roll * wave(IDLE_ROLL_PERIOD_S)),
    ]
    # The body's angle: the shoulders sway about a pivot below the frame.
    shoulders_px = math.tan(math.radians(IDLE_BODY_DEG)) * amplitude * max(context.grid.height - geometry.neck[1], 1.0)
    terms.append(Term(_sway_basis(context, shoulders_px), wave(IDLE_BODY_PERIOD_S), group="body"))
    return _hair_follows(TrackMotion(track, terms), context)
