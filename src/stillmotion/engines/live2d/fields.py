"""Where things move: each track of the plan as a smooth displacement field on a coarse grid.

A field is a sum of terms `basis(x, y) * curve(t)`: the basis (where, which way, how many pixels) is
built once per clip from the parts of the image, the curve (`motion.py`) says how strongly it acts at
each frame. Per frame the renderer only forms `sum_k curve_k[f] * basis_k`, a few multiply-adds on a
grid of ~100x140 nodes.

Conventions:
* Fields are *content displacements* in image pixels: +x moves content right, +y moves it down. The
  renderer samples the image at `q - D(q)` (a backward warp; fine for displacements this smooth).
* Where the parts are (head, eyes, mouth, hair, body) comes from `regions.py`, on its coarse grid.
* No local field moves content across the image border: x displacement fades to 0 towards the left
  and right edges, y displacement towards the top and bottom (`Regions.pin_to_border`), over a band
  wide enough for the displacement to fade without overstretching. Content may slide along an edge
  (a hat at the top edge may shake), but only camera moves reveal what lies beyond the image.
* Each track's strength is capped so that, with the camera's zoom, the local stretch of the image stays
  within 0.7x .. 1.4x (`StretchLimiter`); the cap is reported when it bites.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Clock, Curve
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.regions import (
    FaceGeometry,
    Field,
    Grid,
    Regions,
    Side,
    Vector,
    falloff,
    rise,
    vector,
)
from stillmotion.engines.live2d.rig import physics
from stillmotion.engines.live2d.rig.layers import LAYER_GAINS

# Content stretch limits (the inverse of the sampling map's singular values), with headroom for the
# piecewise-linear upsampling of the coarse map.
MIN_STRETCH: Final = 0.7
MAX_STRETCH: Final = 1.4
_SAMPLING_LOW: Final = 1.0 / MAX_STRETCH + 0.02
_SAMPLING_HIGH: Final = 1.0 / MIN_STRETCH - 0.04

# Peak displacement of each action at amplitude 1.0, as a fraction of the part it moves.
NOD_FACE_H: Final = 0.16
SHAKE_FACE_W: Final = 0.08
TILT_DEG: Final = 8.0
TURN_FACE_W: Final = 0.09
HEAD_LOOK_FACE_H: Final = 0.06
EYE_LOOK_EYE_W: Final = 0.16
EYE_LOOK_EYE_H: Final = 0.25
BLINK_EYE_H: Final = 0.3  # the warp part of a blink; the eyelid layer does the covering
SMILE_MOUTH_W: Final = 0.14
OPEN_MOUTH_H: Final = 0.45
# A line-drawn mouth is a few pixels tall: the jaw drops by at least this share of the face's height
# per unit of OPEN_MOUTH_H, so that an open mouth shows on any face.
JAW_MIN_FACE_H: Final = 0.08
# Breathing at a gentle amplitude (0.5, what the optimizer adds) lifts the shoulders by this share of
# the face (or, without a face, of the frame); deeper breaths grow faster than the amplitude, so that
# "breathes deeply" is clearly seen while idle breathing stays calm.
BREATHE_FACE_H: Final = 0.013
BREATHE_FRAME_H: Final = 0.0045
GENTLE_BREATH: Final = 0.5
BREATH_DEPTH_POWER: Final = 2.0
# Sway and bounce move the shoulders by this share of the face at amplitude 1.0 (of the frame without one).
SWAY_FACE_H: Final = 0.09
SWAY_FRAME_W: Final = 0.011
LEAN_FRAME_W: Final = 0.035
LEAN_SCALE: Final = 0.05
BOUNCE_FACE_H: Final = 0.18
BOUNCE_FRAME_H: Final = 0.02
# A bounce's lift fades out above, into the top strip of the frame, with at most this strain; towards the
# sides it fades over this share of the width (wider than SIDE_HOLD_FRAME_W: the shoulders' outline meets
# the side fade, and a steep one there would let the stretch limiter cut the whole bounce).
BOUNCE_TOP_STRAIN: Final = 0.15
BOUNCE_SIDE_FRAME_W: Final = 0.4
SIDE_HOLD_FRAME_W: Final = 0.18
TOP_HOLD_FRAME_H: Final = 0.15
HAIR_WIND_FACE_W: Final = 0.14
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
# A head that turns (yaw) carries the layers nearer the viewer further: bangs lie in front of the face,
# back hair behind the head, side locks in between (parallax).
YAW_GAINS: Final[Mapping[str, float]] = {"back_hair": 0.35, "side_locks": 0.5, "bangs": 1.15}
CLOTHES_WIND_FRAME_W: Final = 0.02
# Natural rhythms, used when a track leaves `repeats` at 1.
BREATH_PERIOD_S: Final = 3.2
# The longest sway period: a sway drawn slower than this over a short clip reads as a lean.
SWAY_PERIOD_S: Final = 2.4
BOUNCE_PERIOD_S: Final = 0.8
WIND_RIPPLE_HZ: Final = 0.7
FLUTTER_RIPPLE_HZ: Final = 1.9
GUST_PERIOD_S: Final = 4.0
# "A natural, clearly visible motion" in the plan's amplitude scale: depth of a blink, opening of a mouth.
NATURAL_AMPLITUDE: Final = 0.7


# -- tracks -> terms ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    basis: Vector  # (h, w, 2) displacement in pixels at curve value 1
    curve: Curve  # (T,)
    # Which layers follow it (`rig.layers.LAYER_GAINS`): "" takes the track's part; `gains` overrides
    # the group's per-layer gains (a head turn: back hair less, bangs more).
    group: str = ""
    gains: Mapping[str, float] | None = None


@dataclass
class TrackMotion:
    """What one track adds: field terms, eyelid closure per eye, mouth opening, and a note for the user."""

    track: Track
    terms: list[Term] = field(default_factory=list)
    lids: dict[Side, Curve] = field(default_factory=dict)  # (T,) 0 open .. 1 closed
    mouth_open: Curve | None = None  # (T,) 0 closed .. 1 open
    smile: Curve | None = None  # (T,) 0 .. 1 (a natural smile) .. 1.43: how far a drawn mouth's line curves
    note: str | None = None


@dataclass(frozen=True)
class FieldContext:
    regions: Regions
    clock: Clock
    rng: np.random.Generator

    @property
    def grid(self) -> Grid:
        return self.regions.grid


def build_track(track: Track, context: FieldContext) -> TrackMotion:
    """The terms that draw `track`. Part tracks without a face fall back to whole-subject motion or are
    skipped, with a note saying which."""
    geometry = context.regions.geometry
    if track.part in ("head", "eyes", "mouth", "hair") and geometry is None:
        return _without_face(track, context)
    builder = _BUILDERS.get((track.part, track.action))
    if builder is None:
        return TrackMotion(track, note=f"{track.part}.{track.action}: not drawn by the local fields")
    return builder(track, context)


def _name(track: Track) -> str:
    return f"{track.part}.{track.action}" + (f" {track.direction}" if track.direction else "")


def _sign(direction: str | None, negative: str) -> float:
    return -1.0 if direction == negative else 1.0


def _cycles(track: Track, context: FieldContext, natural_period_s: float | None) -> Curve:
    count = motion.cycle_count(track, context.clock, natural_period_s=natural_period_s)
    return motion.cycle_phase(track, context.clock, cycles=count)


def _down_and_back(phase: Curve) -> Curve:
    """0 -> 1 -> 0 once per cycle, at rest at both ends."""
    return 0.5 - 0.5 * np.cos(motion.TWO_PI * phase)


def _there_and_back(phase: Curve) -> Curve:
    """0 -> 1 -> 0 -> -1 -> 0 once per cycle."""
    return np.sin(motion.TWO_PI * phase)


def _need_geometry(context: FieldContext) -> tuple[FaceGeometry, Field, Field, Field]:
    regions = context.regions
    assert regions.geometry is not None and regions.head is not None
    assert regions.face_inner is not None and regions.head_radius is not None
    return regions.geometry, regions.head, regions.face_inner, regions.head_radius


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

    # Out of a loop the motion eases in from the picture's pose over the first second; a loop has no start.
    ease_in = np.ones_like(clock.times) if clock.loop else motion.smoothstep_array(np.clip(clock.times, 0.0, 1.0))

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


# -- hair follows the head: roots carried, the rest a damped spring chain ---------------------------------


def _hair_root_row(context: FieldContext) -> int:
    """The grid row where hanging hair is rooted: the eyes' level (above it, hair lies on the scalp)."""
    geometry, _, _, _ = _need_geometry(context)
    grid = context.grid
    return int(np.clip(np.searchsorted(grid.y[:, 0], geometry.face.cy), 0, grid.shape[0] - 1))


def _hang(context: FieldContext) -> Field:
    """0 at the roots' level and above, 1 at the lowest hair: how far down a strand a point lies."""
    geometry, _, _, _ = _need_geometry(context)
    grid = context.grid
    face = geometry.face
    hair_rows = np.flatnonzero(context.regions.hair.max(axis=1) > 0.1)
    lowest = float(grid.y[hair_rows[-1], 0]) if hair_rows.size else face.y + 2.0 * face.h
    lowest = max(lowest, face.cy + 0.5 * face.h)
    return np.asarray(
        np.clip((grid.y - np.float32(face.cy)) / np.float32(lowest - face.cy), 0.0, 1.0), dtype=np.float32
    )


def _root_carried(basis: Vector, root_row: int) -> Vector:
    """`basis` with every row below `root_row` replaced by that row: hanging hair moves as its roots do."""
    carried = basis.copy()
    carried[root_row + 1 :] = basis[root_row]
    return carried


def _hair_follows(drawn: TrackMotion, context: FieldContext) -> TrackMotion:
    """Add to a head track what its hair does: hanging hair carried by its roots, not left behind as the
    head's weight fades towards the hair's ends, and the strand's middle and tip lagging behind as a
    damped spring chain (`rig.physics`), so that the tips swing on after the head stops. Hair layers only."""
    root_row = _hair_root_row(context)
    hang = _hang(context)[..., None]
    extra: list[Term] = []
    for term in drawn.terms:
        carried = _root_carried(term.basis, root_row)
        middle, tip = physics.strand(term.curve, context.clock)
        extra += [
            Term(carried - term.basis, term.curve, group="hair", gains=term.gains),
            Term(np.asarray(carried * hang, dtype=np.float32), middle - term.curve, group="hair", gains=term.gains),
            Term(np.asarray(carried * hang * hang, dtype=np.float32), tip - middle, group="hair", gains=term.gains),
        ]
    drawn.terms.extend(extra)
    return drawn


# eyes ------------------------------------------------------------------------------------------------


def _lid_basis(context: FieldContext, side: Side, amplitude: float) -> Vector:
    geometry, _, _, _ = _need_geometry(context)
    eye = geometry.eye(side)
    # Centred on the upper lid: the skin above the eye follows the lid down a little. At least two grid
    # cells wide, or the coarse grid could not draw it smoothly.
    cells = 2.0 * context.grid.cell_px
    weight = context.grid.gaussian(eye.cx, eye.y, max(0.5 * eye.w, cells), max(0.8 * eye.h, cells))
    return vector(0.0, BLINK_EYE_H * eye.h * amplitude * weight, context.grid.shape)


def _blink_depth(amplitude: float) -> float:
    """How far the lid comes down: fully from a natural amplitude up, a half-blink at the weakest."""
    return min(1.0, max(0.4, amplitude / NATURAL_AMPLITUDE))


def _blink(track: Track, context: FieldContext) -> TrackMotion:
    closure = motion.event_curve(track, context.clock, context.rng) * _blink_depth(track.amplitude)
    sides: tuple[Side, ...] = ("left", "right")
    terms = [Term(_lid_basis(context, side, 1.0), closure) for side in sides]
    return TrackMotion(track, terms, lids=dict.fromkeys(sides, closure))


def _wink(track: Track, context: FieldContext) -> TrackMotion:
    geometry, _, _, _ = _need_geometry(context)
    side: Side = "left" if track.direction == "left" else "right"
    closure = motion.event_curve(track, context.clock, context.rng, hold_s=motion.WINK_HOLD_S)
    closure = closure * _blink_depth(track.amplitude)
    eye = geometry.eye(side)
    # The cheek under a winking eye rises with it.
    cheek = context.grid.gaussian(eye.cx, eye.y + 1.6 * eye.h, 0.6 * eye.w, 0.8 * eye.h)
    cheek_basis = vector(0.0, -0.25 * eye.h * cheek, context.grid.shape)
    return TrackMotion(
        track, [Term(_lid_basis(context, side, 1.0), closure), Term(cheek_basis, closure)], lids={side: closure}
    )


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


def _breathe(track: Track, context: FieldContext) -> TrackMotion:
    grid = context.grid
    regions = context.regions
    top, bottom = _chest_band(regions)
    above_band = falloff(grid.y, top, max(bottom, top + 1.0))
    depth = (track.amplitude / GENTLE_BREATH) ** BREATH_DEPTH_POWER
    if regions.geometry is not None:
        gentle_px = BREATHE_FACE_H * regions.geometry.face.h
    else:
        gentle_px = BREATHE_FRAME_H * grid.height
    lift = gentle_px * depth * above_band * regions.subject
    period = BREATH_PERIOD_S * float(context.rng.uniform(0.9, 1.1))
    # At least one whole breath, in and out, however short the span (`cycle_count` sees to it).
    return TrackMotion(track, [Term(vector(0.0, -lift, grid.shape), _down_and_back(_cycles(track, context, period)))])


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


# hair and clothes ------------------------------------------------------------------------------------


def _wind_terms(
    track: Track,
    context: FieldContext,
    *,
    weight: Field,
    distance_px: Field,
    wavelength_px: float,
    steady_px: float,
) -> list[Term]:
    """Wind on a region: a steady push along the wind (none for flutter) plus travelling ripples that run
    outwards from the root. `weight` already grows with the distance from the root."""
    clock = context.clock
    flutter = track.action == "flutter"
    envelope = motion.fade_curve(track, clock, fade_s=0.8)
    hz = clock.frequency((FLUTTER_RIPPLE_HZ if flutter else WIND_RIPPLE_HZ) * float(context.rng.uniform(0.9, 1.1)))
    wavelength = wavelength_px * (0.55 if flutter else 1.0)
    ripple_px = steady_px * (0.3 if flutter else 0.4)
    k_rho = np.float32(motion.TWO_PI / wavelength) * distance_px
    sin_k, cos_k = np.sin(k_rho) * weight, np.cos(k_rho) * weight
    shape = context.grid.shape
    # x = a sin(k rho - w t), y = b cos(k rho - w t): each point circles, the circles' phase runs outwards.
    omega_t = motion.TWO_PI * hz * clock.times
    terms = [
        Term(vector(ripple_px * sin_k, 0.5 * ripple_px * cos_k, shape), envelope * np.cos(omega_t)),
        Term(vector(-ripple_px * cos_k, 0.5 * ripple_px * sin_k, shape), envelope * np.sin(omega_t)),
    ]
    if not flutter:
        if track.direction is None:
            # No direction given: gusts from either side in turn.
            gust = envelope * np.sin(motion.TWO_PI * clock.frequency(1.0 / GUST_PERIOD_S) * clock.times)
        else:
            swell_hz = clock.frequency(float(context.rng.uniform(0.15, 0.3)))
            swell = np.sin(motion.TWO_PI * swell_hz * clock.times + float(context.rng.uniform(0.0, motion.TWO_PI)))
            gust = envelope * (0.8 + 0.2 * swell) * _sign(track.direction, "left")
        terms.append(Term(vector(steady_px * weight, 0.0, shape), gust))
    return terms


def _hair_wind(track: Track, context: FieldContext) -> TrackMotion:
    """Wind in the hair layers only (the face does not move with it): still at the roots, growing towards
    the tips."""
    geometry, _, _, head_radius = _need_geometry(context)
    face = geometry.face
    note = None
    if float(context.regions.hair.max()) <= 0.05:
        note = f"{_name(track)}: no hair found; nothing for the wind to move"
    mean_radius = 0.5 * sum(geometry.head_radii)
    # Hanging hair by how far down the strand a point lies; hair on the head by how far out from the face.
    face_radius = context.grid.ellipse_radius(face.cx, face.cy, 0.5 * face.w, 0.5 * face.h)
    beyond_face = np.maximum(face_radius - 1.0, 0.0) * np.float32(0.25 * (face.w + face.h))  # px
    weight = np.maximum(np.power(_hang(context), 1.2), rise(beyond_face, 0.0, 1.2 * face.w))
    terms = _wind_terms(
        track,
        context,
        weight=np.asarray(weight, dtype=np.float32),
        distance_px=np.asarray(head_radius * np.float32(mean_radius), dtype=np.float32),
        wavelength_px=0.9 * face.w,
        steady_px=HAIR_WIND_FACE_W * face.w * track.amplitude,
    )
    return TrackMotion(track, terms, note=note)


def _clothes_wind(track: Track, context: FieldContext) -> TrackMotion:
    regions = context.regions
    grid = context.grid
    if regions.geometry is not None:
        root_y = regions.geometry.neck[1] + 0.2 * regions.geometry.face.h
    else:
        root_y = regions.subject_box.y + 0.3 * regions.subject_box.h
    below_root = np.maximum(grid.y - np.float32(root_y), 0.0)
    from_root = rise(below_root, 0.0, 0.5 * max(grid.height - root_y, 1.0))
    terms = _wind_terms(
        track,
        context,
        weight=np.asarray(regions.body * from_root, dtype=np.float32),
        distance_px=np.asarray(below_root, dtype=np.float32),
        wavelength_px=0.3 * grid.height,
        steady_px=CLOTHES_WIND_FRAME_W * grid.width * track.amplitude,
    )
    return TrackMotion(track, terms)


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


_BUILDERS: Final[dict[tuple[str, str], Callable[[Track, FieldContext], TrackMotion]]] = {
    ("head", "nod"): _nod,
    ("head", "shake"): _shake,
    ("head", "tilt"): _tilt,
    ("head", "turn"): _turn,
    ("head", "look"): _head_look,
    ("head", "idle"): _head_idle,
    ("eyes", "blink"): _blink,
    ("eyes", "wink"): _wink,
    ("eyes", "look"): _eye_look,
    ("mouth", "smile"): _smile,
    ("mouth", "open"): _open,
    ("mouth", "talk"): _talk,
    ("mouth", "laugh"): _laugh,
    ("body", "breathe"): _breathe,
    ("body", "sway"): _sway,
    ("body", "lean"): _lean,
    ("body", "bounce"): _bounce,
    ("hair", "wind"): _hair_wind,
    ("hair", "flutter"): _hair_wind,
    ("clothes", "wind"): _clothes_wind,
    ("clothes", "flutter"): _clothes_wind,
}


# -- the stretch limit --------------------------------------------------------------------------------


def strain_bounds(basis: npt.NDArray[np.float32], cell_px: int) -> tuple[Field, Field]:
    """(stretch, rotation) of a displacement field `(..., h, w, 2)` per node: the spectral norm of the
    symmetric part of its Jacobian and the size of its antisymmetric part, from forward differences
    (what the piecewise-linear upsampled map actually has). Leading axes (frames) are kept."""
    step = np.float32(1.0 / cell_px)
    # Forward differences; the last column (row) repeats its neighbour's, as np.diff(append=...) would.
    along_x = np.empty_like(basis)  # (..., h, w, 2): d/dx of (dx, dy)
    np.subtract(basis[..., 1:, :], basis[..., :-1, :], out=along_x[..., :-1, :])
    along_x[..., -1, :] = 0.0
    along_y = np.empty_like(basis)
    np.subtract(basis[..., 1:, :, :], basis[..., :-1, :, :], out=along_y[..., :-1, :, :])
    along_y[..., -1, :, :] = 0.0
    along_x *= step
    along_y *= step
    dx_dx, dy_dx = along_x[..., 0], along_x[..., 1]
    dx_dy, dy_dy = along_y[..., 0], along_y[..., 1]
    shear = 0.5 * (dx_dy + dy_dx)
    mean = 0.5 * (dx_dx + dy_dy)
    radius = np.sqrt((0.5 * (dx_dx - dy_dy)) ** 2 + shear**2)
    stretch = np.abs(mean) + radius  # the larger |eigenvalue| of the symmetric part
    rotation = np.abs(0.5 * (dy_dx - dx_dy))
    return np.asarray(stretch, dtype=np.float32), np.asarray(rotation, dtype=np.float32)


# Frames at which a field's strain is measured: enough to catch every peak of these smooth curves.
_PROBE_FRAMES: Final = 24


def peak_strain(bases: list[Vector], curves: list[Curve], cell_px: int) -> tuple[Field, Field]:
    """The largest (stretch, rotation) each node reaches over the clip for the field `sum_k curve_k *
    basis_k`: measured on the actual field at a sample of frames that includes every curve's peak (terms
    in quadrature, like a travelling ripple, never peak together, so adding their bounds would overstate)."""
    table = np.stack(curves, axis=1)  # (T, K)
    frame_count = table.shape[0]
    probes = set(np.linspace(0, frame_count - 1, min(frame_count, _PROBE_FRAMES)).round().astype(int).tolist())
    probes.update(int(np.argmax(np.abs(table[:, k]))) for k in range(table.shape[1]))
    chosen = table[sorted(probes)].astype(np.float32)  # (F, K)
    fields_at = np.tensordot(chosen, np.stack(bases), axes=1)  # (F, h, w, 2)
    stretch, rotation = strain_bounds(fields_at, cell_px)
    return np.asarray(stretch.max(axis=0), dtype=np.float32), np.asarray(rotation.max(axis=0), dtype=np.float32)


def quick_strain(bases: list[Vector], curves: list[Curve], cell_px: int) -> tuple[Field, Field]:
    """An upper bound of `peak_strain`, as if every term peaked at once: one strain per basis instead of
    one per probed frame, so cheap enough to try first."""
    stretch_sum: Field | None = None
    rotation_sum: Field | None = None
    for basis, curve in zip(bases, curves, strict=True):
        peak = np.float32(np.abs(curve).max()) if curve.size else np.float32(0.0)
        stretch, rotation = strain_bounds(basis, cell_px)
        stretch_sum = peak * stretch if stretch_sum is None else stretch_sum + peak * stretch
        rotation_sum = peak * rotation if rotation_sum is None else rotation_sum + peak * rotation
    assert stretch_sum is not None and rotation_sum is not None
    return stretch_sum, rotation_sum


@dataclass(frozen=True)
class StretchLimiter:
    """The largest scale of a displacement field that keeps the sampling map's singular values (the
    inverse of the content's stretch) inside the limits, given the camera's zoom range.

    With G the field's Jacobian, split into a symmetric part (norm s) and a rotation (size r), the
    singular values of I - G lie in [1 - s, sqrt(1 + r^2) + s]; the camera divides them by its zoom.
    """

    zoom_min: float = 1.0
    zoom_max: float = 1.0

    def scale(self, stretch: Field, rotation: Field) -> float:
        low_limit = _SAMPLING_LOW * self.zoom_max
        high_limit = _SAMPLING_HIGH * self.zoom_min
        if low_limit >= 1.0 or high_limit <= 1.0:
            raise ValueError(f"camera zoom {self.zoom_min:.2f}..{self.zoom_max:.2f} alone exceeds the stretch limits")
        peak = float(stretch.max()) if stretch.size else 0.0
        if peak <= 0.0 and (float(rotation.max()) if rotation.size else 0.0) <= 0.0:
            return 1.0

        def fits(scale: float) -> bool:
            s = scale * stretch
            return bool(
                1.0 - float(s.max()) >= low_limit
                and float((np.sqrt(1.0 + (scale * rotation) ** 2) + s).max()) <= high_limit
            )

        if fits(1.0):
            return 1.0
        low, high = 0.0, 1.0
        for _ in range(24):
            middle = 0.5 * (low + high)
            low, high = (middle, high) if fits(middle) else (low, middle)
        return low

    def scale_to_fit(
        self, bases: list[Vector], curves: list[Curve], cell_px: int, support: Field | None = None
    ) -> float:
        """`scale` for the field `sum_k curves[k] * bases[k]`: the cheap bound first, the measured peak
        strain only when the bound says the field might not fit and is not exact (terms that share one
        curve are one term: both eyes of a blink). `support` (0/1 per node): only there does the strain
        count (a layer's field moves nothing outside the layer)."""
        merged_bases: list[Vector] = []
        merged_curves: list[Curve] = []
        for basis, curve in zip(bases, curves, strict=True):
            for index, seen in enumerate(merged_curves):
                if np.array_equal(seen, curve):
                    merged_bases[index] = merged_bases[index] + basis
                    break
            else:
                merged_bases.append(basis)
                merged_curves.append(curve)

        def within(strain: tuple[Field, Field]) -> tuple[Field, Field]:
            if support is None:
                return strain
            return np.asarray(strain[0] * support, dtype=np.float32), np.asarray(strain[1] * support, dtype=np.float32)

        quick = self.scale(*within(quick_strain(merged_bases, merged_curves, cell_px)))
        if quick >= 1.0 or len(merged_curves) == 1:
            return quick
        return self.scale(*within(peak_strain(merged_bases, merged_curves, cell_px)))


def _gains(
    layer: str,
    gains: Mapping[str, Mapping[str, float]],
    groups: Sequence[str],
    overrides: Sequence[Mapping[str, float] | None],
) -> list[float]:
    """How much of each term `layer` follows: the term's own gain for it, else its group's."""
    table = gains.get(layer, {})
    return [
        override[layer] if override is not None and layer in override else table.get(group, 0.0)
        for group, override in zip(groups, overrides, strict=True)
    ]


def _layered_scale(
    limiter: StretchLimiter,
    bases: list[Vector],
    curves: list[Curve],
    groups: list[str],
    overrides: list[Mapping[str, float] | None],
    cell_px: int,
    supports: Mapping[str, Field] | None,
) -> float:
    """The limiter's scale for the field each layer draws (its gains times the terms), the smallest: a
    layer is warped on its own, so the strain that counts is each layer's, where the layer is (`supports`,
    per layer on the grid; without them, every layer everywhere)."""
    scale = 1.0
    for layer in LAYER_GAINS if supports is None else supports:
        weights = _gains(layer, LAYER_GAINS, groups, overrides)
        layer_bases = [np.asarray(w * basis, dtype=np.float32) for w, basis in zip(weights, bases, strict=True) if w]
        layer_curves = [curve for w, curve in zip(weights, curves, strict=True) if w]
        if layer_bases:
            support = None if supports is None else supports[layer]
            scale = min(scale, limiter.scale_to_fit(layer_bases, layer_curves, cell_px, support))
    return scale


@dataclass
class LocalField:
    """All local (non-camera) motion of a clip: stacked bases and their per-frame curves."""

    bases: npt.NDArray[np.float32]  # (K, h*w*2) float32, pinned to the border, stretch caps applied
    curves: npt.NDArray[np.float32]  # (T, K) float32
    shape: tuple[int, int]  # (h, w) of the grid
    lids: dict[Side, Curve]  # (T,) eyelid closure per eye
    mouth_open: Curve  # (T,)
    smile: Curve  # (T,)
    notes: list[str]
    drawn: tuple[int, ...] = ()  # plan indices of the tracks that drew anything
    groups: tuple[str, ...] = ()  # (K,) each term's deformer group
    overrides: tuple[Mapping[str, float] | None, ...] = ()  # (K,) each term's own per-layer gains

    @classmethod
    def build(
        cls,
        tracks: tuple[tuple[int, Track], ...],
        *,
        regions: Regions,
        clock: Clock,
        seed: int,
        limiter: StretchLimiter,
        supports: Mapping[str, Field] | None = None,
    ) -> LocalField:
        """`tracks`: (index in the plan, track) pairs; the index seeds the track's randomness. `supports`:
        where each layer is, on the grid (0/1), so that each layer's stretch is limited where it shows."""
        grid = regions.grid
        notes: list[str] = []
        if regions.geometry is not None and regions.geometry.estimated:
            notes.append("estimated from the face box: " + ", ".join(regions.geometry.estimated))
        frame_count = clock.times.shape[0]
        lids: dict[Side, Curve] = {"left": np.zeros(frame_count), "right": np.zeros(frame_count)}
        mouth_open = np.zeros(frame_count)
        smile = np.zeros(frame_count)
        bases: list[Vector] = []
        curves: list[Curve] = []
        groups: list[str] = []
        overrides: list[Mapping[str, float] | None] = []
        drawn_tracks: list[int] = []
        for plan_index, track in tracks:
            context = FieldContext(regions, clock, motion.track_rng(seed, plan_index))
            drawn = build_track(track, context)
            if drawn.note:
                notes.append(drawn.note)
            for side, closure in drawn.lids.items():
                lids[side] = np.maximum(lids[side], closure)
            if drawn.mouth_open is not None:
                mouth_open = np.maximum(mouth_open, drawn.mouth_open)
            if drawn.smile is not None:
                smile = np.maximum(smile, drawn.smile)
            if drawn.terms or drawn.lids or drawn.mouth_open is not None or drawn.smile is not None:
                drawn_tracks.append(plan_index)
            if not drawn.terms:
                continue
            track_bases = [regions.pin_to_border(term.basis, float(np.abs(term.curve).max())) for term in drawn.terms]
            track_curves = [term.curve for term in drawn.terms]
            track_groups = [term.group or track.part for term in drawn.terms]
            track_overrides = [term.gains for term in drawn.terms]
            scale = _layered_scale(
                limiter, track_bases, track_curves, track_groups, track_overrides, grid.cell_px, supports
            )
            if scale < 0.8:
                notes.append(
                    f"{_name(track)}: drawn at {scale:.0%} strength to keep the local stretch within 0.7x..1.4x"
                )
            bases.extend(np.asarray(scale * basis, dtype=np.float32) for basis in track_bases)
            curves.extend(track_curves)
            groups.extend(track_groups)
            overrides.extend(track_overrides)
        # Tracks acting on the same place add up; scale them all down together if their sum would not fit.
        overall = _layered_scale(limiter, bases, curves, groups, overrides, grid.cell_px, supports) if bases else 1.0
        rows, columns = grid.shape
        stacked = np.zeros((len(bases), rows * columns * 2), dtype=np.float32)
        for index, basis in enumerate(bases):
            stacked[index] = overall * basis.reshape(-1)
        curve_table = np.zeros((frame_count, len(curves)), dtype=np.float32)
        for index, curve in enumerate(curves):
            curve_table[:, index] = curve
        return cls(
            bases=stacked,
            curves=curve_table,
            shape=grid.shape,
            lids=lids,
            mouth_open=mouth_open,
            smile=smile,
            notes=notes,
            drawn=tuple(drawn_tracks),
            groups=tuple(groups),
            overrides=tuple(overrides),
        )

    def layer_weights(self, layer: str, gains: Mapping[str, Mapping[str, float]]) -> npt.NDArray[np.float32]:
        """`(K,)` how much of each term `layer` follows: the term's own gain for it, else its group's."""
        return np.asarray(_gains(layer, gains, self.groups, self.overrides), dtype=np.float32)

    def displacement(self, index: int, weights: npt.NDArray[np.float32] | None = None) -> Vector:
        """`(h, w, 2)` float32 content displacement at frame `index`; `weights` `(K,)` scale the terms
        (one layer's share, `layer_weights`)."""
        rows, columns = self.shape
        if self.bases.shape[0] == 0:
            return np.zeros((rows, columns, 2), dtype=np.float32)
        curve = self.curves[index] if weights is None else self.curves[index] * weights
        # einsum, not `@`: BLAS's vector-matrix product ran ~30x slower here on these (K, ~20k) bases.
        flat = np.einsum("k,kn->n", curve, self.bases)  # (h*w*2,)
        return np.asarray(flat.reshape(rows, columns, 2), dtype=np.float32)

    @property
    def moves(self) -> bool:
        return bool(self.bases.shape[0] > 0)
