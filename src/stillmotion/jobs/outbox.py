"""The webhook outbox: which status events a job's `callback_url` is owed, and the record of their delivery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from stillmotion.domain import Job, JobStatus
from stillmotion.jobs.database import Database
from stillmotion.jobs.rows import job_from_row
from stillmotion.jobs.schema import jobs


@dataclass(frozen=True)
class WebhookDue:
    """A job whose current status has not been delivered to its `callback_url` yet."""

    job: Job
    attempts: int  # failed deliveries so far


class WebhookOutbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    def due(self, *, limit: int = 20) -> list[WebhookDue]:
        """Jobs with a callback whose current status (past `queued`) is owed to it and whose retry time has come."""
        now = self._db.clock()
        query = (
            select(jobs)
            .where(
                jobs.c.callback_url.is_not(None)
                & (jobs.c.status != JobStatus.QUEUED.value)
                & (jobs.c.webhook_sent.is_(None) | (jobs.c.webhook_sent != jobs.c.status))
                & (jobs.c.webhook_next_at.is_(None) | (jobs.c.webhook_next_at <= now))
            )
            .order_by(jobs.c.updated_at)
            .limit(limit)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [WebhookDue(job_from_row(row), int(row._mapping["webhook_attempts"])) for row in rows]

    def claim(self, job_id: str, *, status: JobStatus, hold_s: float) -> bool:
        """Take the delivery of `status` for `hold_s` seconds, so that no other dispatcher sends it meanwhile; not
        when it was sent already (a dispatcher may list a job as due just before another delivers it)."""
        now = self._db.clock()
        with self._db.write() as conn:
            changed = conn.execute(
                update(jobs)
                .where(
                    (jobs.c.id == job_id)
                    & (jobs.c.status == status.value)
                    & (jobs.c.webhook_sent.is_(None) | (jobs.c.webhook_sent != status.value))
                    & (jobs.c.webhook_next_at.is_(None) | (jobs.c.webhook_next_at <= now))
                )
                .values(webhook_next_at=now + hold_s)
            ).rowcount
        return changed == 1

    def delivered(self, job_id: str, *, status: JobStatus) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(webhook_sent=status.value, webhook_attempts=0, webhook_next_at=None, webhook_error=None)
            )

    def failed(self, job_id: str, *, status: JobStatus, error: str, retry_at: float | None) -> None:
        """Record a failed delivery; `retry_at=None` gives up on this status (a later status is still sent)."""
        values: dict[str, Any] = {
            "webhook_attempts": jobs.c.webhook_attempts + 1,
            "webhook_next_at": retry_at,
            "webhook_error": error[:2000],
        }
        if retry_at is None:
            values["webhook_sent"] = status.value
            values["webhook_attempts"] = 0
        with self._db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
