"""The webhook outbox: the status events owed to jobs' `callback_url`s, and the record of their delivery.

A status change writes its event in the same transaction (`owe_event`), so an event is never lost between the
change and its delivery. Each event has its own retry budget, and a job's events go out in the order they were
written: a later one waits while an earlier one is still being tried.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, exists, insert, literal, select, update
from sqlalchemy.orm import aliased

from stillmotion.domain import Job, JobStatus
from stillmotion.jobs.database import Database
from stillmotion.jobs.rows import job_from_mapping
from stillmotion.jobs.schema import jobs, webhook_events

PENDING, SENT, ABANDONED = "pending", "sent", "abandoned"


@dataclass(frozen=True)
class WebhookDue:
    """One status event owed to `job.callback_url` whose time has come. `job` is the job as it is now, which
    may have moved on since `status`."""

    event_id: int
    job: Job
    status: JobStatus
    attempts: int  # failed deliveries of this event so far


def owe_event(conn: Connection, job_id: str, status: JobStatus, *, now: float) -> None:
    """Record, inside `conn`'s transaction, that `status` is owed to the job's callback; nothing for a job
    without one, and nothing when that status was already recorded (a job that runs again after a shutdown
    handed it back is `running` once for its client)."""
    earlier = select(webhook_events.c.id).where(
        (webhook_events.c.job_id == job_id) & (webhook_events.c.status == status.value)
    )
    owed = select(
        jobs.c.id, literal(status.value), literal(PENDING), literal(0), literal(now)
    ).where((jobs.c.id == job_id) & jobs.c.callback_url.is_not(None) & ~exists(earlier))
    conn.execute(
        insert(webhook_events).from_select(["job_id", "status", "state", "attempts", "created_at"], owed)
    )


class WebhookOutbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    def due(self, *, limit: int = 20) -> list[WebhookDue]:
        """Pending events whose retry time has come and that no earlier pending event of their job precedes."""
        now = self._db.clock()
        before = aliased(webhook_events)
        earlier_pending = exists(
            select(before.c.id).where(
                (before.c.job_id == webhook_events.c.job_id)
                & (before.c.id < webhook_events.c.id)
                & (before.c.state == PENDING)
            )
        )
        query = (
            select(
                webhook_events.c.id.label("event_id"),
                webhook_events.c.status.label("event_status"),
                webhook_events.c.attempts.label("event_attempts"),
                *jobs.columns,
            )
            .join(jobs, jobs.c.id == webhook_events.c.job_id)
            .where(
                (webhook_events.c.state == PENDING)
                & (webhook_events.c.next_at.is_(None) | (webhook_events.c.next_at <= now))
                & ~earlier_pending
            )
            .order_by(webhook_events.c.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [
            WebhookDue(
                event_id=int(row.event_id),
                job=job_from_mapping(row._mapping),
                status=JobStatus(row.event_status),
                attempts=int(row.event_attempts),
            )
            for row in rows
        ]

    def claim(self, event_id: int, *, hold_s: float) -> bool:
        """Take the delivery of an event for `hold_s` seconds, so that no other dispatcher sends it meanwhile;
        False when another took it or it was delivered since it was listed."""
        now = self._db.clock()
        with self._db.write() as conn:
            changed = conn.execute(
                update(webhook_events)
                .where(
                    and_(
                        webhook_events.c.id == event_id,
                        webhook_events.c.state == PENDING,
                        webhook_events.c.next_at.is_(None) | (webhook_events.c.next_at <= now),
                    )
                )
                .values(next_at=now + hold_s)
            ).rowcount
        return changed == 1

    def delivered(self, event_id: int) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(webhook_events)
                .where(webhook_events.c.id == event_id)
                .values(state=SENT, next_at=None, error=None)
            )

    def failed(self, event_id: int, *, error: str, retry_at: float | None) -> None:
        """Record a failed delivery; `retry_at=None` gives up on this event (the job's later events still go)."""
        with self._db.write() as conn:
            conn.execute(
                update(webhook_events)
                .where(webhook_events.c.id == event_id)
                .values(
                    attempts=webhook_events.c.attempts + 1,
                    next_at=retry_at,
                    error=error[:2000],
                    state=PENDING if retry_at is not None else ABANDONED,
                )
            )

    def events(self, job_id: str) -> list[tuple[JobStatus, str, int]]:
        """A job's events in order: (status, state, failed attempts), for operators and tests."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(webhook_events.c.status, webhook_events.c.state, webhook_events.c.attempts)
                .where(webhook_events.c.job_id == job_id)
                .order_by(webhook_events.c.id)
            ).all()
        return [(JobStatus(status), state, int(attempts)) for status, state, attempts in rows]
