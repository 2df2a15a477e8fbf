"""Time for the live2d renderer: how strongly each track acts at each frame, as one curve per frame.

A track of a `MotionPlan` says what moves and when (`start_s`/`end_s`, `repeats`, `easing`); the fields
(the deformers in `rig/`) say where and in which direction. This module turns the "when" into curves of shape
`(T,)`, one value per frame, computed once per clip. Every curve is 0 at t = 0, so that frame 0 is the
input; with `loop` every curve is back at 0 on the last frame, so that the clip ends where it began.

Action shapes:
* pose (smile, tilt, turn, look, lean): ease into the pose, hold it, ease out; `repeats` poses in a row.
  The last pose is held to the end of the clip when its track runs to the end (and the clip does not loop).
* ramp (camera moves): 0 -> 1 along the easing over the span, then held; up and back when looping.
* cycles (nod, shake, bounce, breathe, sway, wind): whole cycles over the span, so they end at rest.
  `repeats` counts them; an action with a natural rhythm (breathing) and `repeats == 1` gets as many
  whole cycles as fit its natural period.
* events (blink, wink): short one-shot shapes spread over the span, seeded jitter in their timing.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from stillmotion.engines.live2d.plan import Easing, MotionPlan, Track

Curve = npt.NDArray[np.float64]  # (T,) float64: one value per frame

TWO_PI: Final = 2.0 * math.pi
# A pose takes this long to reach (and to leave) its peak, unless the span is too short for it.
POSE_RISE_S: Final = 0.6
# A blink: lid down, a moment closed, lid up (the opening is slower, as in a real blink).
BLINK_CLOSE_S: Final = 0.10
BLINK_HOLD_S: Final = 0.05
BLINK_OPEN_S: Final = 0.15
WINK_HOLD_S: Final = 0.25


def smoothstep(u: float) -> float:
    """0 -> 1 over u in [0, 1], with zero slope at both ends."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


def smoothstep_array(u: Curve) -> Curve:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def ease(u: Curve, easing: Easing) -> Curve:
    """0 -> 1 over u in [0, 1] (clipped) along `easing`."""
    u = np.clip(u, 0.0, 1.0)
    if easing == "linear":
        return u
    if easing == "ease_in":
        return u * u
    if easing == "ease_out":
        return 1.0 - (1.0 - u) ** 2
    return smoothstep_array(u)


def seed_from_image(image: bytes) -> int:
    """A stable seed for requests without one: the same image always moves the same way.

    32 bits, the range the API accepts, so that the seed it reports can be sent back to reproduce a clip.
    """
    return int.from_bytes(hashlib.sha256(image).digest()[:4], "big")


def track_rng(seed: int, index: int) -> np.random.Generator:
    """An independent stream per track, so that adding a track does not change how the others move."""
    return np.random.default_rng([seed % (1 << 64), index])  # SeedSequence refuses negative entries


@dataclass(frozen=True)
class Clock:
    """The frame times of a clip and the rules every curve follows."""

    times: Curve  # (T,) seconds
    duration_s: float
    loop: bool

    @classmethod
    def for_frames(cls, frame_count: int, *, fps: int, loop: bool) -> Clock:
        if frame_count < 1 or fps < 1:
            raise ValueError(f"need frame_count >= 1 and fps >= 1, got {frame_count} and {fps}")
        return cls(times=np.arange(frame_count, dtype=np.float64) / fps, duration_s=frame_count / fps, loop=loop)

    @property
    def end_s(self) -> float:
        """When every motion must be over: the last frame when looping (it must equal the first)."""
        return float(self.times[-1]) if self.loop else self.duration_s

    def frequency(self, hz: float) -> float:
        """`hz`, or when looping the nearest frequency with a whole number of cycles before `end_s`."""
        if not self.loop or self.end_s <= 0.0:
            return hz
        return max(1, round(hz * self.end_s)) / self.end_s


def span(track: Track, clock: Clock) -> tuple[float, float] | None:
    """The track's (start_s, end_s) inside the clip, or None when none of it falls inside."""
    start = track.start_s
    end = min(track.end_s, clock.end_s)
    if end - start < 1e-6:
        return None
    return start, end


def _progress(track: Track, clock: Clock) -> tuple[Curve, float, float] | None:
    """(u, start, end): u goes 0 -> 1 over the span (clipped outside it)."""
    bounds = span(track, clock)
    if bounds is None:
        return None
    start, end = bounds
    return np.clip((clock.times - start) / (end - start), 0.0, 1.0), start, end


def _runs_to_the_end(end: float, clock: Clock) -> bool:
    return not clock.loop and end >= clock.duration_s - 1e-6


def pose_curve(track: Track, clock: Clock, *, rise_s: float = POSE_RISE_S) -> Curve:
    """`repeats` times: ease 0 -> 1, hold, ease back to 0; the last hold lasts to the clip's end when the
    track does."""
    progress = _progress(track, clock)
    if progress is None:
        return np.zeros_like(clock.times)
    _, start, end = progress
    segment = (end - start) / track.repeats
    rise = min(rise_s, 0.4 * segment)
    out = np.zeros_like(clock.times)
    for index in range(track.repeats):
        seg_start = start + index * segment
        seg_end = seg_start + segment
        up = ease((clock.times - seg_start) / rise, track.easing)
        last = index == track.repeats - 1
        if last and _runs_to_the_end(end, clock):
            down = np.ones_like(up)
        else:
            down = ease((seg_end - clock.times) / rise, track.easing)
        inside = (clock.times >= seg_start) & (clock.times <= seg_end)
        out = np.where(inside, np.minimum(up, down), out)
    return out


def ramp_curve(track: Track, clock: Clock) -> Curve:
    """0 -> 1 along the easing over the span, then held; when looping, up over the first half and back."""
    progress = _progress(track, clock)
    if progress is None:
        return np.zeros_like(clock.times)
    u, _, _ = progress
    if clock.loop:
        return ease(1.0 - np.abs(2.0 * u - 1.0), track.easing)
    return ease(u, track.easing)


def cycle_count(track: Track, clock: Clock, *, natural_period_s: float | None) -> int:
    """How many whole cycles an oscillating track draws: `repeats`, or for an action with a natural rhythm
    left at `repeats == 1`, as many as fit."""
    bounds = span(track, clock)
    if bounds is None:
        return 0
    if natural_period_s is None or track.repeats > 1:
        return track.repeats
    return max(1, round((bounds[1] - bounds[0]) / natural_period_s))


def cycle_phase(track: Track, clock: Clock, *, cycles: float) -> Curve:
    """Cycles done so far, 0 -> `cycles` over the span, time-warped by the easing (a slow start and end
    for ease_in_out), so that `cos(2 pi phase)` starts and ends at rest (for whole cycles; `sin(2 pi
    phase)` also does for half cycles)."""
    progress = _progress(track, clock)
    if progress is None or cycles == 0:
        return np.zeros_like(clock.times)
    u, _, _ = progress
    return cycles * ease(u, track.easing)


def fade_curve(track: Track, clock: Clock, *, fade_s: float) -> Curve:
    """An amplitude envelope for continuous motion: eases in over `fade_s`, out over the last `fade_s`
    of the span unless the span runs to the end of a clip that does not loop."""
    progress = _progress(track, clock)
    if progress is None:
        return np.zeros_like(clock.times)
    _, start, end = progress
    fade = max(min(fade_s, 0.5 * (end - start)), 1e-6)
    up = ease((clock.times - start) / fade, track.easing)
    down = np.ones_like(up) if _runs_to_the_end(end, clock) else ease((end - clock.times) / fade, track.easing)
    inside = (clock.times >= start) & (clock.times <= end)
    return np.where(inside, np.minimum(up, down), 0.0)


def event_curve(
    track: Track,
    clock: Clock,
    rng: np.random.Generator,
    *,
    hold_s: float = BLINK_HOLD_S,
    close_s: float = BLINK_CLOSE_S,
    open_s: float = BLINK_OPEN_S,
) -> Curve:
    """`repeats` blinks (0 open -> 1 closed -> 0: closing over `close_s`, held, opening over `open_s`), spread
    evenly over the span with seeded jitter; any other quick event of that shape too (an ear's twitch)."""
    bounds = span(track, clock)
    if bounds is None:
        return np.zeros_like(clock.times)
    start, end = bounds
    shape_s = close_s + hold_s + open_s
    # A span too short for a whole blink gets a quicker one rather than none.
    squeeze = min(1.0, (end - start) / shape_s)
    close_s, hold, open_s = close_s * squeeze, hold_s * squeeze, open_s * squeeze
    length = close_s + hold + open_s
    segment = (end - start) / track.repeats
    out = np.zeros_like(clock.times)
    for index in range(track.repeats):
        seg_start = start + index * segment
        slack = max(segment - length, 0.0)
        # Centred in its share of the span, jittered by up to a third of the slack either way.
        begin = seg_start + slack * float(np.clip(0.5 + rng.uniform(-1.0, 1.0) / 3.0, 0.0, 1.0))
        closing = smoothstep_array((clock.times - begin) / close_s)
        opening = smoothstep_array((begin + close_s + hold + open_s - clock.times) / open_s)
        out = np.maximum(out, np.minimum(closing, opening))
    return out


def smooth_noise(clock: Clock, rng: np.random.Generator, *, low_hz: float, high_hz: float, terms: int = 3) -> Curve:
    """A seeded irregular wave in [-1, 1]: a few sines at unrelated frequencies (each loop-safe)."""
    total = np.zeros_like(clock.times)
    weights = 0.0
    for _ in range(terms):
        hz = clock.frequency(float(rng.uniform(low_hz, high_hz)))
        weight = float(rng.uniform(0.5, 1.0))
        total += weight * np.sin(TWO_PI * hz * clock.times + float(rng.uniform(0.0, TWO_PI)))
        weights += weight
    return total / weights


def talk_curve(track: Track, clock: Clock, rng: np.random.Generator) -> Curve:
    """Mouth opening for speech: 0 (closed) .. 1, irregular at a syllable rate of about 3-6 per second."""
    envelope = fade_curve(track, clock, fade_s=0.25)
    # (1 + noise) / 2 in [0, 1]; the power keeps the mouth nearly closed for part of each syllable.
    syllables = (0.5 + 0.5 * smooth_noise(clock, rng, low_hz=2.8, high_hz=5.5)) ** 1.5
    return envelope * syllables


def idle_plan(*, duration_s: float, prompt: str = "") -> MotionPlan:
    """Gentle idle life when the prompt cannot be read: breathing, a rig's idle head and body, a blink
    every few seconds and a slow push-in, all marked `source="idle"`."""
    end = duration_s
    blinks = max(1, round(duration_s / 3.5))
    return MotionPlan(
        duration_s=duration_s,
        tracks=(
            Track("body", "breathe", amplitude=0.6, end_s=end, source="idle"),
            Track("head", "idle", amplitude=1.0, end_s=end, easing="linear", source="idle"),
            Track("eyes", "blink", amplitude=0.7, end_s=end, repeats=blinks, source="idle"),
            Track("camera", "zoom", "in", amplitude=0.35, end_s=end, source="idle"),
        ),
        optimized_prompt=prompt,
    )
