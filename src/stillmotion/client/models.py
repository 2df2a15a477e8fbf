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
class Generation:
    """One generation as the server last described it.

    `progress` is 0-100 when the server reports it (stillmotion does, the hosted API does not).
    `status_word` is the status as sent; `status` is it mapped onto the four documented words (a word
    this SDK does not know counts as `generating`, so waiting goes on until the server says it is done).
    `raw` is the whole decoded body, extension fields included.
    """

    id: str
    status: Status
    video_url: str | None = None
    error: GenerationError | None = None
    progress: int | None = None
    status_word: str = ""
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
    """`{id, status, video: {url} | null, error: {name, message} | null, progress?}` -> `Generation`."""
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
