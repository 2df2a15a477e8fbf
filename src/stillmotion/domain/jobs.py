"""Job states and the one function that changes them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED})

# running -> queued happens when a worker releases a job it could not finish (drain, lost child).
_LEGAL: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    JobStatus.SUCCEEDED: frozenset({JobStatus.EXPIRED}),
    JobStatus.FAILED: frozenset({JobStatus.EXPIRED}),
    JobStatus.CANCELLED: frozenset({JobStatus.EXPIRED}),
    JobStatus.EXPIRED: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, current: JobStatus, new: JobStatus) -> None:
        self.current = current
        self.new = new
        super().__init__(f"illegal job transition {current.value} -> {new.value}")


def check_transition(current: JobStatus, new: JobStatus) -> None:
    """Raise `IllegalTransition` unless `current -> new` is allowed. (running -> running is a re-claim.)"""
    if new not in _LEGAL[current]:
        raise IllegalTransition(current, new)


@dataclass(frozen=True)
class JobSpec:
    """What a dialect asks for, after validation. `image` holds the first frame's bytes (JPEG or PNG)."""

    tenant: str
    model: str
    engine: str
    prompt: str
    image: bytes
    image_format: str
    image_width: int
    image_height: int
    prompt_optimizer: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    # The wire format the job came in by (`aimlapi`, `minimax`, `openai`): its webhooks speak the same one.
    dialect: str = "aimlapi"
    # Where status events are POSTed; already checked against the URL guard.
    callback_url: str | None = None
    # A client's `Idempotency-Key` and a digest of what it asked for: the same key and request give the same job.
    idempotency_key: str | None = None
    request_hash: str | None = None
    request_id: str | None = None  # the creating HTTP request's id, carried into the worker's logs


@dataclass(frozen=True)
class Job:
    """A job as stored. `media_key` is set once a video exists; `error` once it failed."""

    id: str
    tenant: str
    model: str
    engine: str
    prompt: str
    prompt_optimizer: bool
    status: JobStatus
    progress: float
    attempt: int  # claims so far: every run's fencing token
    created_at: datetime
    updated_at: datetime
    options: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    media_key: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    dialect: str = "aimlapi"
    callback_url: str | None = None
    request_id: str | None = None
    lost_runs: int = 0  # runs that ended without an outcome (a worker or engine that died)
