"""Cutting a prompt into clauses, in the order their motions happen.

`_normalize` lower-cases the prompt and evens out punctuation and contractions ("doesn't" -> "does not");
`_split_clauses` cuts it at sentence ends, commas and connectors ("then", "while", "after", ...), each clause
knowing how it follows the one before: in sequence ("seq", "then") or at the same time ("with"). Subordinate
openers ("While she nods, ...", "Before smiling, ...") and "after" reorder or tie the clauses around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, cast

Connector = Literal["start", "seq", "then", "with"]
_CONNECTOR_RANK: Final[dict[str, int]] = {"start": 0, "seq": 1, "with": 2, "then": 3}

_MID_CONNECTOR: Final = re.compile(
    r"\b(?:(?P<then>and\s+then|and\s+after\s+that|after\s+that|and\s+afterwards?|afterwards?|then"
    r"|and\s+finally|finally|and\s+later|before)"
    r"|(?P<after>after)"
    r"|(?P<with>while|whilst|meanwhile|at\s+the\s+same\s+time|simultaneously|but"
    r"|(?<!such\s)as(?!\s+(?:if|though|well|much|many|long|soon|a|an)\b)))\b"
)
_LEADING_THEN: Final = re.compile(r"^(?:next|later|eventually|subsequently|lastly|at\s+last|in\s+the\s+end)\b\s*")
_LEADING_NOISE: Final = re.compile(r"^(?:first|at\s+first|initially|and|also)\b\s*")
# Subordinate openers ("While she nods, ...") tie the clause after them, not the sentence before.
_LEADING_SUBORDINATE: Final = re.compile(r"^(?P<word>while|whilst|as|when|after|once|before)\b\s*")


@dataclass(frozen=True)
class _Piece:
    text: str
    connector: Connector


def _normalize(prompt: str) -> str:
    text = prompt.lower().translate({0x2019: "'", 0x2018: "'", 0x201C: '"', 0x201D: '"', 0x2014: ", ", 0x2013: ", "})
    text = re.sub(r"\bcan't\b", "can not", text)
    text = re.sub(r"\bwon't\b", "will not", text)
    text = re.sub(r"n't\b", " not", text)
    text = re.sub(r"'s\b", "", text)  # "the girl's hair" reads like "the girl hair"
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # "close-up", "locked-off"
    text = re.sub(r"[\"'()\[\]*_]", " ", text)
    return re.sub(r"[ \t]+", " ", text)


def _split_clauses(text: str) -> list[_Piece]:
    """Clauses in the order their motions happen, each with how it follows the clause before."""
    pieces: list[_Piece] = []
    for sentence in re.split(r"(?<!\d)[.!?;:]+(?!\d)|\n+", text):
        pieces.extend(_split_sentence(sentence, "seq" if pieces else "start"))
    return [piece for piece in (_strip_leading(p) for p in pieces) if piece.text]


# A clause after a comma that opens with a participle runs at the same time as the one before it: "she sings,
# swaying gently"; "laughing, closing her eyes".
_PARTICIPLE: Final = re.compile(r"^(?:\w+ly\s+)?(?!(?:nothing|something|everything|evening|morning)\b)[a-z]{2,}ing\b")


def _split_sentence(sentence: str, opening: Connector) -> list[_Piece]:
    # (text, connector); connector "after" marks "she smiles after nodding", resolved below.
    raw: list[tuple[str, str]] = []
    subordinate: str | None = None  # "While she nods, ...", "Before smiling, ..."
    subordinate_pieces = 0
    carried: str | None = None  # "Meanwhile, she sways": a connector alone before a comma ties what follows
    for comma_index, chunk in enumerate(sentence.split(",")):
        chunk = chunk.strip()
        connector: str = carried or (opening if comma_index == 0 else "seq")
        if connector == "seq" and _PARTICIPLE.match(chunk):
            connector = "with"
        carried = None
        if comma_index == 0:
            lead = _LEADING_SUBORDINATE.match(chunk)
            if lead is not None:
                subordinate, chunk = lead["word"], chunk[lead.end() :]
        position = 0
        for found in _MID_CONNECTOR.finditer(chunk):
            before = chunk[position : found.start()].strip()
            if before:
                raw.append((before, connector))
            # An explicit connector replaces the comma's implicit "in sequence".
            connector = "then" if found["then"] else "with" if found["with"] else "after"
            position = found.end()
        rest = chunk[position:].strip()
        if rest:
            raw.append((rest, connector))
        elif position:
            carried = connector
        if comma_index == 0:
            subordinate_pieces = len(raw)

    if subordinate is not None and 0 < subordinate_pieces < len(raw):
        main_text, main_connector = raw[subordinate_pieces]
        if subordinate == "before":
            # "Before smiling, she nods": the main clause comes first.
            moved = raw[:subordinate_pieces]
            raw = [(main_text, opening), (moved[0][0], "then"), *moved[1:], *raw[subordinate_pieces + 1 :]]
        elif main_connector == "seq":
            tie = "with" if subordinate in ("while", "whilst", "as", "when") else "then"
            raw[subordinate_pieces] = (main_text, tie)

    ordered: list[tuple[str, str]] = []
    for text, connector in raw:
        if connector == "after" and ordered:
            # "She smiles after nodding": what follows "after" happens first.
            previous_text, previous_connector = ordered.pop()
            ordered += [(text, previous_connector), (previous_text, "then")]
        else:
            ordered.append((text, "then" if connector == "after" else connector))
    return [_Piece(text, cast(Connector, connector)) for text, connector in ordered]


def _strip_leading(piece: _Piece) -> _Piece:
    text, connector = piece.text, piece.connector
    lead = _LEADING_THEN.match(text)
    if lead is not None:
        text, connector = text[lead.end() :], "then"
    text = _LEADING_NOISE.sub("", text)
    return _Piece(text.strip(), connector)
