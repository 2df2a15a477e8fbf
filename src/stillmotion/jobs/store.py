"""`JobStore`: jobs, their inputs and API keys on SQLAlchemy (SQLite in WAL mode, or PostgreSQL).

Every status change is checked by `domain.check_transition` and made by one guarded UPDATE whose WHERE clause
names the state it comes from and, for worker writes, the attempt the worker holds. A write that matches no
row lost a race or was fenced off, and says so by returning False.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from stillmotion.domain import (
    Conflict,
    Job,
    JobNotFound,
    JobSpec,
    JobStatus,
    UnfinishedCapReached,
    check_transition,
)
from stillmotion.domain.text import unstorable
from stillmotion.jobs.database import Clock, Database
from stillmotion.jobs.faults import DEFAULT_TIMEOUT_S
from stillmotion.jobs.keys import ApiKey, hash_key, new_key, tenant_for_key
from stillmotion.jobs.migrations import upgrade_to_head
from stillmotion.jobs.outbox import WebhookOutbox, owe_event
from stillmotion.jobs.polls import AsyncPostgresPollReader, SqlitePollReader
from stillmotion.jobs.rows import job_from_mapping, job_from_row
from stillmotion.jobs.schema import api_keys, job_inputs, jobs, webhook_events


@dataclass(frozen=True)
class Page:
    """One page of a tenant's jobs, and whether more follow it."""

    jobs: list[Job]
    has_more: bool


@dataclass(frozen=True)
class Claim:
    """A job a worker holds. Every later write by that worker names `attempt`."""

    job: Job
    attempt: int


def _count_unfinished(conn: Connection, tenant: str) -> int:
    """How many of `tenant`'s jobs are queued or running, read through `conn` (inside its transaction)."""
    unfinished = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
    count = conn.execute(
        select(func.count()).select_from(jobs).where((jobs.c.tenant == tenant) & jobs.c.status.in_(unfinished))
    ).scalar()
    return int(count or 0)


def _new_job_id() -> str:
    # Numeric like the hosted API's ids ("288439434137694"), 18 digits so collisions stay negligible.
    return str(10**17 + secrets.randbelow(9 * 10**17))


_GET_JOB = select(jobs).where(jobs.c.id == bindparam("job_id"))
_GET_TENANT_JOB = select(jobs).where(
    (jobs.c.id == bindparam("job_id")) & (jobs.c.tenant == bindparam("tenant"))
)


class JobStore:
    def __init__(
        self, url: str, *, max_attempts: int = 3, clock: Clock = time.time, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        """`timeout_s` bounds each wait for the database (`jobs.faults`)."""
        self.url = url
        self.max_attempts = max_attempts
        self._db = Database(url, clock=clock, timeout_s=timeout_s)
        self._engine = self._db.engine
        self._sqlite = self._db.sqlite
        self._clock = clock
        self._write = self._db.write
        self._read = self._db.read
        on_disk = self._db.sqlite_path not in ("", ":memory:")
        self._poll_reader = SqlitePollReader(self._db.sqlite_path, timeout_s=timeout_s) if on_disk else None
        self._async_reader = (
            AsyncPostgresPollReader(url, timeout_s=timeout_s)
            if make_url(url).get_backend_name() == "postgresql"
            else None
        )
        # The webhook outbox lives in the same database and shares its transactions' rules.
        self.webhooks = WebhookOutbox(self._db)

    def create_schema(self) -> None:
        """Migrate the database to the newest schema revision (Alembic); safe when several processes start at once."""
        with self._db.for_migrations() as engine:
            upgrade_to_head(engine)

    def close(self) -> None:
        if self._poll_reader is not None:
            self._poll_reader.close()
        if self._async_reader is not None:
            self._async_reader.close()
        self._db.close()

    # ---- jobs: the API side ----

    def create(self, spec: JobSpec, *, cap: int = 0) -> Job:
        """Insert the job and its first frame in one transaction; when this returns, both are committed.

        With `spec.idempotency_key`, a job this tenant already made with that key is returned instead (and
        `Conflict` raised if it was made from a different request), even when two such creates race.
        With `cap` > 0, `UnfinishedCapReached` when the tenant already has that many queued or running jobs,
        counted in the insert's own transaction while the tenant's other creates wait (SQLite: the write lock;
        PostgreSQL: a transaction-scoped advisory lock on the tenant): a burst of creates cannot pass it.
        """
        now = self._clock()
        for _ in range(5):
            job_id = _new_job_id()
            values = {
                "id": job_id,
                "tenant": spec.tenant,
                "model": spec.model,
                "engine": spec.engine,
                "prompt": spec.prompt,
                "prompt_optimizer": spec.prompt_optimizer,
                "options": dict(spec.options),
                "image_format": spec.image_format,
                "image_width": spec.image_width,
                "image_height": spec.image_height,
                "status": JobStatus.QUEUED.value,
                "progress": 0.0,
                "attempt": 0,
                "created_at": now,
                "updated_at": now,
                "result": {},
                "dialect": spec.dialect,
                "callback_url": spec.callback_url,
                "idempotency_key": spec.idempotency_key,
                "request_hash": spec.request_hash,
                "request_id": spec.request_id,
                "lost_runs": 0,
            }
            try:
                with self._write() as conn:
                    if cap > 0:
                        self._check_cap(conn, spec.tenant, cap)
                    conn.execute(insert(jobs).values(**values))
                    conn.execute(insert(job_inputs).values(job_id=job_id, data=spec.image))
            except (UnfinishedCapReached, IntegrityError) as exc:
                # A concurrent create with the same key won the race (a replay is never capped either).
                if spec.idempotency_key is not None:
                    earlier = self.find_idempotent(spec.tenant, spec.idempotency_key, spec.request_hash)
                    if earlier is not None:
                        return earlier
                if isinstance(exc, UnfinishedCapReached):
                    raise
                continue  # an id collision: draw again
            return self.get(job_id)
        raise RuntimeError("could not allocate a job id")

    def _check_cap(self, conn: Connection, tenant: str, cap: int) -> None:
        """`UnfinishedCapReached` when `tenant` has `cap` or more unfinished jobs, inside `conn`'s transaction."""
        if not self._sqlite:
            # Creates of one tenant queue here until this transaction ends; other tenants are not held up.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:tenant, 0))"), {"tenant": tenant})
        count = _count_unfinished(conn, tenant)
        if count >= cap:
            raise UnfinishedCapReached(cap, count)

    def find_idempotent(self, tenant: str, key: str, request_hash: str | None) -> Job | None:
        """The job `tenant` made with `Idempotency-Key: key`, if any; `Conflict` if its request differed."""
        with self._read() as conn:
            row = conn.execute(
                select(jobs).where((jobs.c.tenant == tenant) & (jobs.c.idempotency_key == key))
            ).first()
        if row is None:
            return None
        if row._mapping["request_hash"] != request_hash:
            raise Conflict(
                "Idempotency-Key", "was already used with a different request; use a new key for a new request"
            )
        return job_from_row(row)

    def get(self, job_id: str, *, tenant: str | None = None) -> Job:
        """The job, or `JobNotFound`; with `tenant`, another tenant's job is not found either."""
        if unstorable(job_id) is not None:  # no job has such an id; PostgreSQL would refuse the query
            raise JobNotFound(job_id)
        if self._poll_reader is not None:
            try:
                found = self._poll_reader.get(job_id, tenant)
            except sqlite3.Error:
                found = None  # e.g. no schema yet: the path below raises SQLAlchemy's error for it, as elsewhere
            else:
                if found is None:
                    raise JobNotFound(job_id)
                return job_from_mapping(found)
        # The hot read of every status poll: statements built once, so a call only binds its values.
        with self._read() as conn:
            if tenant is None:
                row = conn.execute(_GET_JOB, {"job_id": job_id}).first()
            else:
                row = conn.execute(_GET_TENANT_JOB, {"job_id": job_id, "tenant": tenant}).first()
        if row is None:
            raise JobNotFound(job_id)
        return job_from_row(row)

    @property
    def polls_on_loop(self) -> bool:
        """True when `get_on_loop` can serve status polls on the event loop (SQLite and PostgreSQL)."""
        return self._sqlite or self._async_reader is not None

    async def get_on_loop(self, job_id: str, *, tenant: str | None = None) -> Job:
        """`get` for a status poll, run on the event loop: SQLite's WAL point read in place (tens of microseconds,
        never waiting for writers, less than a hand-off to a thread costs), PostgreSQL on the loop's own async
        connections. Only when `polls_on_loop`."""
        if self._async_reader is None or unstorable(job_id) is not None:
            return self.get(job_id, tenant=tenant)
        found = await self._async_reader.get(job_id, tenant)
        if found is None:
            raise JobNotFound(job_id)
        return job_from_mapping(found)

    def load_input(self, job_id: str) -> bytes:
        with self._read() as conn:
            data = conn.execute(select(job_inputs.c.data).where(job_inputs.c.job_id == job_id)).scalar()
        if data is None:
            raise JobNotFound(job_id)
        return bytes(data)

    def list_jobs(
        self, tenant: str, *, limit: int = 20, after: str | None = None, newest_first: bool = True
    ) -> Page:
        """A page of `tenant`'s jobs ordered by creation, starting after the job `after` (a cursor)."""
        ordering = (jobs.c.created_at.desc(), jobs.c.id.desc()) if newest_first else (jobs.c.created_at, jobs.c.id)
        query = select(jobs).where(jobs.c.tenant == tenant)
        if after is not None:
            self.get(after, tenant=tenant)  # JobNotFound for a cursor that is not the tenant's
            # Compare with the stored value itself: a round trip through datetime would round it.
            at = select(jobs.c.created_at).where(jobs.c.id == after).scalar_subquery()
            if newest_first:
                query = query.where((jobs.c.created_at < at) | ((jobs.c.created_at == at) & (jobs.c.id < after)))
            else:
                query = query.where((jobs.c.created_at > at) | ((jobs.c.created_at == at) & (jobs.c.id > after)))
        with self._read() as conn:
            rows = conn.execute(query.order_by(*ordering).limit(limit + 1)).all()
        return Page(jobs=[job_from_row(row) for row in rows[:limit]], has_more=len(rows) > limit)

    def cancel(self, job_id: str, *, tenant: str | None = None) -> Job:
        """Cancel a queued or running job; a finished job is returned unchanged. The worker running it sees
        its next heartbeat refused and stops rendering."""
        while True:
            job = self.get(job_id, tenant=tenant)
            if job.status.is_terminal():
                return job
            check_transition(job.status, JobStatus.CANCELLED)
            now = self._clock()
            unchanged = (jobs.c.id == job_id) & (jobs.c.status == job.status.value) & (jobs.c.attempt == job.attempt)
            with self._write() as conn:
                changed = conn.execute(
                    update(jobs)
                    .where(unchanged)
                    .values(
                        status=JobStatus.CANCELLED.value,
                        finished_at=now,
                        updated_at=now,
                        lease_expires_at=None,
                        error_code="cancelled",
                        error_message="the generation was cancelled",
                    )
                ).rowcount
                if changed == 1:
                    owe_event(conn, job_id, JobStatus.CANCELLED, now=now)
            if changed == 1:
                return self.get(job_id)

    def delete(self, job_id: str, *, tenant: str | None = None) -> Job:
        """Remove the job and its input for good; returns it as it was, so the caller can remove its media.
        A worker still running it finds it gone at its next heartbeat and stops."""
        job = self.get(job_id, tenant=tenant)
        with self._write() as conn:
            conn.execute(delete(job_inputs).where(job_inputs.c.job_id == job_id))
            conn.execute(delete(webhook_events).where(webhook_events.c.job_id == job_id))
            conn.execute(delete(jobs).where(jobs.c.id == job_id))
        return job

    def counts_by_status(self) -> dict[JobStatus, int]:
        with self._read() as conn:
            rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)).all()
        counts = dict.fromkeys(JobStatus, 0)
        for status, count in rows:
            counts[JobStatus(status)] = int(count)
        return counts

    def count_unfinished(self, tenant: str) -> int:
        """How many of `tenant`'s jobs are queued or running (the per-key cap counts these)."""
        with self._read() as conn:
            return _count_unfinished(conn, tenant)

    def failures_by_code(self) -> dict[str, int]:
        """Failed jobs held in the store, counted by `error_code` (one GROUP BY, for metrics)."""
        with self._read() as conn:
            rows = conn.execute(
                select(jobs.c.error_code, func.count())
                .where(jobs.c.status == JobStatus.FAILED.value)
                .group_by(jobs.c.error_code)
            ).all()
        return {str(code or "unknown"): int(count) for code, count in rows}

    def generation_seconds(self, bounds: tuple[float, ...]) -> tuple[list[int], int, float]:
        """Render times (`finished_at - started_at`) of the succeeded jobs held in the store, bucketed in SQL
        so that the answer covers every worker process: (counts at or below each bound, total count, sum)."""
        seconds = jobs.c.finished_at - jobs.c.started_at
        columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in bounds]
        query = select(func.count(), func.sum(seconds), *columns).where(
            (jobs.c.status == JobStatus.SUCCEEDED.value)
            & jobs.c.started_at.is_not(None)
            & jobs.c.finished_at.is_not(None)
        )
        with self._read() as conn:
            row = conn.execute(query).one()
        total, total_s, *buckets = row
        return [int(b or 0) for b in buckets], int(total or 0), float(total_s or 0.0)

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self._read() as conn:
            conn.execute(select(1)).scalar()

    # ---- jobs: the worker side ----

    def claim(
        self,
        *,
        worker_id: str,
        lease_s: float,
        engines: Collection[str] | None = None,
        models: Collection[str] | None = None,
    ) -> Claim | None:
        """Take the oldest runnable job: queued (and past its `not_before`), or running under a lease that ran
        out (its worker vanished: a lost run). With `engines`, only jobs for those engines (a CPU worker leaves
        diffusion jobs to the GPU workers); with `models`, only jobs for those model ids (a GPU worker that keeps
        one model loaded). A job whose runs were lost `max_attempts` times fails instead (`worker_lost`).

        Atomic on both back ends: PostgreSQL skips rows another claimer has locked, and the UPDATE only
        matches if status and attempt are still what was read, so two claimers can never both win.
        """
        while True:
            now = self._clock()
            runnable = or_(
                (jobs.c.status == JobStatus.QUEUED.value)
                & (jobs.c.not_before.is_(None) | (jobs.c.not_before <= now)),
                (jobs.c.status == JobStatus.RUNNING.value) & (jobs.c.lease_expires_at < now),
            )
            if engines is not None:
                runnable = runnable & jobs.c.engine.in_(sorted(engines))
            if models is not None:
                runnable = runnable & jobs.c.model.in_(sorted(models))
            with self._write() as conn:
                candidate = conn.execute(
                    select(jobs.c.id, jobs.c.status, jobs.c.attempt, jobs.c.lost_runs, jobs.c.error_message)
                    .where(runnable)
                    .order_by(jobs.c.created_at, jobs.c.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if candidate is None:
                    return None
                job_id, status, attempt, lost_runs, last_error = candidate
                guard = (jobs.c.id == job_id) & (jobs.c.status == status) & (jobs.c.attempt == attempt)
                if status == JobStatus.RUNNING.value:
                    lost_runs += 1  # its lease ran out: the worker holding it is gone
                if lost_runs >= self.max_attempts:
                    conn.execute(
                        update(jobs)
                        .where(guard)
                        .values(
                            status=JobStatus.FAILED.value,
                            lost_runs=lost_runs,
                            error_code="worker_lost",
                            error_message=f"the job's run was lost {lost_runs} times and never finished"
                            + (f"; last error: {last_error}" if last_error else " (its worker vanished each time)"),
                            finished_at=now,
                            updated_at=now,
                            lease_expires_at=None,
                        )
                    )
                    owe_event(conn, job_id, JobStatus.FAILED, now=now)
                    continue
                won = conn.execute(
                    update(jobs)
                    .where(guard)
                    .values(
                        status=JobStatus.RUNNING.value,
                        attempt=attempt + 1,
                        lost_runs=lost_runs,
                        not_before=None,
                        worker_id=worker_id,
                        lease_expires_at=now + lease_s,
                        started_at=now,
                        progress=0.0,
                        updated_at=now,
                    )
                ).rowcount
                if won == 1:
                    owe_event(conn, job_id, JobStatus.RUNNING, now=now)
            if won == 1:
                return Claim(self.get(job_id), attempt + 1)

    def _worker_write(
        self, job_id: str, attempt: int, new: JobStatus, values: dict[str, Any], *, event: bool = False
    ) -> bool:
        """One guarded UPDATE by the worker holding `attempt`; False if the job moved on without it. With
        `event`, the new status is owed to the job's callback, in the same transaction."""
        check_transition(JobStatus.RUNNING, new)  # a worker only ever moves the job it is running
        now = self._clock()
        with self._write() as conn:
            changed = conn.execute(
                update(jobs)
                .where(
                    (jobs.c.id == job_id)
                    & (jobs.c.attempt == attempt)
                    & (jobs.c.status == JobStatus.RUNNING.value)
                )
                .values(status=new.value, updated_at=now, **values)
            ).rowcount
            if changed == 1 and event:
                owe_event(conn, job_id, new, now=now)
        return changed == 1

    def heartbeat(self, job_id: str, *, attempt: int, lease_s: float, progress: float | None = None) -> bool:
        """Extend the lease (and record progress). False means: stop, this job is no longer yours."""
        values: dict[str, Any] = {"lease_expires_at": self._clock() + lease_s}
        if progress is not None:
            values["progress"] = min(max(progress, 0.0), 1.0)
        return self._worker_write(job_id, attempt, JobStatus.RUNNING, values)

    def give_up_attempt(self, job_id: str, *, attempt: int, reason: str) -> bool:
        """End this run as lost (its engine died, its video could not be stored) without failing the job: it goes
        back to the queue and is retried, unless its runs were lost `max_attempts` times; `reason` is kept so that
        a job that runs out of attempts can say what went wrong."""
        return self._worker_write(
            job_id,
            attempt,
            JobStatus.QUEUED,
            {
                "lost_runs": jobs.c.lost_runs + 1,
                "worker_id": None,
                "lease_expires_at": None,
                "progress": 0.0,
                "error_message": reason,
            },
        )

    def succeed(self, job_id: str, *, attempt: int, media_key: str, result: dict[str, Any]) -> bool:
        return self._worker_write(
            job_id,
            attempt,
            JobStatus.SUCCEEDED,
            {
                "media_key": media_key,
                "result": result,
                "error_message": None,
                "progress": 1.0,
                "finished_at": self._clock(),
                "lease_expires_at": None,
            },
            event=True,
        )

    def fail(self, job_id: str, *, attempt: int, code: str, message: str) -> bool:
        return self._worker_write(
            job_id,
            attempt,
            JobStatus.FAILED,
            {
                "error_code": code,
                "error_message": message,
                "finished_at": self._clock(),
                "lease_expires_at": None,
            },
            event=True,
        )

    def release(self, job_id: str, *, attempt: int, wait_s: float = 0.0, reason: str | None = None) -> bool:
        """Give a job back to the queue without counting a lost run: a worker shutting down before it finished,
        or a render that cannot go on here for now (`wait_s`: not claimed again before that many seconds;
        `reason`: why, kept with the job)."""
        values: dict[str, Any] = {"worker_id": None, "lease_expires_at": None, "progress": 0.0}
        if wait_s > 0:
            values["not_before"] = self._clock() + wait_s
        if reason is not None:
            values["error_message"] = reason
        return self._worker_write(job_id, attempt, JobStatus.QUEUED, values)

    # ---- jobs: retention ----

    def expirable(self, *, finished_before: float, limit: int = 100) -> list[Job]:
        """Finished (succeeded, failed or cancelled) jobs that finished before the epoch time `finished_before`."""
        finished = (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)
        finished_at = func.coalesce(jobs.c.finished_at, jobs.c.updated_at)
        query = (
            select(jobs)
            .where(jobs.c.status.in_(finished) & (finished_at < finished_before))
            .order_by(finished_at, jobs.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [job_from_row(row) for row in rows]

    def expire(self, job_id: str, *, from_status: JobStatus) -> bool:
        """Mark a finished job `expired` with one guarded UPDATE; False if it was no longer `from_status` (another
        cleaner got there first). Its input image goes in the same transaction (no run needs it again); its
        `media_key` stays until `forget_media`, so the object can still be found and deleted after a crash.
        No webhook is owed for it: its client already had the finished status."""
        check_transition(from_status, JobStatus.EXPIRED)
        with self._write() as conn:
            changed = conn.execute(
                update(jobs)
                .where((jobs.c.id == job_id) & (jobs.c.status == from_status.value))
                .values(status=JobStatus.EXPIRED.value, updated_at=self._clock())
            ).rowcount
            if changed == 1:
                conn.execute(delete(job_inputs).where(job_inputs.c.job_id == job_id))
        return changed == 1

    def expired_with_media(self, *, limit: int = 100) -> list[Job]:
        """Expired jobs whose media has not been deleted yet."""
        query = (
            select(jobs)
            .where((jobs.c.status == JobStatus.EXPIRED.value) & jobs.c.media_key.is_not(None))
            .order_by(jobs.c.updated_at, jobs.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [job_from_row(row) for row in rows]

    def forget_media(self, job_id: str, *, media_key: str) -> bool:
        """Record that an expired job's media is deleted (clears `media_key`); False if already recorded."""
        with self._write() as conn:
            changed = conn.execute(
                update(jobs)
                .where(
                    (jobs.c.id == job_id)
                    & (jobs.c.status == JobStatus.EXPIRED.value)
                    & (jobs.c.media_key == media_key)
                )
                .values(media_key=None)
            ).rowcount
        return changed == 1

    # ---- API keys ----

    def create_key(self, name: str) -> tuple[str, ApiKey]:
        """A new key; the plain key is returned once and only its hash is kept."""
        key = new_key()
        record = ApiKey(
            id="key_" + secrets.token_hex(8),
            name=name,
            prefix=key[:10],
            created_at=self._clock(),
            revoked_at=None,
        )
        with self._write() as conn:
            conn.execute(
                insert(api_keys).values(
                    id=record.id,
                    name=record.name,
                    key_hash=hash_key(key),
                    prefix=record.prefix,
                    created_at=record.created_at,
                )
            )
        return key, record

    def list_keys(self) -> list[ApiKey]:
        with self._read() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at)).all()
        return [
            ApiKey(
                id=r.id, name=r.name, prefix=r.prefix, created_at=r.created_at, revoked_at=r.revoked_at
            )
            for r in rows
        ]

    def revoke_key(self, key_id: str) -> bool:
        with self._write() as conn:
            changed = conn.execute(
                update(api_keys)
                .where((api_keys.c.id == key_id) & api_keys.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            ).rowcount
        return changed == 1

    def tenant_for_stored_key(self, key: str) -> str | None:
        """The tenant of an active stored key, or None."""
        with self._read() as conn:
            found = conn.execute(
                select(api_keys.c.id).where(
                    (api_keys.c.key_hash == hash_key(key)) & api_keys.c.revoked_at.is_(None)
                )
            ).first()
        return tenant_for_key(key) if found else None
