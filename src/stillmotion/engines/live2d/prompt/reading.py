"""Reading the prompt's clauses into motions: what moves, which way, how strongly, and what is forbidden.

In each clause the phrase table (`lexicon.py`) finds what moves, longest phrases first where they overlap; a
negation rule removes what the prompt forbids; the words around each phrase (`modifiers.py`) give direction,
strength, speed and count. `_read_prompt` reads every clause (`clauses.py`) and lends the words of a clause
with no phrase in it to a neighbour.

Negation rule: a negator ("not", "n't", "never", "no", "without", "nor", "neither", "instead of",
"avoid") applies to the first motion phrase after it in the same clause, at most four words away with no
conjunction in between, and carries on to further phrases joined only by "or"/"nor" ("doesn't nod or
shake her head"). Clause boundaries (commas, "but", "then", "while", sentence ends) always end it.
A negated motion is never drawn and also stops the optimizer and idle life from adding it.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, replace
from typing import Final, cast

from stillmotion.engines.live2d.plan import ACTIONS, Easing, Part
from stillmotion.engines.live2d.prompt.chinese import CJK, quote_originals, read_chinese
from stillmotion.engines.live2d.prompt.clauses import (
    _CONNECTOR_RANK,
    Connector,
    _normalize,
    _Piece,
    _split_clauses,
)
from stillmotion.engines.live2d.prompt.lexicon import _CLOTHING_MENTION, _PHRASES, _SUBJECT, EXPRESSIONS, _Phrase
from stillmotion.engines.live2d.prompt.modifiers import (
    _ADJACENT_RUN,
    _ALL_DIRECTIONS,
    _CAMERA_DIRECTIONS,
    _CONJUNCTION,
    _DEFAULT_DIRECTION,
    _find_direction,
    _read_modifiers,
)
from stillmotion.engines.live2d.prompt.timings import _TIMINGS

# ---------------------------------------------------------------------------------------------------
# Reading one clause


@dataclass(frozen=True)
class _Motion:
    part: Part
    action: str
    direction: str | None
    amplitude: float
    amplitude_said: bool  # a degree word set it, so it wins over another phrase's default when merging
    speed: float
    count: int | None
    continuous: bool
    easing: Easing
    phrase: str


@dataclass(frozen=True)
class _Clause:
    text: str
    connector: Connector
    motions: tuple[_Motion, ...]


@dataclass(frozen=True)
class _ClauseReading:
    motions: tuple[_Motion, ...] = ()
    forbidden: frozenset[tuple[str, str]] = frozenset()
    still: bool = False
    notes: tuple[str, ...] = ()
    hits: int = 0  # phrases of any kind found: 0 means the clause is only modifiers or scenery


@dataclass(frozen=True)
class _Hit:
    phrase: _Phrase
    start: int
    end: int
    text: str


def _find_hits(text: str) -> list[_Hit]:
    """All phrases in `text`, longest first where they overlap, in reading order."""
    candidates = [
        _Hit(phrase, found.start(), found.end(), found.group())
        for phrase in _PHRASES
        for found in phrase.pattern.finditer(text)
    ]
    candidates.sort(key=lambda hit: (-(hit.end - hit.start), hit.start))
    chosen: list[_Hit] = []
    for hit in candidates:
        if all(hit.end <= other.start or hit.start >= other.end for other in chosen):
            chosen.append(hit)
    return sorted(chosen, key=lambda hit: hit.start)


def _windows(text: str, hits: list[_Hit]) -> list[tuple[str, str]]:
    """(before, after) text owned by each hit. Between two hits, the last conjunction splits the gap:
    "nods twice and slowly smiles" gives "twice" to the nod and "slowly" to the smile."""
    cuts: list[tuple[int, int]] = []
    for left, right in itertools.pairwise(hits):
        gap = text[left.end : right.start]
        conjunctions = list(_CONJUNCTION.finditer(gap))
        if conjunctions:
            cuts.append((left.end + conjunctions[-1].start(), left.end + conjunctions[-1].end()))
        else:
            # "flutters in a strong wind": the adjectives touching the right-hand phrase are its own.
            run = _ADJACENT_RUN.search(gap)
            cut = left.end + (run.start() if run is not None else len(gap))
            cuts.append((cut, cut))
    windows: list[tuple[str, str]] = []
    for index, hit in enumerate(hits):
        pre_from = cuts[index - 1][1] if index > 0 else 0
        post_to = cuts[index][0] if index < len(cuts) else len(text)
        windows.append((text[pre_from : hit.start], text[hit.end : post_to]))
    return windows


_NEGATOR: Final = re.compile(
    r"\b(?:not|never|no|without|nor|neither|instead\s+of|avoids?|avoiding|no\s+longer|refuses?\s+to)\b"
)
_NEGATION_REACH_WORDS: Final = 4
_NEGATION_STOP: Final = frozenset({"and", "but", "so", "yet", "because", "although", "though", "or", "then"})
_NEGATION_CHAIN: Final = frozenset({"or", "nor", "even", "ever", "any"})


def _negated(text: str, hits: list[_Hit]) -> set[int]:
    """Indices of hits a negator rules out (see the module docstring for the rule)."""
    negated: set[int] = set()
    for negator in _NEGATOR.finditer(text):
        if any(hit.start <= negator.start() < hit.end for hit in hits):
            continue  # part of a phrase: "says no", "no camera movement"
        following = [index for index, hit in enumerate(hits) if hit.start >= negator.end()]
        if not following:
            continue
        gap = text[negator.end() : hits[following[0]].start].split()
        if len(gap) > _NEGATION_REACH_WORDS or _NEGATION_STOP.intersection(gap):
            continue
        negated.add(following[0])
        for previous, index in itertools.pairwise(following):
            words = set(text[hits[previous].end : hits[index].start].split())
            if not words or not words <= _NEGATION_CHAIN or not words & {"or", "nor"}:
                break
            negated.add(index)
    return negated


def _subject_before(text: str, position: int) -> str | None:
    subject: str | None = None
    for found in _SUBJECT.finditer(text, 0, position):
        subject = "camera" if found["camera"] else "person"
    return subject


def _resolve(target: str, direction: str | None, subject: str | None) -> str | None:
    """The "part.action" of a subject- or direction-dependent verb, or None when it cannot be drawn."""
    vertical = direction in ("up", "down")
    sideways = direction in ("left", "right")
    camera_move = {"left": "camera.pan", "right": "camera.pan", "up": "camera.tilt", "down": "camera.tilt"}
    camera_move |= {"in": "camera.zoom", "out": "camera.zoom"}
    if target == "@camera_move" or (target == "@turn" and subject == "camera"):
        return camera_move.get(direction or "")
    if target == "@tilt" and (subject == "camera" or (subject is None and vertical)):
        return "camera.pan" if sideways else "camera.tilt"
    if target in ("@tilt", "@head_tilt"):
        return "head.look" if vertical else "head.tilt"
    if target == "@head_turn":
        return "head.look" if vertical else "head.turn"
    if target in ("@turn", "@look"):
        return "head.look" if vertical else "head.turn" if sideways else None
    return target


def _read_clause(text: str) -> _ClauseReading:
    hits = _find_hits(text)
    negated = _negated(text, hits)
    motions: list[_Motion] = []
    forbidden: set[tuple[str, str]] = set()
    notes: list[str] = []
    still = False
    for index, (hit, (pre, post)) in enumerate(zip(hits, _windows(text, hits), strict=True)):
        phrase = hit.phrase
        if phrase.kind == "still":
            still = still or index not in negated
            continue
        if phrase.kind == "unsupported":
            if index not in negated:
                why = phrase.reason or "not something the live2d engine can draw"
                notes.append(f"not animated: {hit.text!r} ({why})")
            continue
        if phrase.kind == "forbid":
            part, action = phrase.target.split(".")
            forbidden.add((part, action))
            continue

        if phrase.target in EXPRESSIONS:
            bundle, missing = EXPRESSIONS[phrase.target]
            if index in negated:
                continue
            modifiers = _read_modifiers(pre, hit.text, post, countable=False)
            for part_name, action, bundle_direction, amplitude in bundle:
                motions.append(
                    _Motion(
                        part=cast(Part, part_name),
                        action=action,
                        direction=bundle_direction,
                        amplitude=amplitude if modifiers.amplitude is None else min(1.0, modifiers.amplitude),
                        amplitude_said=modifiers.amplitude is not None,
                        speed=modifiers.speed,
                        count=None,
                        continuous=False,
                        easing=modifiers.easing,
                        phrase=hit.text,
                    )
                )
            if missing:
                notes.append(f"partly animated: {hit.text!r} ({missing})")
            continue
        scan = f"{hit.text} {post}"
        direction = phrase.direction
        if direction is None and phrase.target.startswith("@"):
            allowed = _CAMERA_DIRECTIONS if phrase.target == "@camera_move" else _ALL_DIRECTIONS
            direction = _find_direction(scan, allowed)
        target = _resolve(phrase.target, direction, _subject_before(text, hit.start))
        if target is None:
            if index not in negated and phrase.target != "@look":  # "she looks happy" is not motion
                notes.append(f"no direction understood for {hit.text!r}; say left, right, up or down")
            continue
        part_name, action = target.split(".")
        part = cast(Part, part_name)
        if index in negated:
            forbidden.add((part, action))
            continue
        allowed_here = ACTIONS[part][action]
        if phrase.direction is None or phrase.direction not in allowed_here:
            direction = _find_direction(scan, frozenset(d for d in allowed_here if d is not None))
        if direction is None and None not in allowed_here:
            direction = _DEFAULT_DIRECTION.get((part, action))
            if direction is None:
                notes.append(f"no direction understood for {hit.text!r}; say left, right, up or down")
                continue
        timing = _TIMINGS[(part, action)]
        modifiers = _read_modifiers(pre, hit.text, post, countable=timing.countable)
        # "she smiles while nodding": the progressive is an ongoing activity, not a nod or two.
        progressive = timing.default_count is not None and hit.text.split()[0].endswith("ing")
        motions.append(
            _Motion(
                part=part,
                action=action,
                direction=direction,
                amplitude=modifiers.amplitude if modifiers.amplitude is not None else phrase.amplitude,
                amplitude_said=modifiers.amplitude is not None,
                speed=modifiers.speed,
                count=modifiers.count,
                continuous=modifiers.continuous or (progressive and modifiers.count is None),
                easing=modifiers.easing,
                phrase=hit.text,
            )
        )
    if any((m.part, m.action) == ("eyes", "close") for m in motions):
        forbidden.add(("eyes", "blink"))  # a blink would open eyes held closed
    for unread in _unread_motions(text, hits):
        notes.append(f"not animated: {unread!r} (the live2d engine does not know this motion)")
    return _ClauseReading(tuple(_merge_same(motions)), frozenset(forbidden), still, tuple(notes), len(hits))


# A verb the reader has no phrase for, after who does it: "she juggles", "the dog runs off".
_DOER: Final = (
    r"(?:she|he|they|it|i|we|you|girl|boy|woman|man|lady|guy|character|person|child|kid|cat|dog|puppy|kitten"
    r"|bird|horse|subject|model|people|crowd)"
)
_UNREAD_VERB: Final = re.compile(
    rf"\b{_DOER}\s+(?:(?:slowly|gently|softly|quickly|suddenly|then|also|happily|calmly|\w+ly)\s+)?"
    r"(?P<verb>(?!is\b|was\b|has\b|does\b|looks\b|seems\b|appears\b|stands\b|sits\b|wears\b|holds\b)"
    r"[a-z]{3,}(?:s|es|ed|ing))\b(?P<rest>(?:\s+[a-z]+){0,2})"
)
# A clause that starts with a participle ("juggling three balls"), and a verb joined to a phrase ("... and
# juggles").
_LEADING_VERB: Final = re.compile(r"^(?:\w+ly\s+)?(?P<verb>[a-z]{3,}ing)\b(?P<rest>(?:\s+[a-z]+){0,2})")
# A short clause that is only a verb and its object: "then juggles", "juggles the balls" (a longer one that
# opens with an -s word is more often a plural noun: "wisps of steam curling up").
_SHORT_VERB_CLAUSE: Final = re.compile(r"^(?P<verb>[a-z]{3,}(?:es|s))\b(?P<rest>(?:\s+[a-z]+){0,2})$")
_JOINED_VERB: Final = re.compile(
    r"^(?:\w+ly\s+)?(?:and|then|also)\s+(?:\w+ly\s+)?(?P<verb>[a-z]{3,}(?:ing|es|s))\b(?P<rest>(?:\s+[a-z]+){0,2})"
)
# Verbs that only carry another word's meaning ("makes a peace sign", "gives a thumbs up").
_LIGHT_VERBS: Final = frozenset(
    {
        "makes", "making", "gives", "giving", "puts", "putting", "gets", "getting", "takes", "taking", "does", "doing",
        "lets", "letting", "keeps", "keeping", "begins", "beginning", "starts", "starting", "continues", "tries",
        "trying", "shows", "showing", "goes", "going", "comes", "coming", "uses", "using", "catching", "inviting",
        "featuring", "wearing", "holding", "standing", "sitting", "set", "bathed", "framed", "surrounded",
    }
)
_NOT_VERBS: Final = frozenset(
    {
        "morning", "evening", "ceiling", "building", "thing", "something", "nothing", "everything", "anything",
        "wedding", "clothing", "painting", "lighting", "setting", "ending", "landing", "king", "ring", "string",
        "spring", "wing", "sibling", "darling", "earring", "railing", "lightning", "living", "towards", "upwards",
        "downwards", "afterwards", "glasses", "clothes", "eyes", "lips", "cheeks", "hands", "arms", "ears", "clouds",
        "waves", "flowers", "trees", "leaves", "lights", "petals", "stars", "sparkles", "tears", "flames", "candles",
        "stairs", "buildings", "mountains", "boots", "shoes", "pants", "colors", "colours", "details", "dress",
        "tress", "mess", "miss", "kiss", "gloss", "grass", "glass", "boss", "less", "class", "press", "bus", "yes",
        "this", "his", "hers", "its", "was", "has", "is", "as", "always", "perhaps", "sometimes", "series", "species",
        "news", "physics", "lens", "canvas", "chaos",
    }
)


def _unread_motions(text: str, hits: list[_Hit]) -> list[str]:
    """The words of motions `text` plainly asks for that no phrase of the table reads: a verb after who does it
    or a verb form opening the clause, and a verb form right after a phrase ("she breathes and juggles").
    Scenery ("anime girl, soft light") asks for nothing."""
    if not hits:
        gaps = [text]
    else:
        gaps = [text[: hits[0].start]] + [
            text[hit.end : hits[index + 1].start if index + 1 < len(hits) else len(text)]
            for index, hit in enumerate(hits)
        ]
    found_words: list[str] = []
    for number, gap in enumerate(gaps):
        tries = [_UNREAD_VERB.search(gap), _LEADING_VERB.match(gap.strip())] if number == 0 else []
        if number == 0 and not hits and len(gap.split()) <= 3:
            tries.append(_SHORT_VERB_CLAUSE.match(gap.strip()))  # "..., then juggles"
        tries.append(_JOINED_VERB.match(gap.strip()))
        for found in tries:
            if found is not None and found["verb"] not in _NOT_VERBS and found["verb"] not in _LIGHT_VERBS:
                found_words.append((found["verb"] + found["rest"]).strip())
                break
    return found_words


def _merged_amplitude(first: _Motion, second: _Motion) -> float:
    """A degree word wins; otherwise the stronger reading ("laughing" narrows the eyes a little, "with her eyes
    closed" shuts them: shut)."""
    if first.amplitude_said != second.amplitude_said:
        return first.amplitude if first.amplitude_said else second.amplitude
    return max(first.amplitude, second.amplitude)


def _merge_same(motions: list[_Motion]) -> list[_Motion]:
    """One motion per (part, action) in a clause: "her hair blows in the wind" says hair.wind twice."""
    merged: dict[tuple[str, str], _Motion] = {}
    for motion in motions:
        key = (motion.part, motion.action)
        first = merged.get(key)
        if first is None:
            merged[key] = motion
            continue
        merged[key] = replace(
            first,
            direction=first.direction or motion.direction,
            amplitude=_merged_amplitude(first, motion),
            amplitude_said=first.amplitude_said or motion.amplitude_said,
            speed=first.speed if first.speed != 1.0 else motion.speed,
            count=first.count if first.count is not None else motion.count,
            continuous=first.continuous or motion.continuous,
        )
    return list(merged.values())


# ---------------------------------------------------------------------------------------------------
# Reading the whole prompt


@dataclass(frozen=True)
class _Reading:
    clauses: tuple[_Clause, ...]
    forbidden: frozenset[tuple[str, str]]
    still: bool  # stillness was asked for (of the whole image or the character)
    notes: tuple[str, ...]
    understood: bool  # any phrase at all was recognised, negated or not
    mentions_clothing: bool


_DIRECTION_ONLY: Final = re.compile(
    r"^(?:back\s+)?(?:to\s+(?:the\s+)?|towards?\s+(?:the\s+)?)?(?:left|right|up|down|in|out)(?:\s+again)?$"
)


@functools.lru_cache(maxsize=512)
def _read_prompt(prompt: str) -> _Reading:
    """Everything the text says, independent of the clip length (cached: the same prompt is often planned
    for several durations or seeds)."""
    english, chinese = read_chinese(prompt)
    text = _normalize(english)
    pieces = _split_clauses(text)
    readings = [_read_clause(piece.text) for piece in pieces]
    # A clause with no phrase at all ("Slowly, she smiles"; "she nods, gently") lends its words to a
    # neighbour instead of being lost.
    index = 0
    lent_notes: list[str] = []  # what a clause said that no phrase reads stays said when its words are lent
    while index < len(pieces):
        if readings[index].hits or len(pieces) == 1:
            index += 1
            continue
        lent_notes.extend(readings[index].notes)
        if index > 0 and _DIRECTION_ONLY.match(pieces[index].text):
            # "she looks left, then right": the bare direction repeats the previous verb.
            verbs = [h for h in _find_hits(pieces[index - 1].text) if h.phrase.kind == "motion"]
            if verbs:
                pieces[index] = _Piece(f"{verbs[-1].text} {pieces[index].text}", pieces[index].connector)
                readings[index] = _read_clause(pieces[index].text)
                index += 1
                continue
        if index + 1 < len(pieces):
            nxt = pieces[index + 1]
            connector = max(pieces[index].connector, nxt.connector, key=_CONNECTOR_RANK.__getitem__)
            pieces[index + 1] = _Piece(f"{pieces[index].text} {nxt.text}", connector)
            readings[index + 1] = _read_clause(pieces[index + 1].text)
        elif index > 0:
            prev = pieces[index - 1]
            pieces[index - 1] = _Piece(f"{prev.text} {pieces[index].text}", prev.connector)
            readings[index - 1] = _read_clause(pieces[index - 1].text)
        del pieces[index], readings[index]

    forbidden: set[tuple[str, str]] = set()
    notes: list[str] = []
    for reading in readings:
        forbidden |= reading.forbidden
        notes.extend(n for n in reading.notes if n not in notes)
    notes.extend(n for n in lent_notes if n not in notes)
    unread_language = _unread_language(prompt, understood=any(r.hits for r in readings))
    if unread_language:
        notes.append(unread_language)
    notes = [quote_originals(note, chinese) for note in notes]
    return _Reading(
        clauses=tuple(_Clause(p.text, p.connector, r.motions) for p, r in zip(pieces, readings, strict=True)),
        forbidden=frozenset(forbidden),
        still=any(r.still for r in readings),
        notes=tuple(notes),
        understood=any(r.hits for r in readings),
        mentions_clothing=bool(_CLOTHING_MENTION.search(text)),
    )


# Words that nearly every English prompt has; a Latin-script prompt with none of them is in another language.
_ENGLISH_WORDS: Final = frozenset(
    {
        "the", "a", "an", "she", "he", "her", "his", "they", "it", "its", "and", "is", "are", "with", "in", "on", "of",
        "to", "at", "camera", "slowly", "gently", "girl", "boy", "woman", "man", "while", "then", "into", "from",
        "over", "up", "down", "light", "soft", "wind", "hair", "eyes", "head", "smile", "smiles", "zoom", "sky",
    }
)
_OTHER_SCRIPTS: Final = re.compile(r"[\u3040-\u30ff\uac00-\ud7af\u0400-\u04ff\u0600-\u06ff\u0590-\u05ff\u0e00-\u0e7f]")


def _unread_language(prompt: str, *, understood: bool) -> str | None:
    """A note for a prompt in a language the reader does not read (it reads English and Chinese), instead of a
    silent idle clip; None when the prompt is read or is in one of those languages."""
    if _OTHER_SCRIPTS.search(prompt):
        script_note = "the prompt is in a language the live2d engine does not read (it reads English and Chinese)"
        return script_note + ("; only its English or Chinese words were used" if understood else "")
    if understood or CJK.search(prompt):
        return None
    words = re.findall(r"[^\W\d_]+", prompt.lower())
    english_forms = any(word.isascii() and word.endswith(("ing", "ly")) for word in words)
    if len(words) >= 3 and not _ENGLISH_WORDS.intersection(words) and not english_forms:
        return (
            "the prompt seems not to be in English or Chinese, the languages the live2d engine reads; "
            "nothing in it was drawn"
        )
    return None
