"""Read a free-form English prompt into an explicit `MotionPlan`, with rules only (no model, no downloads).

The reading runs in four small steps, each testable on its own:

1. `_split_clauses` (`clauses.py`): sentences, commas and connectors ("then", "while", "after", ...) cut the
   prompt into clauses, each knowing how it follows the one before (in sequence or at the same time).
2. `_read_clause` (`reading.py`): a table of phrases (`_PHRASES` in `lexicon.py`: verbs, inflections and
   synonyms per motion) finds what moves; a negation rule removes what the prompt forbids; nearby words give
   direction, strength, speed and count (`modifiers.py`).
3. `_schedule` (`schedule.py`): clauses in sequence share the clip one after another, clauses at the same
   time overlap; camera, ambient effects, wind and breathing span the whole clip unless explicitly sequenced.
4. `parse_prompt` (here): the optimizer (or, without it, idle life for a prompt with no motion in it) adds
   secondary motion (`schedule.py`), and `describe_plan` (`describe.py`) writes the plan back as English for
   the user.

The negation rule is spelt out in `reading.py`.
"""

from __future__ import annotations

import math
from dataclasses import replace

from stillmotion.engines.live2d.plan import MotionPlan
from stillmotion.engines.live2d.prompt.chinese import quote_originals, read_chinese
from stillmotion.engines.live2d.prompt.describe import describe_plan
from stillmotion.engines.live2d.prompt.reading import _read_prompt
from stillmotion.engines.live2d.prompt.schedule import _PART_ORDER, _idle_tracks, _optimizer_tracks, _schedule

__all__ = ["describe_plan", "parse_prompt"]


def parse_prompt(prompt: str, *, duration_s: float, optimize: bool, seed: int = 0) -> MotionPlan:
    """The motion `prompt` asks for over a clip of `duration_s` seconds, as explicit tracks.

    `optimize` (the API's prompt_optimizer) adds natural secondary motion marked `source="optimizer"`;
    without it only what was asked is drawn, or gentle idle life (`source="idle"`) when nothing was.
    `seed` places the optimizer's blinks, so the same seed gives the same plan."""
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"`duration_s` must be a positive number of seconds, got {duration_s}")
    reading = _read_prompt(prompt)
    tracks, timing_notes = _schedule(reading, duration_s)
    _, chinese = read_chinese(prompt)
    notes = [quote_originals(note, chinese) for note in (*reading.notes, *timing_notes)]
    if reading.still and all((t.part, t.action) == ("camera", "static") for t in tracks):
        plan = MotionPlan(duration_s=duration_s, still=True, notes=tuple(notes))
        return replace(plan, optimized_prompt=describe_plan(plan))
    if not reading.still:
        if optimize:
            tracks += _optimizer_tracks(tracks, reading.forbidden, duration_s, seed)
        elif not tracks:
            tracks += _idle_tracks(reading.forbidden, duration_s, seed)
    if not reading.understood and prompt.strip():
        notes.append(f"no motion understood in {prompt.strip()!r}")
    tracks.sort(key=lambda t: (t.start_s, _PART_ORDER[t.part], t.action, t.end_s))
    plan = MotionPlan(duration_s=duration_s, tracks=tuple(tracks), notes=tuple(notes))
    return replace(plan, optimized_prompt=describe_plan(plan))
