"""Writing a plan back as plain English, in order and with timings: the `optimized_prompt` the user sees."""

from __future__ import annotations

from typing import Final

from stillmotion.engines.live2d.plan import MotionPlan, Track
from stillmotion.engines.live2d.prompt.schedule import ASKED_ZOOM_MIN

_CHARACTER_VERBS: Final[dict[tuple[str, str], str]] = {
    ("head", "nod"): "nods",
    ("head", "shake"): "shakes the head",
    ("head", "tilt"): "tilts the head {to}",
    ("head", "turn"): "turns the head {to}",
    ("head", "look"): "looks {to}",
    ("head", "idle"): "sways the head and shoulders gently",
    ("head", "face"): "turns to face the viewer",
    ("eyes", "close"): "closes the eyes",
    ("eyes", "blink"): "blinks",
    ("eyes", "wink"): "winks the eye on the {dir}",
    ("eyes", "look"): "glances {to}",
    ("mouth", "smile"): "smiles",
    ("mouth", "open"): "opens the mouth",
    ("mouth", "talk"): "talks",
    ("mouth", "laugh"): "laughs",
    ("mouth", "frown"): "frowns",
    ("head", "blush"): "blushes",
    ("eyes", "tear"): "sheds a tear",
    ("eyes", "sparkle"): "has sparkling eyes",
    ("body", "breathe"): "breathes",
    ("body", "sway"): "sways",
    ("body", "lean"): "leans {to}",
    ("body", "bounce"): "bounces",
    ("hand", "raise"): "raises a hand",
    ("hand", "wave"): "waves",
    ("hand", "thumbs_up"): "gives a thumbs up",
    ("hand", "peace"): "makes a peace sign",
    ("hand", "chin"): "rests the chin on a hand",
    ("hand", "hair"): "brushes the hair with the fingers",
    ("hand", "mouth"): "covers the mouth with a hand",
    ("hand", "heart"): "puts a hand on the chest",
    ("tail", "wag"): "wags its tail",
    ("ears", "twitch"): "twitches an ear",
}
_COUNTED: Final = frozenset(
    {("head", "nod"), ("head", "shake"), ("eyes", "blink"), ("eyes", "wink"), ("body", "bounce"), ("ears", "twitch")}
)
# {manner}: " gently" / " strongly" / "" from the amplitude.
_SCENE_SENTENCES: Final[dict[tuple[str, str], str]] = {
    ("hair", "wind"): "The hair moves{manner} in the wind",
    ("hair", "flutter"): "The hair flutters{manner}",
    ("clothes", "wind"): "The clothes move{manner} in the wind",
    ("clothes", "flutter"): "The clothes flutter{manner}",
    ("ambient", "flicker"): "The light flickers{manner}",
    ("ambient", "glow"): "A soft glow pulses{manner}",
    ("ambient", "snow"): "Snow falls{manner}",
    ("ambient", "rain"): "Rain falls{manner}",
    ("ambient", "petals"): "Petals drift down{manner}",
    ("ambient", "sparkles"): "Sparkles twinkle{manner}",
}
_CAMERA_VERBS: Final = {"zoom": "zooms {dir}", "pan": "pans {to}", "tilt": "tilts {dir}", "static": "stays still"}


def _to(direction: str | None) -> str:
    return f"to the {direction}" if direction in ("left", "right") else direction or ""


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _seconds(track: Track) -> str:
    return f"({track.start_s:.1f}-{track.end_s:.1f} s)"


def _covers(track: Track, duration_s: float) -> bool:
    return track.start_s <= 0.05 and track.end_s >= duration_s - 0.05


def _character_phrase(track: Track) -> str:
    verb = _CHARACTER_VERBS[(track.part, track.action)].format(to=_to(track.direction), dir=track.direction)
    if (track.part, track.action) in _COUNTED and (track.repeats > 1 or track.action in ("nod", "shake")):
        verb = f"{verb} {_times(track.repeats)}"
    if track.amplitude <= 0.4:
        verb = f"gently {verb}"
    elif track.amplitude >= 0.95:
        verb = f"strongly {verb}"
    return verb


def describe_plan(plan: MotionPlan) -> str:
    """The plan in plain English, in order and with timings: what the user's prompt became."""
    if plan.still:
        return "The image stays completely still."
    duration = plan.duration_s
    sentences: list[str] = []

    def when(track: Track) -> str:
        return " throughout" if _covers(track, duration) else f" {_seconds(track)}"

    character = [
        t
        for t in plan.tracks
        if (t.part in ("head", "eyes", "mouth") or (t.part == "body" and t.action != "breathe"))
        and not (t.source == "optimizer" and t.action == "blink")
    ]
    groups: list[list[Track]] = []
    for track in character:
        if groups and (groups[-1][0].start_s, groups[-1][0].end_s) == (track.start_s, track.end_s):
            groups[-1].append(track)
        else:
            groups.append([track])
    if groups:
        parts: list[str] = []
        for index, group in enumerate(groups):
            phrase = " and ".join(_character_phrase(t) for t in group) + when(group[0])
            if index > 0:
                sequential = group[0].start_s >= groups[index - 1][0].end_s - 1e-6
                phrase = ("then " if sequential else "and ") + phrase
            parts.append(phrase)
        sentences.append("The character " + ", ".join(parts) + ".")

    for track in plan.tracks:
        if (track.part, track.action) == ("body", "breathe"):
            adjective = "Gentle" if track.amplitude <= 0.55 else "Deep" if track.amplitude >= 0.95 else "Steady"
            sentences.append(f"{adjective} breathing{when(track)}.")
    for track in plan.tracks:
        template = _SCENE_SENTENCES.get((track.part, track.action))
        if template is not None:
            manner = " gently" if track.amplitude <= 0.4 else " strongly" if track.amplitude >= 0.95 else ""
            towards = f", blowing {_to(track.direction)}," if track.direction else ""
            sentences.append(f"{template.format(manner=manner)}{towards}{when(track)}.")
        elif track.part == "scene":
            from stillmotion.engines.live2d.prompt.scene_words import scene_sentence  # after lexicon (a cycle)

            sentences.append(f"{scene_sentence(track)}{when(track)}.")
    blinks = [t for t in plan.tracks if t.source == "optimizer" and (t.part, t.action) == ("eyes", "blink")]
    if blinks:
        moments = [f"{t.start_s:.1f} s" for t in blinks]
        listed = moments[0] if len(moments) == 1 else ", ".join(moments[:-1]) + " and " + moments[-1]
        sentences.append(f"Blinks at {listed}.")
    for track in plan.tracks:
        if track.part == "camera":
            verb = _CAMERA_VERBS[track.action].format(to=_to(track.direction), dir=track.direction)
            # A slow or slight zoom that was asked for keeps a least amplitude.
            slow = ASKED_ZOOM_MIN if track.action == "zoom" else 0.45
            if track.action != "static" and track.amplitude <= slow:
                verb = f"slowly {verb}"
            elif track.action != "static" and track.amplitude >= 0.95:
                verb = f"quickly {verb}"
            timing = "" if _covers(track, duration) else f" {_seconds(track)}"
            sentences.append(f"The camera {verb}{timing}.")
    return " ".join(sentences)
