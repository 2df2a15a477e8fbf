"""Motion for the live2d engine: tracks that each give a smooth displacement field at time t.

A `MotionPlan` is a camera push-in plus a list of `MotionTrack`s. Every track answers two questions:
"where should each point of the scene sample from at time t" (a sampling offset in pixels, evaluated on
a coarse grid) and "how far can that offset reach at time t" (a bound, used to zoom in just enough
that no sample ever falls outside the image). A later motion planner that reads the prompt only has to
build a different list of tracks.

Coordinates: `x_n`, `y_n` are normalised scene coordinates, 0 at the left/top pixel centre and 1 at the
right/bottom one. Offsets are backward: an offset of +3 px in y at a point means that point shows the
pixel 3 px below it, so the content there appears to move up.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

FloatField = npt.NDArray[np.float32]  # (h, w) float32 on the coarse grid

TWO_PI: Final = 2.0 * math.pi


def smoothstep(u: float) -> float:
    """0 -> 1 over u in [0, 1], with zero slope at both ends."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


def ease_in_out_sine(u: float) -> float:
    """0 -> 1 over u in [0, 1] along half a cosine: zero velocity at both ends, gentlest peak speed."""
    u = min(max(u, 0.0), 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * u)


def smoothstep_field(u: FloatField) -> FloatField:
    """Element-wise `smoothstep` for coarse-grid arrays."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (np.float32(3.0) - np.float32(2.0) * u)


class MotionTrack(Protocol):
    """One motion of the scene. Both methods must be smooth functions of time, zero at t = 0."""

    def offset_px(
        self, t_s: float, x_n: FloatField, y_n: FloatField, *, width: int, height: int
    ) -> tuple[FloatField, FloatField]:
        """Sampling offsets `(dx, dy)` in output pixels at scene points `(x_n, y_n)`, each `(h, w)`."""
        ...

    def bound_px(self, t_s: float, *, width: int, height: int) -> tuple[float, float]:
        """Upper bounds of `|dx|` and `|dy|` over the whole frame at time `t_s`."""
        ...


@dataclass(frozen=True)
class Sway:
    """A slow side-to-side sway, anchored at the bottom edge and growing towards the top."""

    amplitude: float = 0.007  # peak offset at the top edge, as a fraction of the frame width
    period_s: float = 6.5
    phase: float = 0.0  # radians
    ramp_s: float = 3.0  # the sway fades in over this long, so that it starts at rest
    height_exponent: float = 1.5  # >1: the lower part of the frame stays steadier than the top

    def _envelope(self, t_s: float) -> float:
        return smoothstep(t_s / self.ramp_s)

    def offset_px(
        self, t_s: float, x_n: FloatField, y_n: FloatField, *, width: int, height: int
    ) -> tuple[FloatField, FloatField]:
        swing = self.amplitude * width * self._envelope(t_s) * math.sin(TWO_PI * t_s / self.period_s + self.phase)
        weight = np.power(np.clip(1.0 - y_n, 0.0, 1.0), self.height_exponent, dtype=np.float32)
        return (np.float32(swing) * weight, np.zeros_like(y_n))

    def bound_px(self, t_s: float, *, width: int, height: int) -> tuple[float, float]:
        return (self.amplitude * width * self._envelope(t_s), 0.0)


@dataclass(frozen=True)
class Breathing:
    """A slow vertical stretch of a band in the lower middle of the frame (a chest rising).

    Everything above the band is lifted by up to `amplitude`; below it nothing moves; inside it the
    lift ramps smoothly, so the stretch is confined to the band and the bottom edge stays put.
    """

    amplitude: float = 0.006  # peak lift above the band, as a fraction of the frame height
    period_s: float = 4.2  # one breath
    phase: float = 0.0  # radians
    ramp_s: float = 3.0
    band_top: float = 0.35  # normalised y where the stretch band starts (0 = top edge)
    band_bottom: float = 0.9  # and where it ends

    def _envelope(self, t_s: float) -> float:
        return smoothstep(t_s / self.ramp_s)

    def offset_px(
        self, t_s: float, x_n: FloatField, y_n: FloatField, *, width: int, height: int
    ) -> tuple[FloatField, FloatField]:
        # 0 (exhaled) .. 1 (inhaled), a raised cosine so that the breath has no corners.
        breath = 0.5 - 0.5 * math.cos(TWO_PI * t_s / self.period_s + self.phase)
        lift = self.amplitude * height * self._envelope(t_s) * breath
        below_band = smoothstep_field((y_n - np.float32(self.band_top)) / np.float32(self.band_bottom - self.band_top))
        return (np.zeros_like(x_n), np.float32(lift) * (np.float32(1.0) - below_band))

    def bound_px(self, t_s: float, *, width: int, height: int) -> tuple[float, float]:
        # Not scaled by the breath itself: the camera must not pump in and out with every breath.
        return (0.0, self.amplitude * height * self._envelope(t_s))


@dataclass(frozen=True)
class PushIn:
    """A slow camera push-in about the frame centre, eased in and out over `duration_s`."""

    scale_end: float = 1.05
    duration_s: float = 6.0

    def scale(self, t_s: float) -> float:
        return 1.0 + (self.scale_end - 1.0) * ease_in_out_sine(t_s / self.duration_s)


@dataclass(frozen=True)
class MotionPlan:
    push_in: PushIn
    tracks: tuple[MotionTrack, ...] = field(default_factory=tuple)

    def zoom(self, t_s: float, *, width: int, height: int) -> float:
        """Total camera scale at `t_s`: the push-in times just enough extra zoom to hide every offset.

        Zooming by s about the centre leaves a margin of `half * (1 - 1/s)` pixels on each side, so
        `s >= 1 / (1 - r)` keeps every sample inside when `r` is the largest offset over half the frame.
        `r` is a 4-norm of the x and y ratios rather than a max so that the zoom stays smooth in time.
        """
        bound_x = bound_y = 0.0
        for track in self.tracks:
            track_x, track_y = track.bound_px(t_s, width=width, height=height)
            bound_x += track_x
            bound_y += track_y
        ratio_x = bound_x / ((width - 1) / 2.0)
        ratio_y = bound_y / ((height - 1) / 2.0)
        ratio = math.pow(ratio_x**4 + ratio_y**4, 0.25)
        if ratio >= 0.5:
            raise ValueError(f"motion offsets reach {ratio:.0%} of the half-frame; at most 50% can be hidden")
        return self.push_in.scale(t_s) / (1.0 - ratio)

    def offset_px(
        self, t_s: float, x_n: FloatField, y_n: FloatField, *, width: int, height: int
    ) -> tuple[FloatField, FloatField]:
        """Sum of the tracks' sampling offsets, each `(h, w)` float32 pixels."""
        total_x = np.zeros_like(x_n)
        total_y = np.zeros_like(y_n)
        for track in self.tracks:
            dx, dy = track.offset_px(t_s, x_n, y_n, width=width, height=height)
            total_x += dx
            total_y += dy
        return total_x, total_y


def seed_from_image(image: bytes) -> int:
    """A stable seed for requests without one: the same image always moves the same way."""
    return int.from_bytes(hashlib.sha256(image).digest()[:8], "big")


def idle_plan(*, duration_s: float, seed: int) -> MotionPlan:
    """Gentle idle life: breathing, a slight sway and a slow push-in. `seed` varies phases and periods
    a little (within +-10%), so that two images do not breathe in lockstep."""
    rng = np.random.default_rng(seed % (1 << 64))  # SeedSequence refuses negative seeds
    # Life fades in over half the clip (at most 3 s). The zoom that hides the offsets grows with it,
    # and a ramp this slow keeps the total zoom speed single-peaked instead of surging early.
    ramp_s = min(3.0, duration_s / 2.0)

    def jitter() -> float:
        return float(rng.uniform(0.9, 1.1))

    return MotionPlan(
        push_in=PushIn(scale_end=1.0 + 0.05 * jitter(), duration_s=duration_s),
        tracks=(
            Breathing(
                period_s=4.2 * jitter(),
                phase=float(rng.uniform(0.0, TWO_PI)),
                amplitude=0.006 * jitter(),
                ramp_s=ramp_s,
            ),
            Sway(
                period_s=6.5 * jitter(),
                phase=float(rng.uniform(0.0, TWO_PI)),
                amplitude=0.007 * jitter(),
                ramp_s=ramp_s,
            ),
        ),
    )
