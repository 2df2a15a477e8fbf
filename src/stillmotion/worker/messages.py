"""The messages between a worker and its engine process, one dataclass each.

Every message about a render names it (`job_id`, `attempt`): the parent drops whatever the child says about a
render it is no longer following, so a late answer can never be taken for another job's.

    parent -> child   Render, then possibly Cancel; Stop when the worker closes
    child -> parent   Started (the engine is loaded), Progress ..., Log ... and then exactly one of
                      Done, Failed or Stopped
"""

from __future__ import annotations

from dataclasses import dataclass

from stillmotion.domain.models import ModelSpec
from stillmotion.engines.base import RenderRequest, RenderResult


@dataclass(frozen=True)
class RenderId:
    job_id: str
    attempt: int


@dataclass(frozen=True)
class Render:
    render: RenderId
    spec: ModelSpec
    request: RenderRequest
    output_path: str


@dataclass(frozen=True)
class Cancel:
    render: RenderId


@dataclass(frozen=True)
class Stop:
    """The worker is closing: the child exits (after stopping a render under way at its next progress report)."""


@dataclass(frozen=True)
class Started:
    """The engine is loaded and the render has begun: from here on it must keep reporting progress."""

    render: RenderId


@dataclass(frozen=True)
class Progress:
    render: RenderId
    fraction: float


@dataclass(frozen=True)
class Log:
    """A log record the engine made during the render, to be written by the parent's logging."""

    render: RenderId
    logger: str
    level: int
    message: str
    created: float


@dataclass(frozen=True)
class Done:
    render: RenderId
    result: RenderResult


@dataclass(frozen=True)
class Failed:
    render: RenderId
    code: str
    message: str


@dataclass(frozen=True)
class Stopped:
    """The render stopped at a progress report after a Cancel (or, unasked, because the engine raised Cancelled)."""

    render: RenderId


ToChild = Render | Cancel | Stop
FromChild = Started | Progress | Log | Done | Failed | Stopped
Outcome = Done | Failed | Stopped
