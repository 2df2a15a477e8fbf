"""What every dialect adds to its job answers beyond the hosted API's fields: what the engine drew (`motion_plan`)
and the seed it rendered with (`seed`). Clients that do not know them ignore them."""

from __future__ import annotations

from typing import Any

from stillmotion.domain import Job
from stillmotion.domain.options import MAX_SEED


def motion_plan(job: Job) -> dict[str, Any] | None:
    """What the engine drew and what it left out (`notes`), as the engine reported it; None before it has run or
    for an engine that reports no plan. Every dialect's answer carries it as the `motion_plan` extension."""
    extra = job.result.get("extra") or {}
    plan = extra.get("motion_plan")
    return dict(plan) if isinstance(plan, dict) else None


SEED_USED_DOC = (
    "The seed the engine rendered with: the one asked for, or the one it drew when none was given (live2d "
    "derives it from the image). Unset (null or left out) until the job has run. The same image, prompt and "
    "options with this seed (the AI/ML routes' `seed` field, the command line's `--seed`) render the same video."
)


def seed_used(job: Job) -> int | None:
    """The seed the engine reported rendering with; None before it has run, or for an engine that reports none
    (or one outside the range a create accepts, which could not be sent back). Every dialect's answer carries it
    as the `seed` extension, described by `SEED_USED_DOC`."""
    seed = (job.result.get("extra") or {}).get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED:
        return seed
    return None
