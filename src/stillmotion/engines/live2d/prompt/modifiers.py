"""Directions and modifiers: the words around a motion phrase that say which way, how strongly, how fast and how often.

`_read_modifiers` reads degree ("slightly", "a big smile"), speed ("slowly"), count ("twice", "two nods") and
repetition ("keeps blinking") from a phrase's window; `_find_direction` reads a direction as the viewer sees
it ("to her left" is the viewer's right, "from the left" blows towards the right).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from stillmotion.engines.live2d.plan import Easing
from stillmotion.engines.live2d.prompt.lexicon import FAST, SLOW, SOFT_AMPLITUDE, STRONG_AMPLITUDE

_OPPOSITE: Final = {"left": "right", "right": "left", "up": "down", "down": "up", "in": "out", "out": "in"}
# A word may name different canonical directions for different actions ("closer": lean forward, zoom in).
_DIRECTION_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "left": ("left",),
    "leftward": ("left",),
    "leftwards": ("left",),
    "right": ("right",),
    "rightward": ("right",),
    "rightwards": ("right",),
    "up": ("up",),
    "upward": ("up",),
    "upwards": ("up",),
    "skyward": ("up",),
    "skywards": ("up",),
    "heavenward": ("up",),
    "above": ("up",),
    "down": ("down",),
    "downward": ("down",),
    "downwards": ("down",),
    "below": ("down",),
    "forward": ("forward", "in"),
    "forwards": ("forward", "in"),
    "closer": ("forward", "in"),
    "in": ("in",),
    "back": ("back", "out"),
    "backward": ("back", "out"),
    "backwards": ("back", "out"),
    "away": ("back", "out"),
    "out": ("out",),
}
_DIRECTION_TOKEN: Final = re.compile(
    r"\b(?:(?P<origin>from)\s+)?(?:(?:to|towards|toward|at|on|over|into)\s+)?(?:(?P<owner>her|his|their)\s+|the\s+)?"
    r"(?P<word>" + "|".join(sorted(_DIRECTION_WORDS, key=len, reverse=True)) + r")\b"
)
_FROM_TO: Final = re.compile(r"\bfrom\s+(?:the\s+)?(?:left|right)\s+to\s+(?:the\s+)?(?P<word>left|right)\b")
_LOOK_TARGET: Final = (
    (re.compile(r"\bat\s+the\s+(?:sky|stars|moon|sun|ceiling|clouds|heavens)\b"), "up"),
    (
        re.compile(
            r"\bat\s+(?:the\s+(?:ground|floor|table|water)|(?:her|his|their)\s+(?:feet|hands|lap|phone|book))\b"
        ),
        "down",
    ),
)
_DEFAULT_DIRECTION: Final[dict[tuple[str, str], str]] = {
    ("head", "tilt"): "right",
    ("head", "turn"): "right",
    ("eyes", "wink"): "right",
    ("body", "lean"): "forward",
    ("camera", "zoom"): "in",
    ("camera", "pan"): "right",
    ("camera", "tilt"): "up",
}
_ALL_DIRECTIONS: Final = frozenset({"left", "right", "up", "down"})
_CAMERA_DIRECTIONS: Final = frozenset({"left", "right", "up", "down", "in", "out"})


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_SOFT: Final = _word_set(
    "slightly slight gently gentle softly soft subtly subtle faintly faint barely lightly light mildly mild "
    "delicately delicate calmly calm small tiny little quietly quiet"
)
_STRONG: Final = _word_set(
    "strongly strong vigorously vigorous wildly wild big huge wide widely broadly broad heavily heavy intensely "
    "intense violently violent fiercely fierce energetically energetic dramatically dramatic enthusiastically "
    "powerfully powerful deeply deep large heartily hard"
)
_SLOW_WORDS: Final = _word_set("slowly slow leisurely lazily lazy languidly languid gradually gradual unhurriedly")
_FAST_WORDS: Final = _word_set("quickly quick rapidly rapid fast swiftly swift briskly brisk hurriedly suddenly sudden")
_INTENSIFIERS: Final = _word_set("very really extremely so super ever")
_NUMBERS: Final = {
    "one": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "couple": 2,
    "few": 3,
    "several": 4,
    "many": 5,
}
# Words that may sit between an article and its noun ("a big warm smile") without ending the modifier run.
_ADJACENT_FILLER: Final = _word_set("a an the her his their of warm bright happy sweet shy knowing sly sad long")
_COUNT: Final = re.compile(
    r"\b(?:(?P<once>once)|(?P<twice>twice)|(?P<thrice>thrice)"
    r"|(?P<n>\d+|one|two|three|four|five|six|seven|eight|nine|ten|a\s+couple\s+of|a\s+few|several|many)\s+times?)\b"
)
_CONTINUOUS: Final = re.compile(
    r"\b(?:repeatedly|again\s+and\s+again|over\s+and\s+over|continuously|continually|constantly|non\s?stop"
    r"|all\s+the\s+time|keeps?|keeping|continues?|continuing|on\s+and\s+off)\b"
)
# "smiles a little" but not "smiles at a little dog": the phrase must end the window.
_SOFT_PHRASE: Final = re.compile(r"\b(?:a\s+little(?:\s+bit)?|a\s+bit|a\s+tad|ever\s+so\s+slightly)\s*$")
_STRONG_PHRASE: Final = re.compile(r"\ba\s+lot\s*$")
_CONJUNCTION: Final = re.compile(r"\b(?:and|or|nor|as|while|with|but)\b")
_ADJACENT_RUN: Final = re.compile(
    r"(?:\b(?:"
    + "|".join(sorted(_SOFT | _STRONG | _SLOW_WORDS | _FAST_WORDS | _INTENSIFIERS | {"a", "an", "the", *_NUMBERS}))
    + r")\s+)+$"
)


@dataclass(frozen=True)
class _Modifiers:
    amplitude: float | None  # None: the phrase did not say how strongly
    speed: float
    count: int | None
    continuous: bool  # "keeps blinking", "repeatedly": a one-shot repeats through its span
    easing: Easing


def _read_modifiers(pre: str, text: str, post: str, *, countable: bool) -> _Modifiers:
    """Degree, speed and count from the words around a phrase: adjectives right before it ("a big smile",
    "two nods"), -ly adverbs anywhere in its window, counts after it ("nods twice")."""
    pre_words, text_words, post_words = pre.split(), text.split(), post.split()
    adjacent: list[str] = []
    for word in reversed(pre_words):
        known = word in _SOFT or word in _STRONG or word in _SLOW_WORDS or word in _FAST_WORDS
        if not (known or word in _INTENSIFIERS or word in _ADJACENT_FILLER or word in _NUMBERS or word.isdigit()):
            break
        adjacent.insert(0, word)
    # Adverbs ending in -ly are safe anywhere in the window; bare adjectives only touching the phrase or
    # inside it ("the little girl nods" is not a small nod, "a little nod" is), and "fast"/"hard" only
    # right after it ("laughs hard").
    words = [*pre_words, *text_words, *post_words]
    first_adjacent = len(pre_words) - len(adjacent)
    first_post = len(pre_words) + len(text_words)
    window = [
        (index, word)
        for index, word in enumerate(words)
        if word.endswith("ly")
        or first_adjacent <= index < first_post
        or (index == first_post and word in ("fast", "hard"))
    ]

    amplitude: float | None = None
    for index, word in window:
        boost = index > 0 and words[index - 1] in _INTENSIFIERS
        if word in _SOFT:
            amplitude = 0.2 if boost or word == "barely" else SOFT_AMPLITUDE
            break
        if word in _STRONG:
            amplitude = STRONG_AMPLITUDE
            break
    if amplitude is None:
        if _SOFT_PHRASE.search(post) or _SOFT_PHRASE.search(pre):
            amplitude = SOFT_AMPLITUDE
        elif _STRONG_PHRASE.search(post):
            amplitude = STRONG_AMPLITUDE

    said = {word for _, word in window}
    speed = SLOW if said & _SLOW_WORDS else FAST if said & _FAST_WORDS else 1.0
    easing: Easing = "ease_out" if said & {"suddenly", "sudden"} else "ease_in_out"

    count: int | None = None
    found = _COUNT.search(post)
    if found is not None:
        if found["once"]:
            count = 1
        elif found["twice"]:
            count = 2
        elif found["thrice"]:
            count = 3
        else:
            word = next(w for w in found["n"].split() if w.isdigit() or w in _NUMBERS)  # "a couple of" -> "couple"
            count = int(word) if word.isdigit() else _NUMBERS[word]
    else:
        numbers = [w for w in adjacent if w in _NUMBERS or w.isdigit()]
        if numbers:
            count = int(numbers[-1]) if numbers[-1].isdigit() else _NUMBERS[numbers[-1]]
        elif countable and adjacent and adjacent[0] in ("a", "an"):
            count = 1  # "a nod", "a quick blink", "takes a deep breath"
    continuous = count is None and bool(_CONTINUOUS.search(pre) or _CONTINUOUS.search(post))
    return _Modifiers(amplitude, speed, max(1, count) if count is not None else None, continuous, easing)


def _find_direction(text: str, allowed: frozenset[str]) -> str | None:
    """The first direction in `text` that `allowed` accepts, as the viewer sees it: "to her left" is the
    character's left, so the viewer's right; "from the left" (wind, a pan) means towards the right."""
    span = _FROM_TO.search(text)
    if span is not None and span["word"] in allowed:
        return span["word"]
    for token in _DIRECTION_TOKEN.finditer(text):
        for direction in _DIRECTION_WORDS[token["word"]]:
            if token["owner"] and direction in ("left", "right"):
                direction = _OPPOSITE[direction]  # a character facing us: her left is our right
            if token["origin"] and direction in _OPPOSITE:
                direction = _OPPOSITE[direction]
            if direction in allowed:
                return direction
    for pattern, direction in _LOOK_TARGET:
        if direction in allowed and pattern.search(text):
            return direction
    return None
