"""Placing the prompt's motions in the clip, and the secondary motion the optimizer or idle life adds.

`_schedule`: clauses in sequence share the clip one after another, clauses at the same time overlap; camera,
ambient effects, wind and breathing span the whole clip unless explicitly sequenced. Counted motions ("nods
twice", "blinks") keep their natural length (`timings.py`), the others stretch to fill their step.
`_optimizer_tracks` adds natural secondary motion for prompt_optimizer (breathing, seeded blinks, a little
hair movement), `_idle_tracks` gentle idle life for a prompt with no motion in it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from typing import Final, cast

from stillmotion.engines.live2d.plan import ACTIONS, PLANT_ACTIONS, Part, Source, Track
from stillmotion.engines.live2d.prompt.clauses import Connector
from stillmotion.engines.live2d.prompt.reading import _Clause, _merge_same, _Motion, _Reading
from stillmotion.engines.live2d.prompt.timings import _TIMINGS

# ---------------------------------------------------------------------------------------------------
# Timing

# Scenery: spans the whole clip unless a "then" puts it in sequence.
_BACKGROUND_PARTS: Final = frozenset({"camera", "ambient", "scene", "hair", "clothes"})
_PART_ORDER: Final = {part: index for index, part in enumerate(ACTIONS)}
ASKED_ZOOM_MIN: Final = 0.68  # a prompted zoom's least amplitude (about 10% at the camera's 15% a unit)
ASKED_SCENE_MIN: Final = 0.5  # a prompted scene motion's least amplitude: twice the optimizer's scene life
ASKED_SMILE_MIN: Final = 0.55  # a prompted smile's least amplitude: "smiles softly" is gentle, but a smile
# A prompted breath, however gentle, is clearly deeper than the breathing the optimizer adds unasked (0.5), or
# nobody could tell it was drawn: at 1.0 the shoulders rise 4 times as far (at 0.8 a drawn chest rose 1.4% of
# the bust, below what reads as breathing).
ASKED_BREATHE_MIN: Final = 1.0
# Hair in the wind asked for "slightly" still moves where it shows: at 0.35 a photo's hair moved 2 px a second.
ASKED_HAIR_MIN: Final = 0.5


def _is_background(part: str, action: str) -> bool:
    # Eyes held closed are a state of the whole clip ("with her eyes closed"), like breathing.
    return part in _BACKGROUND_PARTS or (part, action) in (("body", "breathe"), ("eyes", "close"))


def _count(motion: _Motion) -> int | None:
    """How many times the motion happens, when that is fixed rather than filling its span."""
    if motion.count is not None or motion.continuous:
        return motion.count
    return _TIMINGS[(motion.part, motion.action)].default_count


def _is_fixed(motion: _Motion) -> bool:
    """A fixed motion keeps its natural length ("nods twice", "blinks"); the others stretch to fill."""
    return _count(motion) is not None


def _natural_s(motion: _Motion) -> float:
    timing = _TIMINGS[(motion.part, motion.action)]
    count = _count(motion)
    if count is not None:
        return count * (timing.cycle_s or timing.natural_s) / motion.speed
    if motion.continuous and timing.spacing_s:
        return 3 * timing.spacing_s / motion.speed
    return timing.natural_s / motion.speed


@dataclass
class _Step:
    """Clauses that happen together; steps follow each other."""

    opener: Connector
    motions: list[_Motion] = field(default_factory=list)


def _group_steps(clauses: tuple[_Clause, ...]) -> list[_Step]:
    steps: list[_Step] = []
    for clause in clauses:
        if not clause.motions:
            continue
        if clause.connector == "with" and steps:
            steps[-1].motions.extend(clause.motions)
        else:
            steps.append(_Step(clause.connector, list(clause.motions)))
    return steps


def _allocate(naturals: list[float], stretchable: list[bool], duration_s: float) -> list[tuple[float, float, float]]:
    """(start, end, scale) per step, in order and without overlap. Leftover time goes to the steps that can
    stretch (a smile holds longer); with none, fixed steps slow down by at most 1.5x after a short lead-in.
    `scale` is what fixed motions inside the step are stretched (or squeezed) by."""
    if not naturals:
        return []
    total = sum(naturals)
    lengths: list[float]
    lead_in = 0.0
    if total >= duration_s:
        scale = duration_s / total  # too much for the clip: everything shares it pro rata
        lengths, scales = [n * scale for n in naturals], [scale] * len(naturals)
    elif any(stretchable):
        stretch_total = sum(n for n, s in zip(naturals, stretchable, strict=True) if s)
        slack = duration_s - total
        lengths = [n + (slack * n / stretch_total if s else 0.0) for n, s in zip(naturals, stretchable, strict=True)]
        scales = [1.0] * len(naturals)
    else:
        scale = min(1.5, duration_s / total)
        lengths, scales = [n * scale for n in naturals], [scale] * len(naturals)
        lead_in = min(1.0, (duration_s - total * scale) / 3)
    spans: list[tuple[float, float, float]] = []
    start = lead_in
    for length, scale in zip(lengths, scales, strict=True):
        end = min(duration_s, start + length)
        spans.append((start, end, scale))
        start = end
    return spans


def _repeats(motion: _Motion, length_s: float, notes: list[str]) -> int:
    timing = _TIMINGS[(motion.part, motion.action)]
    count = _count(motion)
    if count is not None:
        fits = max(1, int(length_s / timing.min_s + 1e-9))
        if count > fits and motion.count is not None:
            notes.append(f"{motion.phrase!r} {count} times does not fit in {length_s:.1f} s; drawing {fits}")
        return min(count, fits)
    if timing.spacing_s:
        return max(1, int(length_s * motion.speed / timing.spacing_s))
    if timing.cycle_s > 0:
        return max(1, round(length_s * motion.speed / timing.cycle_s))
    return 1


def _track(motion: _Motion, start: float, end: float, repeats: int) -> Track:
    amplitude = motion.amplitude
    if motion.part == "camera" and motion.action != "static":
        amplitude *= motion.speed if motion.speed < 1 else 1.4 if motion.speed > 1 else 1.0  # a slow zoom goes less far
        if motion.action == "zoom":
            # ...but a zoom that was asked for, however slow or slight, goes clearly further than the push-in
            # an idle clip or the optimizer adds unasked (amplitude 0.35-0.4), or nobody could tell it was drawn.
            amplitude = max(amplitude, ASKED_ZOOM_MIN)
    if (motion.part, motion.action) == ("mouth", "smile"):
        # At half strength a drawn mouth's line hardly bends: a soft smile would read as no smile at all.
        amplitude = max(amplitude, ASKED_SMILE_MIN)
    if (motion.part, motion.action) == ("body", "breathe"):
        amplitude = max(amplitude, ASKED_BREATHE_MIN)
    if (motion.part, motion.action) == ("hair", "wind"):
        amplitude = max(amplitude, ASKED_HAIR_MIN)
    if motion.part == "scene":
        # "A gentle breeze in the leaves" is gentle, but still more than the life the optimizer gives a
        # landscape unasked, or the asked motion would not be told from it.
        amplitude = max(amplitude, ASKED_SCENE_MIN)
    return Track(
        part=motion.part,
        action=motion.action,
        direction=motion.direction,
        amplitude=round(min(1.0, max(0.05, amplitude)), 3),
        start_s=start,
        end_s=end,
        easing=motion.easing,
        repeats=repeats,
        source="prompt",
    )


def _span(start: float, end: float, duration_s: float) -> tuple[float, float]:
    """Rounded for readability, clamped into the clip, never empty."""
    start, end = max(0.0, min(start, duration_s)), max(0.0, min(end, duration_s))
    rounded = (round(start, 3), min(round(end, 3), duration_s))
    if rounded[0] < rounded[1]:
        return rounded
    if start < end:
        return start, end
    return max(0.0, min(start, duration_s - 1e-3)), duration_s


_LEAD_IN_S: Final = 0.5


def _schedule(reading: _Reading, duration_s: float) -> tuple[list[Track], list[str]]:
    """The prompt's own tracks (source "prompt") and any notes about fitting them into the clip."""
    notes: list[str] = []
    steps = _group_steps(reading.clauses)
    timed: list[list[_Motion]] = []
    pooled: dict[tuple[str, str], _Motion] = {}
    for index, step in enumerate(steps):
        explicit = step.opener == "then" or (index + 1 < len(steps) and steps[index + 1].opener == "then")
        kept: list[_Motion] = []
        for motion in step.motions:
            if explicit or not _is_background(motion.part, motion.action):
                kept.append(motion)
            else:
                key = (motion.part, motion.action)
                pooled[key] = _merge_same([pooled[key], motion])[0] if key in pooled else motion
        if kept:
            timed.append(_merge_same(kept))

    tracks: list[Track] = []
    phrases: dict[int, str] = {}  # id of a track -> the words it was read from
    naturals = [max(_natural_s(m) for m in step) for step in timed]
    stretchable = [any(not _is_fixed(m) for m in step) for step in timed]
    for together, (start, end, scale) in zip(timed, _allocate(naturals, stretchable, duration_s), strict=True):
        for motion in together:
            stretch = min(scale, _TIMINGS[(motion.part, motion.action)].max_stretch)
            length = min(end - start, _natural_s(motion) * stretch) if _is_fixed(motion) else end - start
            # A short motion sharing a longer step gets a lead-in (up to half a second) so that it does not
            # happen in the clip's first instant, where a viewer barely sees it.
            lead_in = min((end - start - length) / 2, _LEAD_IN_S)
            first, last = _span(start + lead_in, start + lead_in + length, duration_s)
            tracks.append(_track(motion, first, last, _repeats(motion, last - first, notes)))
            phrases[id(tracks[-1])] = motion.phrase
    tracks = _gaze_held(tracks, phrases, duration_s)
    for motion in pooled.values():
        first, last = _span(0.0, duration_s, duration_s)
        tracks.append(_track(motion, first, last, _repeats(motion, last - first, notes)))

    if any(t.part == "camera" and t.action == "static" for t in tracks):
        moves = [t for t in tracks if t.part == "camera" and t.action != "static"]
        if moves:
            notes.append("camera moves dropped: the prompt also asks for a still camera")
            tracks = [t for t in tracks if t not in moves]
    tracks.extend(_clothes_in_wind(tracks, reading))
    return _plants_together(tracks), notes


# Where the head or the eyes look (a look, a turn): the last place they were sent to is where they stay.
_GAZE: Final = frozenset({("head", "look"), ("eyes", "look"), ("head", "turn"), ("head", "face")})
# ... unless the words say the look is brief: a glance or a peek comes back.
_BRIEF_LOOK: Final = re.compile(r"glanc|peek|peep|瞥|偷看")


def _gaze_held(tracks: list[Track], phrases: dict[int, str], duration_s: float) -> list[Track]:
    """`tracks` with the last gaze (a look or a turn, `_GAZE`) held to the clip's end: "her eyes drift down, and
    a tear slides down her cheek" keeps her eyes down while the tear runs (as a person reads it), where the
    eyes came back up as the tear began. A glance comes back; a later look or turn takes over from an earlier
    one, which ends as scheduled; a look repeated ("looks left and right") ends where it is scheduled to."""
    gazes = [t for t in tracks if (t.part, t.action) in _GAZE]
    if not gazes:
        return tracks
    last = max(gazes, key=lambda t: t.start_s)
    if last.repeats != 1 or last.end_s >= duration_s or _BRIEF_LOOK.search(phrases.get(id(last), "")):
        return tracks
    if any(t is not last and t.start_s >= last.start_s for t in gazes):  # two at once: as scheduled
        return tracks
    held = replace(last, end_s=float(duration_s))
    return [held if t is last else t for t in tracks]


def _plants_together(tracks: list[Track]) -> list[Track]:
    """The trees and the ground's plants both asked for ("leaves rustle, the grass sways"), or either beside all
    the plants, are one sway of all of them: two sways of one meadow would each be drawn over the other."""
    plants = [t for t in tracks if t.part == "scene" and t.action in PLANT_ACTIONS]
    if len({t.action for t in plants}) < 2:
        return tracks
    first = plants[0]
    together = replace(
        first,
        action="foliage",
        direction=next((t.direction for t in plants if t.direction), None),
        amplitude=max(t.amplitude for t in plants),
        start_s=min(t.start_s for t in plants),
        end_s=max(t.end_s for t in plants),
        repeats=max(t.repeats for t in plants),
    )
    return [together if t is first else t for t in tracks if t is first or t not in plants]


def _clothes_in_wind(tracks: list[Track], reading: _Reading) -> list[Track]:
    """Wind that is strong, or blows on clothes the prompt mentions, moves the clothes too."""
    if any(t.part == "clothes" for t in tracks) or ("clothes", "wind") in reading.forbidden:
        return []
    return [
        replace(track, part="clothes")
        for track in tracks
        if (track.part, track.action) == ("hair", "wind") and (reading.mentions_clothing or track.amplitude >= 0.95)
    ]


# ---------------------------------------------------------------------------------------------------
# Secondary motion

OPTIMIZER_BLINK_S: Final = 0.3
# Between one blink's end and the next one's start (Live2D blinks every 0-7 s at random).
OPTIMIZER_BLINK_GAP_S: Final = (0.0, 7.0)


def _whole_clip(
    part: Part, action: str, duration_s: float, amplitude: float, source: Source, direction: str | None = None
) -> Track:
    timing = _TIMINGS[(part, action)]
    repeats = max(1, round(duration_s / timing.cycle_s)) if timing.cycle_s else 1
    return Track(part, action, direction, amplitude, 0.0, duration_s, "ease_in_out", repeats, source)


# The slow push-in an idle clip or the optimizer adds to a prompt that asks for no motion.
PUSH_IN_AMPLITUDE: Final = 0.4


def push_in(duration_s: float, source: Source) -> Track:
    """The slow push-in over the whole clip, as idle life or the optimizer adds it."""
    return _whole_clip("camera", "zoom", duration_s, PUSH_IN_AMPLITUDE, source, direction="in")


def _optimizer_tracks(
    tracks: list[Track], forbidden: frozenset[tuple[str, str]], duration_s: float, seed: int
) -> list[Track]:
    """Natural secondary motion for prompt_optimizer: breathing and seeded blinks; when the prompt asked
    for no motion at all, a rig's idle (head and body drifting, `rig.head`) and a slow push-in too."""
    added: list[Track] = []
    body_busy = any(t.part == "body" and t.action in ("breathe", "sway", "bounce") for t in tracks)
    if not body_busy and ("body", "breathe") not in forbidden:
        added.append(_whole_clip("body", "breathe", duration_s, 0.5, "optimizer"))
    eyes_busy = any(t.part == "eyes" and t.action in ("blink", "wink") for t in tracks)
    if not eyes_busy and ("eyes", "blink") not in forbidden:
        added += _blinks(duration_s, seed, "optimizer")
    # A rig's idle when the prompt asked for nothing to draw; beside an asked motion it would drown it out.
    if not tracks and not _forbids_head(forbidden):
        added.append(Track("head", "idle", None, 1.0, 0.0, duration_s, "linear", 1, "optimizer"))
    if not tracks and ("camera", "zoom") not in forbidden:
        added.append(push_in(duration_s, "optimizer"))
    return added


def _blinks(duration_s: float, seed: int, source: Source) -> list[Track]:
    """Seeded blinks as a rig blinks: the first within the first 1.5 s, then after a random 0-7 s."""
    rng = random.Random(seed)
    blinks: list[Track] = []
    moment = rng.uniform(0.5, 1.5)
    while (start := round(moment, 2)) + OPTIMIZER_BLINK_S <= duration_s:
        end = round(start + OPTIMIZER_BLINK_S, 3)
        blinks.append(Track("eyes", "blink", None, 0.7, start, end, "ease_in_out", 1, source))
        moment += OPTIMIZER_BLINK_S + rng.uniform(*OPTIMIZER_BLINK_GAP_S)
    return blinks


def _forbids_head(forbidden: frozenset[tuple[str, str]]) -> bool:
    return any(part == "head" for part, _ in forbidden)


def _idle_tracks(forbidden: frozenset[tuple[str, str]], duration_s: float, seed: int = 0) -> list[Track]:
    """Idle life like a rig's for a prompt with no motion in it, when the optimizer is off: breathing, the
    head and body drifting on their own periods, seeded blinks, a slow push-in. A picture without a
    character draws only what fits it (the engine drops the rest and says so in the plan)."""
    wanted = (("body", "breathe", 0.5, None), ("camera", "zoom", PUSH_IN_AMPLITUDE, "in"))
    tracks = [
        _whole_clip(cast(Part, part), action, duration_s, amplitude, "idle", direction=direction)
        for part, action, amplitude, direction in wanted
        if (part, action) not in forbidden
    ]
    if not _forbids_head(forbidden):
        tracks.append(Track("head", "idle", None, 1.0, 0.0, duration_s, "linear", 1, "idle"))
    if ("eyes", "blink") not in forbidden:
        tracks += _blinks(duration_s, seed, "idle")
    return tracks
