"""Job rows as `domain.Job`s: the one mapping from the jobs table's columns, for the store and the poll readers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy.engine import Row

from stillmotion.domain import Job, JobStatus
from stillmotion.jobs.schema import jobs

# The jobs table's columns in order: what the poll readers' raw queries select, and the keys of their rows.
JOB_COLUMNS: Final = tuple(column.name for column in jobs.columns)


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def job_from_row(row: Row[Any]) -> Job:
    return job_from_mapping(row._mapping)


def job_from_mapping(m: Mapping[Any, Any]) -> Job:
    created = _dt(m["created_at"])
    updated = _dt(m["updated_at"])
    assert created is not None and updated is not None
    return Job(
        id=m["id"],
        tenant=m["tenant"],
        model=m["model"],
        engine=m["engine"],
        prompt=m["prompt"],
        prompt_optimizer=bool(m["prompt_optimizer"]),
        status=JobStatus(m["status"]),
        progress=float(m["progress"]),
        attempt=int(m["attempt"]),
        created_at=created,
        updated_at=updated,
        options=dict(m["options"] or {}),
        started_at=_dt(m["started_at"]),
        finished_at=_dt(m["finished_at"]),
        media_key=m["media_key"],
        error_code=m["error_code"],
        error_message=m["error_message"],
        result=dict(m["result"] or {}),
        dialect=m["dialect"],
        callback_url=m["callback_url"],
        request_id=m["request_id"],
        lost_runs=int(m["lost_runs"] or 0),
    )
