"""How long each motion naturally takes: the table the reader (what an article counts, which forms
repeat) and the scheduler (spans, repeats, stretching) share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from stillmotion.engines.live2d.plan import ACTIONS, SCENE_CYCLE_S


@dataclass(frozen=True)
class _Timing:
    natural_s: float  # span of one uncounted occurrence, before the clip stretches or squeezes it
    cycle_s: float = 0.0  # one repeat (a nod, a blink, a breath); 0: a held pose or a move, not repeated
    min_s: float = 0.3  # the shortest span in which one repeat still reads on screen
    # What an uncounted simple form means: "blinks" is one blink, "nods" a nod or two. None: the motion
    # fills its span ("sways", "talks"), as do "keeps nodding" and the progressive "nodding".
    default_count: int | None = None
    spacing_s: float = 0.0  # between repeats that fill a span ("keeps blinking"); 0: back to back
    # How far a fixed motion may slow down when the clip has time to spare: a nod can be leisurely, but
    # a slow blink reads as falling asleep.
    max_stretch: float = 1.5
    countable: bool = False  # "a nod", "a blink": the article counts one


_POSE: Final = _Timing(1.5, min_s=0.6)
_SCENE: Final = _Timing(3.0, min_s=1.0)  # camera moves and ambient effects
_TIMINGS: Final[dict[tuple[str, str], _Timing]] = {
    ("head", "nod"): _Timing(2.0, cycle_s=1.0, min_s=0.6, default_count=2, countable=True),
    ("head", "shake"): _Timing(2.0, cycle_s=1.0, min_s=0.6, default_count=2, countable=True),
    ("head", "tilt"): _POSE,
    ("head", "turn"): _POSE,
    ("head", "look"): _POSE,
    ("head", "face"): _Timing(2.0, min_s=1.0),
    ("eyes", "close"): _Timing(1.0, min_s=0.4),
    ("eyes", "blink"): _Timing(
        0.35, cycle_s=0.35, min_s=0.25, default_count=1, spacing_s=1.2, countable=True, max_stretch=1.0
    ),
    ("eyes", "wink"): _Timing(
        0.5, cycle_s=0.5, min_s=0.35, default_count=1, spacing_s=1.5, countable=True, max_stretch=1.2
    ),
    ("eyes", "look"): _Timing(1.0, min_s=0.4),
    ("mouth", "smile"): _Timing(2.0, min_s=0.6),
    ("mouth", "frown"): _Timing(2.0, min_s=0.6),
    ("head", "blush"): _Timing(2.0, min_s=0.6),
    ("eyes", "tear"): _Timing(2.5, min_s=1.0),
    ("eyes", "sparkle"): _Timing(2.5, min_s=0.8),
    ("mouth", "open"): _Timing(1.2, min_s=0.4),
    ("mouth", "talk"): _Timing(2.5, cycle_s=0.4, min_s=0.25),
    ("mouth", "laugh"): _Timing(2.0, cycle_s=0.35, min_s=0.25),
    ("body", "breathe"): _Timing(4.0, cycle_s=4.0, min_s=1.5, countable=True),
    ("body", "sway"): _Timing(4.0, cycle_s=4.0, min_s=1.0),
    ("body", "lean"): _POSE,
    ("body", "bounce"): _Timing(1.8, cycle_s=0.6, min_s=0.35, countable=True),
    ("hair", "wind"): _Timing(4.0, cycle_s=3.0, min_s=1.0),
    ("hair", "flutter"): _Timing(3.0, cycle_s=0.8, min_s=0.5),
    ("clothes", "wind"): _Timing(4.0, cycle_s=3.0, min_s=1.0),
    ("clothes", "flutter"): _Timing(3.0, cycle_s=0.8, min_s=0.5),
    **{("hand", action): _Timing(2.5, min_s=1.0) for action in ACTIONS["hand"]},
    ("tail", "wag"): _Timing(3.0, cycle_s=0.6, min_s=0.6),
    ("ears", "twitch"): _Timing(1.0, cycle_s=0.5, min_s=0.3, default_count=2, spacing_s=0.8, countable=True),
    **{("camera", action): _SCENE for action in ACTIONS["camera"]},
    **{("ambient", action): _SCENE for action in ACTIONS["ambient"]},
    **{("scene", action): _Timing(3.0, cycle_s=SCENE_CYCLE_S, min_s=1.0) for action in ACTIONS["scene"]},
}
