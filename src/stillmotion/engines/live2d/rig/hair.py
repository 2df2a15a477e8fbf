"""Hair and clothes: how hair follows the head (roots carried, the strand a damped spring chain, the
physics link to `rig.physics`), and wind or flutter in the hair and the clothes. Below the head's
deformers, which call `_hair_follows` on every head track."""

from __future__ import annotations

from typing import Final

import numpy as np

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.regions import Field, Vector, rise, vector
from stillmotion.engines.live2d.rig import physics
from stillmotion.engines.live2d.rig.terms import FieldContext, Term, TrackMotion, _name, _need_geometry, _sign

# Peak displacement of each action at amplitude 1.0, as a fraction of the part it moves.
HAIR_WIND_FACE_W: Final = 0.14
CLOTHES_WIND_FRAME_W: Final = 0.02
# Natural rhythms of the wind.
WIND_RIPPLE_HZ: Final = 0.7
FLUTTER_RIPPLE_HZ: Final = 1.9
GUST_PERIOD_S: Final = 4.0


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
    ripple_px = steady_px * 0.3
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
    # Hanging hair by how far down the strand a point lies; hair on the head by how far out from the face,
    # its roots a little (short hair lifts as a whole, more at its ends).
    face_radius = context.grid.ellipse_radius(face.cx, face.cy, 0.5 * face.w, 0.5 * face.h)
    beyond_face = np.maximum(face_radius - 1.0, 0.0) * np.float32(0.25 * (face.w + face.h))  # px
    weight = np.maximum(np.power(_hang(context), 0.7), 0.15 + 0.85 * rise(beyond_face, 0.0, 0.6 * face.w))
    terms = _wind_terms(
        track,
        context,
        weight=np.asarray(weight, dtype=np.float32),
        distance_px=np.asarray(head_radius * np.float32(mean_radius), dtype=np.float32),
        wavelength_px=1.2 * face.w,
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
