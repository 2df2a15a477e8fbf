"""What a deformer builds: a track of the plan as field terms `basis(x, y) * curve(t)` (`Term`), what a
whole track adds (`TrackMotion`: terms, eyelids, mouth), what builders are given (`FieldContext`), and
the small helpers every deformer shares (phase curves, the face's geometry). Shared by `head`, `face`,
`body` and `hair`, so that none of them imports another for these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Clock, Curve
from stillmotion.engines.live2d.plan import Track
from stillmotion.engines.live2d.regions import FaceGeometry, Field, Grid, Regions, Side, Vector

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
    # (T,) -1 (a frown) .. 0 .. 1 (a natural smile) .. 1.43: how far a drawn mouth's line curves, and which way
    smile: Curve | None = None
    blush: Curve | None = None  # (T,) 0 .. 1: how far the cheeks have flushed
    tears: dict[Side, Curve] = field(default_factory=dict)  # (T,) 0 .. 1: how far a tear under each eye has run
    sparkle: Curve | None = None  # (T,) 0 .. 1: how bright the glints in the eyes are
    note: str | None = None


@dataclass(frozen=True)
class FieldContext:
    regions: Regions
    clock: Clock
    rng: np.random.Generator

    @property
    def grid(self) -> Grid:
        return self.regions.grid


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
