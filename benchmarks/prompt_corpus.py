"""The prompt corpus: prompts as users write them, each with the concepts it asks for.

`prompt_corpus.jsonl` holds one entry a line: `id`, `prompt`, `scene` (the test picture it goes with,
drawn by `scenes.py`), `concepts` (names from `CONCEPTS` below), `lang` and `held_out`. The prompts were
written before the parser work, in the words of a new user of an image-to-video service: short and long,
drawn characters and photos, landscapes, products, night streets, fire, weather, animals, gestures,
expressions, gaze, counts, negation, camera moves, prose in the style of a prompt optimizer, Chinese,
and a few in languages the engine is not meant to read. Every third entry (by id) is held out: it is
scored separately, at the end, so that no engine change is tuned on it.

Each concept names the picture region where it must move (`region`, a mask every scene it is used
with provides) and how the scorer (`prompt_eval.py`) looks there (`measure`):

* `flow`: optical flow inside the region, against flow outside it;
* `change`: pixel change inside the region, against outside (effects that change colour or light
  without moving anything: a blush, a flicker, a flash);
* `still`: the concept asks for NO motion (negation): drawn when the region stays still;
* `camera`: a camera move, from the frame's global flow (`check` names the `flow_metrics` function);
* `particles`: an overlay (rain, snow, sparkles, petals), by `flow_metrics.overlay_particles`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

CORPUS_JSONL: Final = Path(__file__).resolve().parent / "prompt_corpus.jsonl"

Measure = Literal["flow", "change", "still", "camera", "particles"]


@dataclass(frozen=True)
class Concept:
    region: str
    measure: Measure = "flow"
    about: str = ""
    check: str = ""  # for `camera` and `particles`: the `flow_metrics` function, with `args`
    args: tuple[tuple[str, object], ...] = ()


C = Concept
CONCEPTS: Final[dict[str, Concept]] = {
    # eyes
    "blink": C("eyes", about="the eyes close and open"),
    "blink_count": C("eyes", about="a counted blink: twice, three times"),
    "wink": C("eyes", about="one eye closes"),
    "eyes_close": C("eyes", about="the eyes close and stay closed"),
    "eyes_sparkle": C("eyes", "change", about="highlights twinkle in the eyes"),
    "no_blink": C("eyes", "still", about="negation: the eyes do not blink"),
    "animal_blink": C("eyes", about="an animal's eyes close and open"),
    # mouth
    "smile": C("mouth", about="the mouth curves into a smile"),
    "talk": C("mouth", about="the mouth moves as in speech"),
    "sing": C("mouth", about="the mouth opens and closes as in song"),
    "yawn": C("mouth", about="the mouth opens wide"),
    "pant": C("mouth", about="an animal pants, mouth open"),
    # head and gaze
    "nod": C("face", about="the head moves down and up"),
    "head_shake": C("face", about="the head turns left and right"),
    "head_tilt": C("face", about="the head leans to one side"),
    "head_turn": C("face", about="the head turns"),
    "gaze_camera": C("face", about="the head or eyes turn to the viewer"),
    "look_away": C("face", about="the head or eyes turn away"),
    "look_down": C("face", about="the head or eyes turn down"),
    "look_up": C("face", about="the head or eyes turn up"),
    # expressions (the whole face changes: brows, eyes, mouth)
    "expr_joy": C("face", about="joy or laughter, often with the eyes closed"),
    "expr_surprise": C("face", about="surprise: eyes and mouth open wide"),
    "expr_anger": C("face", about="anger: brows down, mouth tight"),
    "expr_sad": C("face", about="sadness: brows up, mouth down"),
    "tear": C("cheeks", about="a tear runs down the cheek"),
    "blush": C("cheeks", "change", about="the cheeks turn pink"),
    # body, hair, hands
    "breathe": C("body", about="the chest and shoulders rise and fall"),
    "sway": C("body", about="the body sways"),
    "hair_wind": C("hair", about="the hair moves in the wind"),
    "wave_hand": C("hand_area", about="a hand waves"),
    "raise_hand": C("hand_area", about="a hand rises"),
    "thumbs_up": C("hand_area", about="a hand gives a thumbs up"),
    "peace_sign": C("hand_area", about="a hand makes a V"),
    "hand_chin": C("hand_area", about="a hand comes up to the chin"),
    "brush_hair": C("hand_area", about="a hand runs through or tucks the hair"),
    # animals
    "ear_twitch": C("ears", about="an ear twitches or flops"),
    "tail": C("tail", about="the tail swishes or wags"),
    # nature
    "clouds_drift": C("clouds", about="clouds move across the sky"),
    "water_flow": C("water", about="a river or stream flows"),
    "waterfall": C("waterfall", about="the waterfall pours"),
    "waves": C("water", about="the sea's waves roll"),
    "reflection_ripple": C("water", about="reflections on water (or a wet street) ripple"),
    "foliage_sway": C("trees", about="leaves and branches sway"),
    "grass_sway": C("grass", about="the grass waves"),
    "flowers_sway": C("flowers", about="flowers nod in the wind"),
    "birds_fly": C("sky", about="birds cross the sky"),
    "boat_bob": C("boat", about="the boat rocks on the water"),
    "flag_flutter": C("flag", about="a flag flutters"),
    # products, fire, light
    "steam": C("steam", about="steam rises above the cup"),
    "smoke": C("smoke", about="smoke rises"),
    "fire": C("flames", about="flames flicker and dance"),
    "neon_flicker": C("neon", "change", about="neon signs flicker or pulse"),
    "light_sweep": C("bottle", "change", about="light glints across the glass"),
    "lightning": C("sky", "change", about="a lightning flash lights the sky"),
    "fog": C("frame", "change", about="mist or fog drifts or thickens"),
    # overlays
    "rain": C("frame", "particles", about="rain falls", check="overlay_particles", args=(("kind", "rain"),)),
    "snow": C("frame", "particles", about="snow falls", check="overlay_particles", args=(("kind", "snow"),)),
    "sparkles": C(
        "frame", "particles", about="sparkles twinkle", check="overlay_particles", args=(("kind", "sparkles"),)
    ),
    "petals": C("frame", "particles", about="petals drift", check="overlay_particles", args=(("kind", "petals"),)),
    # camera
    "camera_zoom_in": C("frame", "camera", about="zoom or push in", check="radial_flow", args=(("sign", 1),)),
    "camera_zoom_out": C("frame", "camera", about="zoom or pull out", check="radial_flow", args=(("sign", -1),)),
    "camera_pan": C("frame", "camera", about="the camera pans", check="horizontal_translation"),
    "camera_tilt": C("frame", "camera", about="the camera tilts", check="vertical_translation"),
    "camera_orbit": C("frame", "camera", about="the camera circles the subject", check="horizontal_translation"),
    "camera_static": C("frame", "still", about="negation: no camera movement", check="camera_static"),
}

# The pictures the corpus is written for (`scenes.py` draws each, with the regions named above).
SCENE_NAMES: Final = (
    "drawn-blue",
    "drawn-brown",
    "drawn-flat",
    "astronaut",
    "hopper",
    "landscape",
    "lake",
    "seascape",
    "coffee",
    "perfume",
    "candles",
    "campfire",
    "fireplace",
    "night-street",
    "cat",
    "dog",
)


@dataclass(frozen=True)
class Entry:
    id: str
    prompt: str
    scene: str
    concepts: tuple[str, ...]
    lang: str
    held_out: bool


def load_corpus(path: Path = CORPUS_JSONL) -> list[Entry]:
    """The corpus in id order; raises ValueError naming the line of a malformed entry."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        entry = Entry(
            id=str(raw["id"]),
            prompt=str(raw["prompt"]),
            scene=str(raw["scene"]),
            concepts=tuple(str(c) for c in raw["concepts"]),
            lang=str(raw["lang"]),
            held_out=bool(raw["held_out"]),
        )
        unknown = [c for c in entry.concepts if c not in CONCEPTS]
        if unknown:
            raise ValueError(f"{path.name}:{number}: {entry.id}: unknown concept(s) {unknown}")
        if entry.scene not in SCENE_NAMES:
            raise ValueError(f"{path.name}:{number}: {entry.id}: unknown scene {entry.scene!r}")
        if not entry.concepts:
            raise ValueError(f"{path.name}:{number}: {entry.id}: no concepts")
        entries.append(entry)
    return sorted(entries, key=lambda e: e.id)
