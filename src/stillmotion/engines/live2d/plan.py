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
* A scene track's `repeats` counts flow cycles over its span (about one per 2 s at the natural pace): more is
  faster ("the river rushes quickly"), fewer slower. The renderer fills in its `region`, `[x, y, w, h]` in
  picture pixels: where the picture showed what the track animates.
* `start_s`/`end_s` bound the track inside the clip; `repeats` counts cycles of an oscillating action
  (a nod twice: 2) or occurrences of a one-shot action (blink three times: 3); `easing` shapes the envelope.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

# A scene track's natural flow cycle: `repeats` over its span at this pace is "as usual" (`scene_tempo`).
SCENE_CYCLE_S: Final = 2.0

Part = Literal[
    "head", "eyes", "mouth", "body", "hair", "clothes", "hand", "tail", "ears", "camera", "ambient", "scene"
]
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
        "blush": frozenset({None}),  # the cheeks flush pink
    },
    "eyes": {
        "blink": frozenset({None}),
        "wink": frozenset({"left", "right"}),
        "look": frozenset({"left", "right", "up", "down"}),
        "close": frozenset({None}),  # closed and held ("with her eyes closed"), not a blink
        "tear": frozenset({"left", "right", None}),  # a tear runs down the cheek under that eye
        "sparkle": frozenset({None}),  # star-shaped glints twinkle in the eyes
    },
    "mouth": {
        "smile": frozenset({None}),
        "open": frozenset({None}),
        "talk": frozenset({None}),
        "laugh": frozenset({None}),
        "frown": frozenset({None}),  # the corners of the mouth pulled down (sadness, anger)
    },
    "body": {
        "breathe": frozenset({None}),
        "sway": frozenset({None}),
        "lean": frozenset({"left", "right", "forward", "back"}),
        "bounce": frozenset({None}),
    },
    "hair": {"wind": frozenset({"left", "right", None}), "flutter": frozenset({None})},
    "clothes": {"wind": frozenset({"left", "right", None}), "flutter": frozenset({None})},
    # A drawn character's hand, raised into the picture from below its edge (`rig/arm.py`): the direction is the
    # side of the picture it rises on (None: the character's right hand, on the picture's left).
    "hand": {
        "raise": frozenset({None, "left", "right"}),  # raised and held, palm open
        "wave": frozenset({None, "left", "right"}),
        "thumbs_up": frozenset({None, "left", "right"}),
        "peace": frozenset({None, "left", "right"}),  # a V sign
        "chin": frozenset({None, "left", "right"}),  # a loose fist under the chin
        "hair": frozenset({None, "left", "right"}),  # fingers brushing down the hair beside the face
        "mouth": frozenset({None, "left", "right"}),  # the fingers over the mouth (a hidden giggle)
        "heart": frozenset({None, "left", "right"}),  # the hand flat on the chest
    },
    # An animal's (`rig/animal.py`): a twitch of both ears, or of the one on the picture's left or right.
    "tail": {"wag": frozenset({None})},
    "ears": {"twitch": frozenset({None, "left", "right"})},
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
    # What moves in the picture itself, where the picture shows it (`scene/`): the words say which effect,
    # the picture says where. Directions name where the flow or drift goes; None lets the picture decide.
    "scene": {
        "falls": frozenset({None}),
        "water": frozenset({None, "left", "right", "up", "down"}),
        "waves": frozenset({None}),
        "ripples": frozenset({None}),
        "reflections": frozenset({None}),  # the lights mirrored in a wet street shimmer
        "flag": frozenset({None}),  # a flag flutters on its pole
        "clouds": frozenset({None, "left", "right"}),
        "steam": frozenset({None}),
        "smoke": frozenset({None}),
        "fog": frozenset({None, "left", "right"}),
        "fire": frozenset({None}),
        "foliage": frozenset({None, "left", "right"}),  # all the plants
        "trees": frozenset({None, "left", "right"}),  # what stands above the ground: crowns, bushes
        "grass": frozenset({None, "left", "right"}),  # what covers the ground: grass, flowers, crops
        "lightning": frozenset({None}),
        "boat": frozenset({None}),  # a boat on the water bobs and rocks
        "sheen": frozenset({None}),  # a band of light sweeps across the subject
        "birds": frozenset({None, "left", "right"}),  # a flock flies across the sky
    },
}


# The scene's plant sways: all of them, the trees, the ground's plants.
PLANT_ACTIONS: Final = ("foliage", "trees", "grass")


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
    region: tuple[int, int, int, int] | None = None  # scene tracks: where it was drawn, [x, y, w, h] px

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
        fields = asdict(self)
        if self.region is None:
            del fields["region"]  # only scene tracks are placed in the picture
        else:
            fields["region"] = list(self.region)
        return fields


def scene_tempo(track: Track) -> float:
    """How fast a scene track runs against its natural pace (1.0), from the flow cycles it counts."""
    length = track.end_s - track.start_s
    return max(0.25, min(4.0, track.repeats * SCENE_CYCLE_S / max(length, SCENE_CYCLE_S)))


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
