"""Does the engine draw what the prompt corpus asks for? Each concept: drawn, only noted, or silently dropped.

Every corpus entry (`prompt_corpus.jsonl`) is rendered by the live2d engine as the API renders it
(the prompt, the optimizer on, a fixed seed; the picture's own size, as a `size`-bearing request gets)
and each concept the entry asks for is judged on the decoded clip:

* **drawn** when the clip moves (or, for a colour effect, changes) in the concept's region, clearly
  more than outside it and than the same region of the *idle control*: the same picture rendered with
  a prompt that asks for nothing (`CONTROL_PROMPT`), i.e. what the engine draws anyway. Measures and
  bars are below (`judge_flow`, `judge_change`, `CHARACTER_SIGNATURES`, ...). The plan is not looked at.
* **only noted** when not drawn, but one of the plan's notes (`motion_plan.notes`, or the renderer's
  `render_notes`) quotes words of the prompt that ask for it (`CUES`), or says the language is not read;
* **silently dropped** otherwise.

The bars were checked on contact sheets (`contact_sheet.py --diff`) of the 2026-12-05 baseline: the
coffee scene's idle push-in (flat window panes gave Farneback garbage until each step was weighted by
the texture of its frames), a landscape pan with a body sway (the sky plate and the swaying foreground
move apart, so clouds_drift reads as drawn: parallax, a borderline call), a seascape whose segmented boat
flutters (boat_bob drawn), candles swaying with their flames (fire drawn), a cat blink (the engine's lid
is a flat patch that spills over the cheek, so the eye is not 2x its control) and the Hopper photo's
planned blink (no lid moves in any frame: silent, rightly).

The main set (two thirds) is what engine work is measured on; the held-out third (`--held-out`) is
run only at the end, and reported separately. Results are kept in `prompt_corpus_results.json` (the
latest run of each set and a baseline) and written to BENCHMARKS.md's `prompt-corpus` section.

Usage: python benchmarks/prompt_eval.py [--held-out | --all] [--ids ID ...] [--limit N] [--keep DIR]
       [--duration-s 2] [--fps 12] [--no-write] [--baseline]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import cv2
import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

import flow_metrics as fm
import motion_eval as me
import prompt_corpus as pc
import scenes as sc
import stillmotion
from illustrations import png_bytes
from region_metrics import (
    MIN_CHANGE,
    MIN_RATIO,
    MIN_SPEED,
    Observed,
    camera_still,
    judge_change,
    judge_flow,
    judge_hand,
    named_mask,
    observe,
)
from report import cpu_model, write_section
from stillmotion.engines.base import RenderRequest, RenderResult
from stillmotion.engines.live2d import Live2DEngine
from stillmotion.media.video import read_frames

BoolMask = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float32]
Status = Literal["drawn", "noted", "silent"]
STATUSES: Final[tuple[Status, ...]] = ("drawn", "noted", "silent")

BENCH_DIR: Final = Path(__file__).resolve().parent
REPO_ROOT: Final = BENCH_DIR.parent
RESULTS_JSON: Final = BENCH_DIR / "prompt_corpus_results.json"
SECTION_START: Final = "<!-- benchmark:prompt-corpus:start -->"
SECTION_END: Final = "<!-- benchmark:prompt-corpus:end -->"
SEED: Final = 7
# Asks for nothing the engine (or the corpus) knows: the engine's own idle motion and optimizer.
CONTROL_PROMPT: Final = "a quiet moment"

# --- concept by concept -----------------------------------------------------------------------------------

E = me.E
# On a character (drawn or photo), concepts the motion evaluation has a signature for are judged with
# it (its regions, controls and bars): a list of alternatives, each a list of expectations that must all
# hold. An idle head sway must not pass for a nod, which a region's speed alone could not tell.
CHARACTER_SIGNATURES: Final[dict[str, tuple[tuple[me.Expect, ...], ...]]] = {
    "blink": ((E("eye_closure", "left_eye"), E("eye_closure", "right_eye")),),
    "animal_blink": ((E("eye_closure", "left_eye"), E("eye_closure", "right_eye")),),
    "eyes_close": ((E("eye_closure", "left_eye", reopen=1.0), E("eye_closure", "right_eye", reopen=1.0)),),
    "wink": (
        (E("eye_closure", "left_eye"), E("eye_closure", "right_eye", want=False)),
        (E("eye_closure", "right_eye"), E("eye_closure", "left_eye", want=False)),
    ),
    "no_blink": ((E("eye_closure", "left_eye", want=False), E("eye_closure", "right_eye", want=False)),),
    "smile": ((E("mouth_motion", "mouth"),),),
    "talk": ((E("mouth_motion", "mouth"),),),
    "sing": ((E("mouth_motion", "mouth"),),),
    "yawn": ((E("mouth_motion", "mouth"),),),
    "nod": ((E("vertical_oscillation", "face"),),),
    "head_shake": ((E("horizontal_oscillation", "face", min_reversals=2),),),
    "head_tilt": ((E("rotation", "face", clockwise=True),), (E("rotation", "face", clockwise=False),)),
    "head_turn": ((E("region_shift", "face", direction="left"),), (E("region_shift", "face", direction="right"),)),
    "look_away": ((E("region_shift", "face", direction="left"),), (E("region_shift", "face", direction="right"),)),
    "gaze_camera": ((E("region_shift", "face", direction="left"),), (E("region_shift", "face", direction="right"),)),
    "look_down": ((E("region_shift", "face", direction="down"),),),
    "look_up": ((E("region_shift", "face", direction="up"),),),
    "breathe": ((E("vertical_oscillation", "upper", min_amplitude=0.015),),),
    "sway": ((E("horizontal_oscillation", "upper", min_reversals=2),),),
    "hair_wind": ((E("region_concentration", "hair"),),),
    "pant": ((E("mouth_motion", "mouth"),),),
    # An expression: the mouth moves and both eyes stay changed (closed in laughter, wide in surprise,
    # narrowed under lowered brows) for a quarter of the clip, which a blink does not. Flow cannot tell
    # which expression it is; a smile with a blink does not pass.
    "expr_joy": ((E("mouth_motion", "mouth"), E("held_eye_change")),),
    "expr_surprise": ((E("mouth_motion", "mouth"), E("held_eye_change")),),
    "expr_anger": ((E("mouth_motion", "mouth"), E("held_eye_change")),),
    "expr_sad": ((E("mouth_motion", "mouth"), E("held_eye_change")),),
}
# Gaze can also be drawn with the eyes alone: these concepts also pass on the eyes' own motion.
GAZE: Final = frozenset({"head_turn", "look_away", "gaze_camera", "look_down", "look_up"})


def _signature(concept: str, observed: Observed) -> fm.Check:
    assert observed.regions is not None
    details = []
    for alternative in CHARACTER_SIGNATURES[concept]:
        results = [(expect, me.run_check(expect, observed.clip, observed.regions)) for expect in alternative]
        ok = all(check.passed == expect.want for expect, check in results)
        details.append(" & ".join(f"{expect.label()}: {check.detail}" for expect, check in results))
        if ok:
            return fm.Check(True, results[0][1].score, details[-1])
    return fm.Check(False, 0.0, " | ".join(details))


def _blink_count(observed: Observed) -> fm.Check:
    """Both eyes close (motion_eval's eye_closure) and one of them closes at least twice: its
    appearance-change curve rises above half its peak at least twice."""
    regions = observed.regions
    assert regions is not None and regions.left_eye is not None and regions.right_eye is not None
    both = _signature("blink", observed)
    counts = []
    for eye in (regions.left_eye, regions.right_eye):
        curve = fm._tracked_change(observed.clip, eye, regions.face_track, exclude=(eye,))
        peak = float(curve.max())
        above = curve >= 0.5 * peak if peak > 0 else np.zeros_like(curve, dtype=bool)
        counts.append(int(np.sum(above[1:] & ~above[:-1])) + int(above[0]))
    passed = both.passed and max(counts) >= 2
    return fm.Check(passed, float(max(counts)), f"closures per eye {counts} (>= 2); {both.detail}")


def judge(concept: str, observed: Observed, control: Observed | None, named: Sequence[str]) -> fm.Check:
    """Whether the clip draws `concept` (see the module docstring); `named` are the regions of every
    concept the entry asks for (kept out of the 'outside' control)."""
    spec = pc.CONCEPTS[concept]
    if observed.regions is not None:
        if concept == "blink_count":
            return _blink_count(observed)
        if concept in CHARACTER_SIGNATURES and (concept != "hair_wind" or observed.regions.hair is not None):
            check = _signature(concept, observed)
            if not check.passed and concept in GAZE:
                eyes = judge_flow(observed, control, "eyes", named)
                if eyes.passed:
                    return fm.Check(True, eyes.score, f"eyes: {eyes.detail}")
                return fm.Check(False, check.score, f"{check.detail} | eyes: {eyes.detail}")
            return check
    if spec.measure == "camera":
        args = dict(spec.args)
        if "sign" in args:
            return getattr(fm, spec.check)(observed.clip, **args)  # type: ignore[no-any-return]
        checks: list[fm.Check] = [getattr(fm, spec.check)(observed.clip, sign=sign) for sign in (1, -1)]
        return max(checks, key=lambda c: (c.passed, c.score))
    if spec.measure == "particles":
        # Where the other concepts the prompt asks for lie (rippling water, swaying trees) is left out: their
        # residuals do not fall, and pinned the particle layer's shift at 0.
        ignore = named_mask(observed, named, margin=2)
        return fm.overlay_particles(observed.clip, **dict(spec.args), ignore=ignore)  # type: ignore[arg-type]
    if spec.measure == "still":
        if concept == "camera_static":
            return camera_still(observed)
        # no_blink without a character's eye boxes: the eyes stay still.
        moving = judge_flow(observed, control, spec.region, named)
        return fm.Check(not moving.passed, moving.score, f"NOT ({moving.detail})")
    # A concept over the whole frame (fog) has no outside to be compared with: only the idle control's ratio.
    own = [*named, "frame"] if spec.region == "frame" else named
    if spec.region == "hand_area" and spec.measure == "flow":
        return judge_hand(observed, control, own)
    if spec.measure == "change":
        return judge_change(observed, control, spec.region, own)
    return judge_flow(observed, control, spec.region, own)


# --- what the notes say ------------------------------------------------------------------------------------

# Words that ask for each concept, in the corpus's languages: a note that quotes a piece of the prompt
# holding one of them has told the user the concept was read and not drawn. (Tests check that every
# concept of every entry has its cue in the entry's prompt.)
CUES: Final[dict[str, str]] = {
    "blink": r"blink|眨|cligne|まばたき",
    "blink_count": r"blink|眨",
    "wink": r"wink",
    "eyes_close": r"eyes\W+(?:\w+\W+){0,2}clos|clos\w*\s+(?:her\s+)?eyes",
    "eyes_sparkle": r"sparkl|starry|闪闪发光",
    "no_blink": r"no\s+blink|not\s+blink|without\s+blink|不眨眼",
    "animal_blink": r"blink|眨",
    "smile": r"smil|微笑|sourit",
    "talk": r"talk|speak|vlog|chat",
    "sing": r"sing|唱歌",
    "yawn": r"yawn|哈欠",
    "pant": r"pant",
    "nod": r"nod|点头|bobbing",
    "head_shake": r"shak\w*\s+(?:her\s+|his\s+|its\s+)?head|摇头",
    "head_tilt": r"tilt|歪",
    "head_turn": r"turn|转头|glanc",
    "gaze_camera": r"camera|lens|viewer|镜头|\bat\s+me\b",
    "look_away": r"look\w*\s+away|glanc|sideways|to\s+the\s+side",
    "look_down": r"look\w*\s+down|drift\s+down|below|低下头",
    "look_up": r"look\w*\s+up|抬头",
    "expr_joy": r"laugh|joy|happy|happily|giggl|大笑|开心",
    "expr_surprise": r"surpris|gasp|wide|widen|惊讶",
    "expr_anger": r"angry|anger|frown|annoyed|pout|stern|生气|皱",
    "expr_sad": r"\bsad|teary|trembl|伤心",
    "tear": r"tear|眼泪|cry",
    "blush": r"blush|pink|flush|脸红",
    "breathe": r"breath|呼吸",
    "sway": r"sway|摇摆",
    "hair_wind": r"hair|头发|发丝",
    "wave_hand": r"wav|挥手|saluda",
    "raise_hand": r"rais\w*\s+(?:\w+\s+){0,2}hand|lifts?\s+(?:\w+\s+)?hand|举手",
    "thumbs_up": r"thumbs?\s+up|大拇指",
    "peace_sign": r"peace\s+sign|剪刀手",
    "hand_chin": r"chin|下巴",
    "brush_hair": r"brush|tuck",
    "ear_twitch": r"\bears?\b|耳朵",
    "tail": r"tail|尾巴|しっぽ",
    "clouds_drift": r"cloud|云|nuages",
    "water_flow": r"river|water|stream",
    "waterfall": r"waterfall|瀑布|cascade",
    "waves": r"\bwaves?\b|海浪|\bsea\b",
    "reflection_ripple": r"reflect|ripple|涟漪|倒影|倒映|puddle|pavement|surface",
    "foliage_sway": r"tree|lea(?:f|ves)|树叶",
    "grass_sway": r"grass",
    "flowers_sway": r"flower",
    "birds_fly": r"bird|seagull",
    "boat_bob": r"boat|小船",
    "flag_flutter": r"flag",
    "steam": r"steam|热气",
    "smoke": r"smoke|烟",
    "fire": r"fire|flame|candle|烛光|篝火",
    "neon_flicker": r"neon|霓虹",
    "light_sweep": r"light|glint",
    "lightning": r"lightning|电闪",
    "fog": r"fog|mist|雾",
    "rain": r"rain|drizzle|downpour|雨",
    "snow": r"snow|雪",
    "sparkles": r"sparkl|particles",
    "petals": r"petal",
    "camera_zoom_in": r"zoom\w*\s+in|push\w*\s+(?:in|forward)|\bpush\s+in|推进",
    "camera_zoom_out": r"zoom\w*\s+out|拉远",
    "camera_pan": r"\bpan|平移",
    "camera_tilt": r"tilt",
    "camera_orbit": r"orbit",
    "camera_static": r"static|still|only\s+the\s+\w+\s+moves|no\s+camera\s+movement|locked\s+off|fixed|steady"
    r"|固定|不动|静止|fixe",
}
# A note saying the prompt's language is not read (a future engine's way of saying so).
LANGUAGE_NOTE: Final = re.compile(r"language|not\s+read|only\s+english|english\s+only|chinese|japanese|french", re.I)
_QUOTED: Final = re.compile(r"'([^']+)'|\"([^\"]+)\"")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def cue_in(concept: str, text: str) -> bool:
    return re.search(CUES[concept], text, re.IGNORECASE) is not None


def noting(concept: str, prompt: str, notes: Iterable[str]) -> str | None:
    """The note that tells the user `concept` was read and not drawn, if any: it quotes a piece of
    `prompt` that holds one of the concept's cue words, or it says the language is not read."""
    whole = _normal(prompt)
    for note in notes:
        if LANGUAGE_NOTE.search(note) and not _QUOTED.search(note):
            return note
        for match in _QUOTED.finditer(note):
            quoted = _normal(match.group(1) or match.group(2))
            if quoted and quoted in whole and cue_in(concept, quoted):
                return note
    return None


@dataclass(frozen=True)
class Verdict:
    concept: str
    status: Status
    detail: str  # the measure's detail, and the note when noted


def classify(concept: str, check: fm.Check, prompt: str, notes: Sequence[str]) -> Verdict:
    if check.passed:
        return Verdict(concept, "drawn", check.detail)
    note = noting(concept, prompt, notes)
    if note is not None:
        return Verdict(concept, "noted", f"note: {note} / {check.detail}")
    return Verdict(concept, "silent", check.detail)


# --- rendering ----------------------------------------------------------------------------------------------


@dataclass
class EntryOutcome:
    entry: pc.Entry
    verdicts: list[Verdict]
    plan: str
    notes: list[str]
    seconds: float
    error: str = ""


def character_regions(scene: sc.Scene, result: RenderResult, matrix: Any) -> me.Regions | None:
    """motion_eval's regions (for its signatures) of a character or an animal; None for other scenes."""
    if scene.name in me.DRAWINGS:
        return me.drawing_regions(me.DRAWINGS[scene.name](), result).mapped(matrix)
    if scene.name in sc.PHOTO_FILES:
        return me.photo_regions(sc.PHOTO_FILES[scene.name], result).mapped(matrix)
    if scene.name in sc.ANIMAL_SCENES:
        return me.animal_regions(scene, result).mapped(matrix)
    return None


@dataclass
class Rendered:
    observed: Observed
    result: RenderResult
    notes: list[str] = field(default_factory=list)


def render(
    engine: Live2DEngine, scene: sc.Scene, prompt: str, path: Path, *, duration_s: float, fps: int
) -> Rendered:
    image = png_bytes(scene.image)
    request = RenderRequest(
        image=image,
        prompt=prompt,
        prompt_optimizer=True,
        duration_s=duration_s,
        fps=fps,
        seed=SEED,
        options={"width": scene.width, "height": scene.height},
    )
    result = engine.render(request, path, on_progress=lambda _fraction: None)
    frames = list(read_frames(path))
    matrix, _note = me.frame0_alignment(image, frames[0])
    masks = me.aligned_masks(scene.masks, matrix, (result.width, result.height))
    regions = character_regions(scene, result, matrix)
    observed = observe(frames, fps=fps, masks=masks, regions=regions)
    plan = result.extra.get("motion_plan") or {}
    notes = [str(n) for n in plan.get("notes", [])] + [str(n) for n in result.extra.get("render_notes", []) or []]
    return Rendered(observed, result, notes)


def evaluate_entry(entry: pc.Entry, rendered: Rendered, control: Observed | None, seconds: float) -> EntryOutcome:
    named = [pc.CONCEPTS[c].region for c in entry.concepts if pc.CONCEPTS[c].region != "frame"]
    verdicts = [
        classify(concept, judge(concept, rendered.observed, control, named), entry.prompt, rendered.notes)
        for concept in entry.concepts
    ]
    return EntryOutcome(entry, verdicts, me.plan_summary(rendered.result), rendered.notes, seconds)


# --- tallies and reporting -----------------------------------------------------------------------------------


def tally(outcomes: Sequence[EntryOutcome]) -> dict[str, Counter[str]]:
    """Per concept (and "total") counts of drawn / noted / silent."""
    counts: dict[str, Counter[str]] = {"total": Counter()}
    for outcome in outcomes:
        for verdict in outcome.verdicts:
            counts.setdefault(verdict.concept, Counter())[verdict.status] += 1
            counts["total"][verdict.status] += 1
    return counts


def _group(entry: dict[str, Any]) -> str:
    return {"en": "English", "zh": "Chinese"}.get(str(entry["lang"]), "other languages")


def run_record(outcomes: Sequence[EntryOutcome], *, duration_s: float, fps: int, total_s: float) -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs (`nproc` {len(os.sched_getaffinity(0))}), {cpu_model()}, "
        "shared with other work",
        "versions": f"Python {platform.python_version()}, stillmotion {stillmotion.__version__}, "
        f"numpy {np.__version__}, opencv {cv2.__version__}",
        "source": me.source_state(),
        "engine": me.engine_state(),
        "clip": f"{duration_s:g} s at {fps} fps, seed {SEED}",
        "runtime_s": round(total_s),
        "entries": [
            {
                "id": o.entry.id,
                "scene": o.entry.scene,
                "lang": o.entry.lang,
                "prompt": o.entry.prompt,
                "plan": o.plan,
                "notes": o.notes,
                "error": o.error,
                "verdicts": {v.concept: [v.status, v.detail] for v in o.verdicts},
            }
            for o in outcomes
        ],
    }


def record_counts(record: dict[str, Any], key: Callable[[dict[str, Any], str], str | None]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for entry in record.get("entries", []):
        for concept, (status, _detail) in entry["verdicts"].items():
            group = key(entry, concept)
            if group is not None:
                counts.setdefault(group, Counter())[status] += 1
    return counts


def _fraction(counter: Counter[str], status: str) -> str:
    total = sum(counter.values())
    return f"{counter[status]} ({counter[status] / total:.0%})" if total else "-"


def load_results(path: Path = RESULTS_JSON) -> dict[str, Any]:
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    return {}


def save_results(results: dict[str, Any], path: Path = RESULTS_JSON) -> None:
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _set_lines(title: str, record: dict[str, Any] | None, baseline: dict[str, Any] | None) -> list[str]:
    if not record:
        return [f"### {title}", "", "Not run yet.", ""]
    total = record_counts(record, lambda _e, _c: "total").get("total", Counter())
    asked = sum(total.values())
    lines = [
        f"### {title}",
        "",
        f"- run: {record['date']}, {record['machine']}; {record['clip']}; {record['runtime_s']} s",
        f"- engine: {record['engine']}; source {record['source']}",
        f"- {len(record['entries'])} prompts, {asked} concepts asked: **drawn {_fraction(total, 'drawn')}, "
        f"only noted {_fraction(total, 'noted')}, silently dropped {_fraction(total, 'silent')}** "
        "(goal: 0 silent, >= 80% drawn)",
    ]
    if baseline and baseline.get("date") == record["date"]:
        lines.append("- this run is the baseline: today's engine, before the parser and scene work")
    elif baseline:
        base_total = record_counts(baseline, lambda _e, _c: "total").get("total", Counter())
        lines.append(
            f"- baseline ({baseline['date']}, source {baseline['source']}): drawn {_fraction(base_total, 'drawn')}, "
            f"noted {_fraction(base_total, 'noted')}, silent {_fraction(base_total, 'silent')}"
        )
    lines += ["", "| by language | concepts | drawn | only noted | silent |", "|---|---:|---:|---:|---:|"]
    by_lang = record_counts(record, lambda e, _c: _group(e))
    for group in ("English", "Chinese", "other languages"):
        counter = by_lang.get(group, Counter())
        lines.append(
            f"| {group} | {sum(counter.values())} | {_fraction(counter, 'drawn')} | {_fraction(counter, 'noted')} | "
            f"{_fraction(counter, 'silent')} |"
        )
    lines += ["", "| concept | region | asked | drawn | only noted | silent |", "|---|---|---:|---:|---:|---:|"]
    by_concept = record_counts(record, lambda _e, c: c)
    for concept in pc.CONCEPTS:
        counter = by_concept.get(concept, Counter())
        if not counter:
            continue
        lines.append(
            f"| {concept} | {pc.CONCEPTS[concept].region} | {sum(counter.values())} | {counter['drawn']} | "
            f"{counter['noted']} | {counter['silent']} |"
        )
    lines += [
        "",
        "<details><summary>Prompt by prompt</summary>",
        "",
        "| id | scene | prompt | drawn | only noted | silent | plan (engine) |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in record["entries"]:
        by_status: dict[str, list[str]] = {s: [] for s in STATUSES}
        for concept, (status, _detail) in entry["verdicts"].items():
            by_status[status].append(concept)
        prompt = entry["prompt"] if len(entry["prompt"]) <= 90 else entry["prompt"][:87] + "..."
        lines.append(
            f"| {entry['id']} | {entry['scene']} | {_cell(prompt)} | {', '.join(by_status['drawn']) or '-'} | "
            f"{', '.join(by_status['noted']) or '-'} | {', '.join(by_status['silent']) or '-'} | "
            f"{_cell(entry['error'] or entry['plan'])} |"
        )
    lines += ["", "</details>", ""]
    return lines


def render_section(results: dict[str, Any]) -> str:
    corpus = pc.load_corpus()
    baseline = results.get("baseline") or {}
    langs = Counter(e.lang for e in corpus)
    lines = [
        SECTION_START,
        "## The prompt corpus: drawn, only noted, silently dropped",
        "",
        f"`python benchmarks/prompt_eval.py`: the {len(corpus)} prompts of `benchmarks/prompt_corpus.jsonl` "
        f"({langs['en']} English, {langs['zh']} Chinese, {len(corpus) - langs['en'] - langs['zh']} French, "
        "Spanish or Japanese), written before the parser work, each with the concepts it asks for. Every "
        "third prompt is held out (`--held-out`), to be run only when the work is done. Each prompt is "
        "rendered by the live2d engine on its test picture (`benchmarks/scenes.py`) as the API renders it "
        "(optimizer on, the picture's own size). A concept is **drawn** when the clip moves in the region it "
        f"names, by camera-compensated Farneback flow: >= {MIN_SPEED:.1%} of the short side per second, "
        f">= {MIN_RATIO:g}x outside every region the prompt names and >= {MIN_RATIO:g}x the same region in the "
        f"*idle control* (the picture rendered with {CONTROL_PROMPT!r}); colour effects (blush, neon, lightning, "
        f"a glint, fog, sparkling eyes) by a colour change motion does not explain, >= {MIN_CHANGE:g} levels with "
        "the same ratios; on a character the motion evaluation's signatures (blink, mouth, nod, shake, tilt, "
        "turn, breathe, sway, wind); a raised hand in one of the hand area's parts (beside the face either "
        "side, under the chin), the arm that raises it there kept out of 'outside' (`region_metrics.judge_hand`, "
        "from 2026-12-06; before, the forearm under the hand counted as motion elsewhere); camera moves, overlays "
        "(rain, snow, sparkles, petals) and a still camera by `flow_metrics`' checks. The plan is not looked "
        "at. A concept not drawn is **only noted** when a note of the plan quotes words of the prompt that ask "
        "for it (or says the language is not read), "
        "**silently dropped** otherwise. Details of every bar: `benchmarks/prompt_eval.py`.",
        "",
    ]
    lines += _set_lines("Main set (two thirds)", results.get("main"), baseline.get("main"))
    lines += _set_lines("Held-out third", results.get("held_out"), baseline.get("held_out"))
    lines.append(SECTION_END)
    return "\n".join(lines) + "\n"


def print_table(console: Console, outcomes: Sequence[EntryOutcome]) -> None:
    table = Table(title="Prompt corpus", show_lines=False)
    for column in ("id", "scene", "prompt", "drawn", "noted", "silent", "plan"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        by_status: dict[str, list[str]] = {s: [] for s in STATUSES}
        for v in o.verdicts:
            by_status[v.status].append(v.concept)
        table.add_row(
            o.entry.id,
            o.entry.scene,
            o.entry.prompt[:70],
            ", ".join(by_status["drawn"]),
            ", ".join(by_status["noted"]),
            "[red]" + ", ".join(by_status["silent"]) + "[/red]",
            o.error or o.plan,
        )
    console.print(table)
    counts = tally(outcomes)
    summary = Table(title="Per concept")
    for column in ("concept", "asked", "drawn", "noted", "silent"):
        summary.add_column(column, justify="left" if column == "concept" else "right")
    for concept, counter in sorted(counts.items(), key=lambda kv: (kv[0] == "total", kv[0])):
        summary.add_row(
            concept, str(sum(counter.values())), str(counter["drawn"]), str(counter["noted"]), str(counter["silent"])
        )
    console.print(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--held-out", action="store_true", help="run the held-out third (only at the end)")
    which.add_argument("--all", action="store_true", help="run both sets")
    parser.add_argument(
        "--ids", nargs="+", metavar="ID", help="only these entries (of the main set; with --held-out or --all, any)"
    )
    parser.add_argument("--limit", type=int, help="only the first N entries of the set")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the clips in DIR")
    parser.add_argument("--duration-s", type=float, default=2.0)
    parser.add_argument("--fps", type=int, default=12)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the results and BENCHMARKS.md")
    parser.add_argument("--baseline", action="store_true", help="also store this run as the set's baseline")
    parser.add_argument("--verbose", action="store_true", help="print every concept's measure")
    args = parser.parse_args()

    corpus = pc.load_corpus()
    if args.ids:
        entries = [e for e in corpus if e.id in set(args.ids)]
        missing = set(args.ids) - {e.id for e in entries}
        if missing:
            parser.error(f"no entries {sorted(missing)}")
        # A held-out prompt run by a stray id while working on the engine is no longer held out.
        held = sorted(e.id for e in entries if e.held_out)
        if held and not (args.held_out or args.all):
            parser.error(f"{held} are held out: name --held-out or --all to run them")
    elif args.all:
        entries = corpus
    else:
        entries = [e for e in corpus if e.held_out == args.held_out]
    if args.limit is not None:
        entries = entries[: args.limit]
    partial = bool(args.ids or args.limit is not None)
    if args.baseline and partial:
        parser.error("--baseline stores a whole set; leave out --ids and --limit")

    cv2.setNumThreads(len(os.sched_getaffinity(0)))
    console = Console(width=200)
    console.print(f"engine: {me.engine_state()}; source {me.source_state()}; {len(entries)} prompts")
    engine = Live2DEngine()
    scenes: dict[str, sc.Scene] = {}
    controls: dict[str, Observed | None] = {}
    outcomes: list[EntryOutcome] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stillmotion-prompt-eval-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for entry in entries:
            began = time.perf_counter()
            if entry.scene not in scenes:
                scenes[entry.scene] = sc.draw_scene(entry.scene)
                try:
                    control = render(
                        engine,
                        scenes[entry.scene],
                        CONTROL_PROMPT,
                        work / f"control-{entry.scene}.mp4",
                        duration_s=args.duration_s,
                        fps=args.fps,
                    )
                    controls[entry.scene] = control.observed
                except Exception as error:  # no control: the concept is judged without that ratio
                    console.print(f"[red]control for {entry.scene} failed: {error}[/red]")
                    controls[entry.scene] = None
            try:
                rendered = render(
                    engine,
                    scenes[entry.scene],
                    entry.prompt,
                    work / f"{entry.id}.mp4",
                    duration_s=args.duration_s,
                    fps=args.fps,
                )
            except Exception as error:  # a crash drops every concept of the entry, silently
                why = f"render failed: {type(error).__name__}: {error}"
                failed = [Verdict(c, "silent", why) for c in entry.concepts]
                outcomes.append(EntryOutcome(entry, failed, "-", [], time.perf_counter() - began, str(error)))
                console.print(f"[red]{entry.id} render failed: {error}[/red]")
                continue
            outcome = evaluate_entry(entry, rendered, controls[entry.scene], time.perf_counter() - began)
            outcomes.append(outcome)
            marks = " ".join(f"{v.concept}:{v.status}" for v in outcome.verdicts)
            console.print(f"{entry.id} {entry.scene:12} ({outcome.seconds:.1f} s) {marks}")
            if args.verbose:
                for v in outcome.verdicts:
                    console.print(f"    {v.concept}: {v.status}: {v.detail}")
    total_s = time.perf_counter() - start
    print_table(console, outcomes)
    total = tally(outcomes)["total"]
    asked = sum(total.values())
    console.print(
        f"[bold]{asked} concepts: drawn {total['drawn']}, only noted {total['noted']}, silent {total['silent']}"
        f"[/bold] in {total_s:.0f} s"
    )
    if args.no_write:
        return
    if partial:
        console.print("a subset ran: results and BENCHMARKS.md left alone")
        return
    results = load_results()
    record = run_record(outcomes, duration_s=args.duration_s, fps=args.fps, total_s=total_s)
    sets = {
        "main": [o for o in outcomes if not o.entry.held_out],
        "held_out": [o for o in outcomes if o.entry.held_out],
    }
    for name, chosen in sets.items():
        if not chosen:
            continue
        chosen_record = {**record, "entries": [r for r in record["entries"] if r["id"] in {o.entry.id for o in chosen}]}
        results[name] = chosen_record
        if args.baseline:
            results.setdefault("baseline", {})[name] = chosen_record
    save_results(results)
    write_section(args.output, render_section(results), start=SECTION_START, end=SECTION_END)
    console.print(f"wrote {RESULTS_JSON.name} and {args.output}")


if __name__ == "__main__":
    main()
