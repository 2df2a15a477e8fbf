"""Typed views of the AI/ML API's generation bodies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from stillmotion.client.errors import UnexpectedResponse

Status = Literal["queued", "generating", "completed", "error"]

TERMINAL: Final[frozenset[Status]] = frozenset({"completed", "error"})

# The documented words, plus the ones the hosted API's own example waits on ("waiting", "active").
_STATUS_WORDS: Final[dict[str, Status]] = {
    "queued": "queued",
    "waiting": "queued",
    "generating": "generating",
    "active": "generating",
    "processing": "generating",
    "completed": "completed",
    "error": "error",
    "failed": "error",
}


@dataclass(frozen=True)
class GenerationError:
    name: str
    message: str


@dataclass(frozen=True)
class PlanTrack:
    """One motion the engine drew: `part` (head, eyes, mouth, body, hair, camera, ambient, ...) and `action`
    (nod, blink, zoom, ...), the way it went, and when in the clip. `source` is `prompt` for what the prompt
    asked, `optimizer` or `idle` for what the engine added."""

    part: str
    action: str
    direction: str | None
    start_s: float
    end_s: float
    amplitude: float
    repeats: int
    source: str


@dataclass(frozen=True)
class MotionPlan:
    """What the engine drew (`tracks`) and what it did not (`notes`: each names the prompt's words it could not
    draw, and why), with the whole plan in words (`optimized_prompt`)."""

    tracks: tuple[PlanTrack, ...]
    notes: tuple[str, ...]
    optimized_prompt: str = ""
    still: bool = False

    @property
    def drawn(self) -> tuple[str, ...]:
        """The motions drawn, as `part.action[ direction]`, in order, each once."""
        names = [f"{t.part}.{t.action}" + (f" {t.direction}" if t.direction else "") for t in self.tracks]
        return tuple(dict.fromkeys(names))


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def motion_plan_from_dict(value: Any) -> MotionPlan | None:
    """The `motion_plan` extension, or None when the server sent none (or something else)."""
    if not isinstance(value, Mapping):
        return None
    tracks = tuple(
        PlanTrack(
            part=str(item.get("part", "")),
            action=str(item.get("action", "")),
            direction=str(item["direction"]) if item.get("direction") is not None else None,
            start_s=_number(item.get("start_s"), 0.0),
            end_s=_number(item.get("end_s"), 0.0),
            amplitude=_number(item.get("amplitude"), 0.0),
            repeats=int(_number(item.get("repeats"), 1)),
            source=str(item.get("source", "prompt")),
        )
        for item in value.get("tracks") or ()
        if isinstance(item, Mapping)
    )
    notes = tuple(str(note) for note in value.get("notes") or () if isinstance(note, str))
    prompt = value.get("optimized_prompt")
    return MotionPlan(tracks, notes, prompt if isinstance(prompt, str) else "", bool(value.get("still", False)))


@dataclass(frozen=True)
class Generation:
    """One generation as the server last described it.

    `progress` is 0-100 when the server reports it (stillmotion does, the hosted API does not).
    `status_word` is the status as sent; `status` is it mapped onto the four documented words (a word
    this SDK does not know counts as `generating`, so waiting goes on until the server says it is done).
    `plan` is what the engine drew and what it could not (stillmotion's `motion_plan` extension), once it has run.
    `seed` is the seed it rendered with (the `seed` extension), once it has run: pass it to `create` to render the
    same video again.
    `raw` is the whole decoded body, extension fields included.
    """

    id: str
    status: Status
    video_url: str | None = None
    error: GenerationError | None = None
    progress: int | None = None
    status_word: str = ""
    plan: MotionPlan | None = None
    seed: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


def _status(word: Any) -> Status:
    if not isinstance(word, str):
        raise UnexpectedResponse(f"`status` must be a string (got {word!r})")
    return _STATUS_WORDS.get(word.strip().lower(), "generating")


def _progress(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return min(max(round(value), 0), 100)


def _seed(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _video_url(video: Any) -> str | None:
    if isinstance(video, Mapping):
        url = video.get("url")
        return url if isinstance(url, str) and url else None
    return None


def _error(value: Any, status: Status) -> GenerationError | None:
    if isinstance(value, Mapping):
        return GenerationError(name=str(value.get("name") or "error"), message=str(value.get("message") or ""))
    if isinstance(value, str) and value:
        return GenerationError(name="error", message=value)
    if status == "error":
        return GenerationError(name="error", message="the server reported an error without details")
    return None


def generation_from_poll(body: Any) -> Generation:
    """`{id, status, video: {url} | null, error: {name, message} | null, progress?, motion_plan?, seed?}` ->
    `Generation`."""
    if not isinstance(body, Mapping) or "status" not in body:
        raise UnexpectedResponse(f"expected a generation object with `id` and `status`, got {body!r:.200}")
    status = _status(body["status"])
    return Generation(
        id=str(body.get("id") or body.get("generation_id") or ""),
        status=status,
        video_url=_video_url(body.get("video")),
        error=_error(body.get("error"), status),
        progress=_progress(body.get("progress")),
        status_word=str(body["status"]),
        plan=motion_plan_from_dict(body.get("motion_plan")),
        seed=_seed(body.get("seed")),
        raw=dict(body),
    )


def generation_from_create(body: Any) -> Generation:
    """`{generation_id, status}` -> `Generation`."""
    if not isinstance(body, Mapping) or not body.get("generation_id"):
        raise UnexpectedResponse(f"expected `generation_id` in the create response, got {body!r:.200}")
    word = body.get("status") or "queued"
    return Generation(
        id=str(body["generation_id"]), status=_status(word), status_word=str(word), raw=dict(body)
    )
