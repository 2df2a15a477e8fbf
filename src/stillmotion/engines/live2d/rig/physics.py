"""Hair physics: a strand is a chain of two damped springs hanging from its root. The root moves with the
head; the middle of the strand follows the root through the first spring, the tip follows the middle
through the second, so the tip lags further and overshoots more (Live2D's physics settings do the same
with pendulums).

The springs are simulated once per clip on the frame clock (with sub-steps), giving curves of the strand's
middle and tip for a root curve. In a loop the simulation runs over several laps first, so that it starts
in its periodic steady state and the seam shows no jump.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from stillmotion.engines.live2d.motion import Clock, Curve

# A strand swings at about this rate and, with this damping, settles within about a second.
SPRING_HZ: Final = 1.3
DAMPING_RATIO: Final = 0.3
_SUBSTEPS: Final = 8
_LOOP_LAPS: Final = 4


def _follow(target: Curve, clock: Clock, *, hz: float, damping: float) -> Curve:
    """`(T,)` the position of a damped spring's end whose anchor moves along `target` `(T,)`: it starts at
    rest on the anchor (frame 0 = the input) unless the clock loops."""
    frames = target.shape[0]
    if frames < 2:
        return target.copy()
    dt = float(clock.times[1] - clock.times[0]) / _SUBSTEPS
    omega = 2.0 * math.pi * hz
    laps = _LOOP_LAPS if clock.loop else 1
    # In a loop the last frame equals the first: a lap is the frames before it.
    lap = target[:-1] if clock.loop else target
    position, velocity = float(lap[0]), 0.0
    out = np.empty(lap.shape[0], dtype=np.float64)
    for _ in range(laps):
        for index in range(lap.shape[0]):
            anchor_now = float(lap[index])
            anchor_next = (
                float(lap[(index + 1) % lap.shape[0]]) if clock.loop else float(target[min(index + 1, frames - 1)])
            )
            out[index] = position
            for step in range(_SUBSTEPS):
                anchor = anchor_now + (anchor_next - anchor_now) * step / _SUBSTEPS
                acceleration = omega * omega * (anchor - position) - 2.0 * damping * omega * velocity
                velocity += acceleration * dt
                position += velocity * dt
    if clock.loop:
        return np.append(out, out[0])
    return out


def strand(root: Curve, clock: Clock) -> tuple[Curve, Curve]:
    """`(middle, tip)` curves `(T,)` of a strand whose root moves along `root` `(T,)`."""
    middle = _follow(root, clock, hz=SPRING_HZ, damping=DAMPING_RATIO)
    tip = _follow(middle, clock, hz=SPRING_HZ * 1.25, damping=DAMPING_RATIO)
    if clock.loop:
        # The steady state of a loop may start off the root; the picture is frame 0, so shift it there
        # (a constant, so the loop stays seamless).
        middle = middle - (middle[0] - root[0])
        tip = tip - (tip[0] - root[0])
    return middle, tip
