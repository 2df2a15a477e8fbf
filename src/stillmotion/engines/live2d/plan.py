"""The motion plan: what the live2d engine will animate, as explicit, inspectable tracks.

The prompt parser (`prompt.py`) writes a plan; the renderer reads it. A plan is plain data so that it
can be shown to the user (the status response carries it) and tested without rendering anything.

Conventions shared by the parser and the renderer:
* Directions are the viewer's: "left" is the left side of the image as seen on screen.
* Camera moves follow film language: `pan right` turns the camera right, so scene content moves left;
  `tilt up` turns it up, so content moves down; `zoom in` makes content larger.
* Wind direction names where the wind blows towards: `wind right` pushes hair to the right.
* `amplitude` is a relative strength in [0, 1]: 0.7 is a natural, clearly visible motion, 1.0 the
  strongest the engine will draw, about 0.35 "slightly" / "gently". The renderer maps it to pixels or
  degrees per action, within its stretch and border limits.
* `start_s`/`end_s` bound the track inside the clip; `repeats` counts cycles of an oscillating action
  (a nod twice: 2) or occurrences of a one-shot action (blink three times: 3); `easing` shapes the envelope.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

Part = Literal["head", "eyes", "mouth", "body", "hair", "clothes", "camera", "ambient"]
Easing = Literal["linear", "ease_in", "ease_out", "ease_in_out"]
Source = Literal["prompt", "optimizer", "idle"]

# Every (part, action) the engine can draw, with the directions each accepts (None: no direction).
ACTIONS: Final[dict[str, dict[str, frozenset[str | None]]]] = {
    "head": {
        "nod": frozenset({None}),
        "shake": frozenset({None}),
        "tilt": frozenset({"left", "right"}),
        "turn": frozenset({"left", "right"}),
        "look": frozenset({"up", "down"}),
        "idle": frozenset({None}),
        "face": frozenset({None}),  # turns a little aside and settles facing the viewer
    },
    "eyes": {
        "blink": frozenset({None}),
        "wink": frozenset({"left", "right"}),
        "look": frozenset({"left", "right", "up", "down"}),
        "close": frozenset({None}),  # closed and held ("with her eyes closed"), not a blink
    },
    "mouth": {
        "smile": frozenset({None}),
        "open": frozenset({None}),
        "talk": frozenset({None}),
        "laugh": frozenset({None}),
    },
    "body": {
        "breathe": frozenset({None}),
        "sway": frozenset({None}),
        "lean": frozenset({"left", "right", "forward", "back"}),
        "bounce": frozenset({None}),
    },
    "hair": {"wind": frozenset({"left", "right", None}), "flutter": frozenset({None})},
    "clothes": {"wind": frozenset({"left", "right", None}), "flutter": frozenset({None})},
    "camera": {
        "zoom": frozenset({"in", "out"}),
        "pan": frozenset({"left", "right"}),
        "tilt": frozenset({"up", "down"}),
        "static": frozenset({None}),
    },
    "ambient": {
        "flicker": frozenset({None}),
        "glow": frozenset({None}),
        "snow": frozenset({None}),
        "rain": frozenset({None}),
        "petals": frozenset({None}),
        "sparkles": frozenset({None}),
    },
}


@dataclass(frozen=True)
class Track:
    part: Part
    action: str
    direction: str | None = None
    amplitude: float = 0.7
    start_s: float = 0.0
    end_s: float = 6.0
    easing: Easing = "ease_in_out"
    repeats: int = 1
    source: Source = "prompt"

    def __post_init__(self) -> None:
        actions = ACTIONS.get(self.part)
        if actions is None or self.action not in actions:
            raise ValueError(f"unknown motion {self.part}.{self.action}")
        if self.direction not in actions[self.action]:
            allowed = sorted(d or "none" for d in actions[self.action])
            raise ValueError(f"{self.part}.{self.action} takes direction {allowed}, not {self.direction!r}")
        if not 0.0 <= self.amplitude <= 1.0:
            raise ValueError(f"amplitude must be in [0, 1], got {self.amplitude}")
        if not 0.0 <= self.start_s < self.end_s:
            raise ValueError(f"need 0 <= start_s < end_s, got {self.start_s} .. {self.end_s}")
        if self.repeats < 1:
            raise ValueError(f"repeats must be >= 1, got {self.repeats}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MotionPlan:
    """Tracks to draw over `duration_s`. `still`: the prompt asked for no motion at all."""

    duration_s: float
    tracks: tuple[Track, ...] = ()
    still: bool = False
    optimized_prompt: str = ""
    notes: tuple[str, ...] = field(default=())  # phrases the parser saw but could not use, for the user

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "still": self.still,
            "tracks": [track.to_dict() for track in self.tracks],
            "optimized_prompt": self.optimized_prompt,
            "notes": list(self.notes),
        }

    def has(self, part: str, action: str | None = None) -> bool:
        return any(t.part == part and (action is None or t.action == action) for t in self.tracks)
