"""What every scene effect shares: its per-frame result (`Patch`, and how it is laid: `blend_into`), its timing
(`SceneTime`), seeded noise, and the two-phase cycles that carry a texture along a flow field without ever
smearing it out (`FlowCycle`, `PatchyCycle`).

Two-phase advection (as in cinemagraph tools and Neyret's advected textures): two copies of the texture are
carried along the field, each for one period, half a period apart, and cross-faded so that a copy is reset
(jumps back) only while its weight is 0; the weights always sum to 1. Frame 0 is the picture itself, and when
the clip loops the period divides the clip, so that the last frame continues into the first.

* `FlowCycle`, for noise (steam, smoke, fog, a flame's turbulence): one phase for the whole texture, each copy
  weighted `sin^2` of its phase and travelling from -half to +half a period's distance (so at t = 0 the first
  copy, where it is, has all the weight). Two unrelated noises blended lose contrast; dividing by
  `sqrt(w1^2 + w2^2)` keeps it.
* `PatchyCycle`, for water: the cycle runs late by a different share of a period in each patch, so that no pulse
  runs through the whole texture at once; each copy shows alone for most of its period (see the class).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d import motion
from stillmotion.engines.live2d.motion import Clock, Curve
from stillmotion.engines.live2d.plan import Track, scene_tempo

RGBFrame = npt.NDArray[np.uint8]  # (h, w, 3) uint8 RGB
Floats = npt.NDArray[np.float32]  # (h, w) float32
FixedMaps = tuple[npt.NDArray[np.int16], npt.NDArray[np.uint16]]  # cv2.convertMaps' CV_16SC2 pair

# How long a scene effect takes to come in (and, in a loop or a track that ends early, to go out).
FADE_S: Final = 0.8


@dataclass(frozen=True)
class Patch:
    """What a scene effect shows this frame over `box` (x0, y0, x1, y1; picture pixels): `colour`
    `(h, w, 3)` uint8 laid over what lies below with weight `alpha` `(h, w)` float32 in [0, 1]; or, for light
    (`mode` "add": a glow, embers), added to it (`alpha` unused)."""

    box: tuple[int, int, int, int]
    colour: RGBFrame
    alpha: Floats
    mode: Literal["over", "add"] = "over"
    # `alpha` as 0..255 in three channels (`weights8`), for an effect whose alpha never changes: made once.
    alpha8: npt.NDArray[np.uint8] | None = None


def weights8(alpha: Floats) -> npt.NDArray[np.uint8]:
    """`alpha` `(h, w)` 0..1 as `(h, w, 3)` uint8 0..255: blending in 8 bits (two saturating multiplies and an
    add) takes about half the time `cv2.blendLinear` does, and is exact where alpha is 0 or 1."""
    alpha255 = np.asarray(cv2.convertScaleAbs(alpha, alpha=255.0), np.uint8)
    return np.asarray(cv2.merge([alpha255, alpha255, alpha255]), np.uint8)


class SceneEffect(Protocol):
    """One scene effect, ready to draw. `front`: over the character (steam, smoke, fog, fire); else on the
    background plate, behind it (water, clouds, plants)."""

    front: bool

    def patches(self, index: int) -> list[Patch]:
        """The effect in frame `index`, back to front; none where it shows nothing (frame 0 always)."""
        ...


@dataclass(frozen=True)
class SceneTime:
    """A scene track's clock: `flow` `(T,)` seconds of motion so far (tempo included: a river that rushes counts
    faster), `strength` `(T,)` 0..1 (0 at frame 0; fades in, and out in a loop or where the track ends early),
    and `loop` (the clip must end where it began)."""

    flow: Curve
    strength: Curve
    loop: bool
    end_s: float  # the flow time at the clip's last frame when looping (each cycle must divide it)

    @classmethod
    def of(cls, track: Track, clock: Clock) -> SceneTime:
        tempo = scene_tempo(track)
        strength = motion.fade_curve(track, clock, fade_s=FADE_S)
        whole = track.start_s <= 0.0 and track.end_s >= clock.end_s - 1e-6
        if whole:
            # The flow runs from the first frame at full pace: frame 0 is the picture all the same (each effect
            # shows its texture where it is at flow time 0).
            flow = tempo * clock.times
        else:
            # Starting later or stopping early, the flow eases in and out with the track's strength.
            steps = np.diff(clock.times, prepend=0.0)
            flow = tempo * np.cumsum(strength * steps)
        return cls(flow=flow, strength=strength, loop=clock.loop, end_s=float(flow[-1]))

    def period(self, natural_s: float) -> float:
        """`natural_s`, or when looping the nearest period that divides the clip's flow time."""
        if not self.loop or self.end_s <= 0.0:
            return natural_s
        return self.end_s / max(1, round(self.end_s / natural_s))

    def frequency(self, hz: float) -> float:
        return 1.0 / self.period(1.0 / hz)


@dataclass(frozen=True)
class CyclePhase:
    """Both copies' travel (in seconds of flow at the field's speed) and weights in one frame."""

    travel: tuple[float, float]
    weight: tuple[float, float]

    @property
    def at_rest(self) -> bool:
        return self.travel[0] == 0.0 and self.weight[1] == 0.0


class FlowCycle:
    """The two-phase cycle over `period_s` seconds of flow (see the module docstring)."""

    def __init__(self, time: SceneTime, *, period_s: float) -> None:
        self.time = time
        self.period_s = time.period(period_s)

    def phase(self, index: int) -> CyclePhase:
        cycles = float(self.time.flow[index]) / self.period_s
        if abs(cycles - round(cycles)) < 1e-9:
            cycles = float(round(cycles))
        first = (cycles + 0.5) % 1.0
        second = cycles % 1.0
        travel = ((first - 0.5) * self.period_s, (second - 0.5) * self.period_s)
        weight = (math.sin(math.pi * first) ** 2, math.sin(math.pi * second) ** 2)
        return CyclePhase(travel, weight)


class PatchyCycle:
    """Two-phase advection whose cycle runs late by a different share of a period in each patch of the texture
    (`latency`: smooth, per pixel of a coarse grid, clipped to 0..0.5 so that neither copy's reference below
    ever jumps, which would be a seam), so that the copies take turns at different moments in
    different places and no pulse runs through the whole texture at once. Each copy shows alone for most of its
    period and cross-fades with the other over `crossfade` of it (plain blending: the blend is brief).

    Per pixel, copy k (k = 0, 1, half a period apart) has travelled `t - L floor(t / L + latency + k / 2) +
    L floor(latency + k / 2)` seconds of flow: t itself between its resets, 0 at t = 0 (frame 0 is the
    picture, whichever copy shows) and again at every whole number of periods (a loop closes). A copy is
    reset only while its weight is 0."""

    def __init__(
        self, time: SceneTime, latency: Floats, *, period_s: float, size: tuple[int, int], crossfade: float = 0.2
    ) -> None:
        self.time = time
        self.period_s = time.period(period_s)
        self.latency = np.asarray(np.clip(latency, 0.0, 0.499), np.float32)  # (h', w') coarse, smooth
        self.size = size  # (w, h) of the full-size fields
        self.crossfade = crossfade

    def _weight(self, u: Floats) -> Floats:
        """Copy 0's weight at cycle position `u` (0..1): up over `crossfade`, held, down over `crossfade` from 0.5."""
        c = self.crossfade
        rise = np.clip(u / c, 0.0, 1.0)
        fall = np.clip((u - 0.5) / c, 0.0, 1.0)
        return np.asarray(rise * rise * (3.0 - 2.0 * rise) - fall * fall * (3.0 - 2.0 * fall), np.float32)

    def state(self, index: int) -> tuple[Floats, Floats, Floats] | None:
        """Full-size `(h, w)` travel of copy 0 and copy 1 (seconds of flow) and copy 0's weight; None at rest."""
        t = float(self.time.flow[index])
        if t == 0.0:
            return None
        period = self.period_s
        whole = t / period
        if abs(whole - round(whole)) < 1e-9:
            whole = float(round(whole))  # the loop's last frame: exactly where the first was
        cycles = whole + self.latency
        travel = []
        for k in (0.0, 0.5):
            travel.append(np.asarray(t - period * (np.floor(cycles + k) - np.floor(self.latency + k)), np.float32))
        weight = self._weight(np.asarray(cycles % 1.0, np.float32))
        fields = [
            np.asarray(cv2.resize(field, self.size, interpolation=cv2.INTER_LINEAR), np.float32)
            for field in (*travel, weight)
        ]
        return fields[0], fields[1], fields[2]


def noise(shape: tuple[int, int], rng: np.random.Generator, *, cell_px: float, octaves: int = 3) -> Floats:
    """Seeded fractal value noise `(h, w)` float32, zero mean and unit spread: octaves of random grids,
    smoothly upsampled, each half the cell and half the weight of the one before."""
    height, width = shape
    total = np.zeros(shape, np.float32)
    for octave in range(octaves):
        cell = max(1.5, cell_px / 2**octave)
        grid = rng.standard_normal((int(height / cell) + 3, int(width / cell) + 3)).astype(np.float32)
        # The grid's cells spread over the whole shape plus a margin, so that no edge repeats a value.
        up = cv2.resize(grid, (width + 2 * round(cell), height + 2 * round(cell)), interpolation=cv2.INTER_CUBIC)
        total += (0.5**octave) * up[round(cell) : round(cell) + height, round(cell) : round(cell) + width]
    spread = float(total.std())
    return np.asarray((total - float(total.mean())) / max(spread, 1e-6), np.float32)


def union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """The box (x0, y0, x1, y1) that holds all of `boxes` (at least one)."""
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def grid_of(width: int, height: int) -> tuple[Floats, Floats]:
    """Pixel positions `(h, w)` x and y, float32."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return xs, ys


def fixed_maps(map_x: npt.NDArray[Any], map_y: npt.NDArray[Any]) -> FixedMaps:
    """Sample positions as cv2's fixed point (1/32 px), which remaps about twice as fast as float maps."""
    first, second = cv2.convertMaps(np.asarray(map_x, np.float32), np.asarray(map_y, np.float32), cv2.CV_16SC2)
    return np.asarray(first), np.asarray(second)


def advected_maps(base: tuple[Floats, Floats], velocity: tuple[Floats, Floats], travel_s: float) -> FixedMaps:
    """Where each pixel samples after `travel_s` seconds of flow at `velocity` (px/s): `base - velocity *
    travel_s` (content moves along the velocity)."""
    map_x = cv2.scaleAdd(velocity[0], -travel_s, base[0])
    map_y = cv2.scaleAdd(velocity[1], -travel_s, base[1])
    return fixed_maps(map_x, map_y)


def remap(image: npt.NDArray[Any], maps: FixedMaps, border: int = cv2.BORDER_REFLECT_101) -> npt.NDArray[Any]:
    """`image` sampled at `maps` (bilinear), what lies beyond its edges by `border`."""
    return np.asarray(cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=border))


def blend_into(target: RGBFrame, origin: tuple[int, int], patch: Patch, weight: Floats | None = None) -> None:
    """Lay `patch` over `target` (whose top-left is picture pixel `origin`), or add it, where they overlap;
    `weight` (same shape as the patch's alpha) replaces its alpha."""
    x0, y0, x1, y1 = patch.box
    ox, oy = origin
    th, tw = target.shape[:2]
    cx0, cy0 = max(x0, ox), max(y0, oy)
    cx1, cy1 = min(x1, ox + tw), min(y1, oy + th)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    inside = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
    below = target[cy0 - oy : cy1 - oy, cx0 - ox : cx1 - ox]
    colour = np.ascontiguousarray(patch.colour[inside])
    if patch.mode == "add":
        below[:] = cv2.add(below, colour)
        return
    if weight is None and patch.alpha8 is not None:
        over = np.ascontiguousarray(patch.alpha8[inside])
    else:
        over = weights8(np.ascontiguousarray((patch.alpha if weight is None else weight)[inside]))
    scale = 1.0 / 255.0
    below[:] = cv2.add(cv2.multiply(colour, over, scale=scale), cv2.multiply(below, cv2.bitwise_not(over), scale=scale))
