"""Status polls' point reads, faster than the store's pooled path: SQLite on a plain connection per thread,
PostgreSQL batched on the event loop's own async connections."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
from collections.abc import Coroutine
from typing import Any, Final

from sqlalchemy import JSON
from sqlalchemy.engine import make_url

from stillmotion.jobs.faults import DEFAULT_TIMEOUT_S, DatabaseUnavailable, cut_socket, libpq_arguments
from stillmotion.jobs.rows import JOB_COLUMNS
from stillmotion.jobs.schema import jobs

__all__ = ["AsyncPostgresPollReader", "DatabaseUnavailable", "SqlitePollReader"]

class SqlitePollReader:
    """Point reads of one job on a plain sqlite3 connection per thread: the status poll's read, at a fraction of
    what the same query costs through SQLAlchemy's pool and result machinery. Read-only (`query_only`)."""

    _JSON_COLUMNS: Final = frozenset(column.name for column in jobs.columns if isinstance(column.type, JSON))
    _BY_ID: Final = f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs WHERE id = ?"
    _BY_ID_AND_TENANT: Final = _BY_ID + " AND tenant = ?"

    def __init__(self, path: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._path = path
        self._timeout_s = timeout_s  # a read waits this long at most for a database being recovered or switched
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=self._timeout_s, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={max(1, round(self._timeout_s * 1000))}")
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def get(self, job_id: str, tenant: str | None) -> dict[str, Any] | None:
        conn = self._connection()
        if tenant is None:
            row = conn.execute(self._BY_ID, (job_id,)).fetchone()
        else:
            row = conn.execute(self._BY_ID_AND_TENANT, (job_id, tenant)).fetchone()
        if row is None:
            return None
        found = dict(zip(JOB_COLUMNS, row, strict=True))
        for name in self._JSON_COLUMNS:
            if isinstance(found[name], str):
                found[name] = json.loads(found[name])
        return found

    def close(self) -> None:
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
        self._local = threading.local()

def _fail(batch: list[tuple[str, asyncio.Future[Any]]], failure: Exception) -> None:
    """Give `failure` to every poll of `batch` still waiting."""
    for _job_id, answer in batch:
        if not answer.done():
            answer.set_exception(failure)


class AsyncPostgresPollReader:
    """Point reads of jobs for status polls on PostgreSQL, on the event loop: polls that arrive together are
    answered by one query (`WHERE id = ANY(...)`) on one of a few psycopg async connections (autocommit, a
    prepared statement). Under load one round trip serves dozens of polls, so a poll costs about what a SQLite
    read does; alone, a poll is one round trip as before. The loop serves other requests while a query is out.
    SQLAlchemy's pooled path would cost a thread hand-off, a transaction and a rollback on return per poll."""

    _BY_IDS: Final = f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs WHERE id = ANY(%s)"
    # Polls one query answers at most; more wait for the next query.
    _MAX_BATCH: Final = 256

    def __init__(self, url: str, *, size: int = 4, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        # The same connect, keepalive and statement bounds as the store's pooled connections.
        self._bounds = libpq_arguments(make_url(url).set(drivername="postgresql+psycopg"), timeout_s=timeout_s)
        self._size = size  # connections, and so queries under way, at most
        # A read (connecting included) that takes longer fails its polls with a 503: a database that stopped
        # answering (a partition, a hung server) must not hold every poll of the process forever.
        self._timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: asyncio.Queue[Any] | None = None
        self._opened: list[Any] = []
        self._slots = 0  # connections open or being opened
        self._waiting: list[tuple[str, asyncio.Future[dict[str, Any] | None]]] = []  # (job id, its answer)
        self._drainers = 0  # tasks sending queries for the waiting polls
        self._tasks: set[asyncio.Future[Any]] = set()
        self._holding: dict[Any, Any] = {}  # fetch task -> the connection it is using

    def _pool(self) -> asyncio.Queue[Any]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._idle is None:
            # A new event loop (the API runs one; tests may start several): connections are bound to the loop
            # that opened them, so start over.
            self.close()
            self._loop = loop
            self._idle = asyncio.Queue()
        return self._idle

    async def _checkout(self) -> Any:
        import psycopg

        idle = self._pool()
        if idle.empty() and self._slots < self._size:
            self._slots += 1  # taken before the wait, so that concurrent checkouts never open more than `size`
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, application_name="stillmotion-poll", **self._bounds
                )
            except BaseException:
                self._slots -= 1
                raise
            self._opened.append(conn)
            return conn
        return await idle.get()

    def _discard(self, conn: Any) -> None:
        if conn in self._opened:
            self._opened.remove(conn)
            self._slots -= 1
        with contextlib.suppress(Exception):
            conn.pgconn.finish()

    async def get(self, job_id: str, tenant: str | None) -> dict[str, Any] | None:
        """The job's columns, or None (also for another tenant's job); `DatabaseUnavailable` when the database
        cannot be reached."""
        self._pool()  # binds to this loop (or starts over on a new one) before anything is queued
        answer: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((job_id, answer))
        # One drainer takes every poll queued by the time it runs (the polls of this loop iteration); more start
        # only when a backlog builds up while queries are out.
        if self._drainers == 0 or (len(self._waiting) >= self._MAX_BATCH // 4 and self._drainers < self._size):
            self._drainers += 1
            drainer = asyncio.ensure_future(self._drain())
            self._tasks.add(drainer)  # the loop keeps only weak references to tasks
            drainer.add_done_callback(self._tasks.discard)
        row = await answer
        if row is None or (tenant is not None and row["tenant"] != tenant):
            return None
        return dict(row)  # each poll gets its own mapping (several may have asked for the same job)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._MAX_BATCH]
                del self._waiting[: self._MAX_BATCH]
                fetch = self._start(self._fetch({job_id for job_id, _answer in batch}))
                try:
                    await asyncio.wait({fetch}, timeout=self._timeout_s)
                except BaseException:
                    fetch.cancel()
                    _fail(batch, DatabaseUnavailable("the read was cancelled"))
                    raise
                if not fetch.done():
                    _fail(batch, DatabaseUnavailable(f"PostgreSQL did not answer within {self._timeout_s:g} s"))
                    self._abandon(fetch)
                    continue
                try:
                    rows = fetch.result()
                except Exception as exc:
                    _fail(batch, exc)
                    continue
                for job_id, answer in batch:
                    if not answer.done():  # a poll whose client went away is cancelled
                        answer.set_result(rows.get(job_id))
        finally:
            self._drainers -= 1

    def _start(self, work: Coroutine[Any, Any, dict[str, dict[str, Any]]]) -> asyncio.Future[dict[str, dict[str, Any]]]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # the loop keeps only weak references to tasks; an abandoned fetch lives on a while
        task.add_done_callback(self._tasks.discard)
        return task

    def _abandon(self, fetch: asyncio.Future[Any]) -> None:
        """End a fetch that ran out of time without waiting for it. Not by cancelling a query under way: psycopg
        would first ask the server to cancel it and wait for the answer, seconds a server that stopped answering
        never gives. Its connection's socket is shut down instead, so the read fails at once (and the fetch
        discards the connection); a fetch still connecting is cancelled."""
        conn = self._holding.get(fetch)
        if conn is not None:
            with contextlib.suppress(Exception):
                cut_socket(conn.pgconn.socket)
        else:
            fetch.cancel()
        fetch.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved: nobody waits on it

    async def _fetch(self, job_ids: set[str]) -> dict[str, dict[str, Any]]:
        import psycopg

        task = asyncio.current_task()
        for last_try in (False, True):
            conn = None
            try:
                conn = await self._checkout()
                if task is not None:
                    self._holding[task] = conn
                cursor = await conn.execute(self._BY_IDS, (list(job_ids),), prepare=True)
                rows = await cursor.fetchall()
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                # A connection the server closed (restart, idle timeout): one more try on a fresh one.
                self._holding.pop(task, None)
                if conn is not None:
                    self._discard(conn)
                if last_try:
                    raise DatabaseUnavailable(f"PostgreSQL: {exc}") from exc
                continue
            except BaseException:
                self._holding.pop(task, None)
                if conn is not None:
                    self._discard(conn)  # e.g. cancelled mid-query: the connection's state is unknown
                raise
            self._holding.pop(task, None)
            self._pool().put_nowait(conn)
            found = (dict(zip(JOB_COLUMNS, row, strict=True)) for row in rows)
            return {columns["id"]: columns for columns in found}
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conn in list(self._opened):
            self._discard(conn)
        self._slots = 0
        self._idle = None
        self._loop = None
        self._waiting = []
        self._drainers = 0
        self._holding.clear()
