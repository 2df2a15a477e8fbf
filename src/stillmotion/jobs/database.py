"""`Database`: the SQLAlchemy engine the store's parts share, and the one way they open transactions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool

from stillmotion.jobs.faults import DEFAULT_TIMEOUT_S, bound_postgres, libpq_arguments
from stillmotion.jobs.sqlite import configure_sqlite

Clock = Callable[[], float]  # UTC epoch seconds, `time.time` unless a test gives another

# How long a schema migration may wait for another process's migration (SQLite's write lock). PostgreSQL's
# migrations run with no statement timeout: a migration of a large table may take minutes, and start-up has its
# own patience (`db_wait_s`) for a database that cannot be reached at all.
_MIGRATION_LOCK_WAIT_S = 120.0


class Database:
    """SQLite in WAL mode, or PostgreSQL, at `url`. `clock` is the time every part of the store writes.

    Every wait is bounded by `timeout_s` (see `jobs.faults`): a pool checkout, a connection (PostgreSQL: at
    least libpq's 2 s), a statement (PostgreSQL's `statement_timeout`, enforced client-side too), SQLite's wait
    for the write lock. A bound that passes raises SQLAlchemy's `OperationalError` or `TimeoutError`, or
    `DatabaseUnavailable`; the API answers each with a 503."""

    def __init__(self, url: str, *, clock: Clock = time.time, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url
        self.clock = clock
        self.timeout_s = timeout_s
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.sqlite_path = url.split("///", 1)[-1]
            if self.sqlite_path and self.sqlite_path != ":memory:":
                Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
            # As many pooled connections as the API's thread pool has threads (40), so that busy polling reuses
            # connections instead of opening new ones (each runs the PRAGMAs of `configure_sqlite`).
            self.engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": timeout_s},
                pool_size=40,
                max_overflow=10,
                pool_timeout=timeout_s,
            )
            configure_sqlite(self.engine, busy_timeout_s=timeout_s)
        else:
            self.sqlite_path = ""
            # 20 + 10 per process stays under PostgreSQL's default max_connections (100) with a few processes.
            # No `pool_pre_ping`: `bound_postgres` pings on checkout itself, with a bound.
            self.engine = create_engine(
                url,
                connect_args=libpq_arguments(url, timeout_s=timeout_s),
                pool_size=20,
                max_overflow=10,
                pool_timeout=timeout_s,
            )
            bound_postgres(self.engine, timeout_s=timeout_s)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (SQLite: `BEGIN IMMEDIATE`, the database's write lock), committed on leaving."""
        with self.engine.connect() as conn:
            if self.sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def for_migrations(self) -> Iterator[Engine]:
        """An engine for schema migrations, without the statement bounds: a migration may wait for another
        process's and may rewrite a large table. (An in-memory SQLite database is only visible to the engine
        that made it: that one is used.)"""
        if self.sqlite and self.sqlite_path in ("", ":memory:"):
            yield self.engine
            return
        if self.sqlite:
            engine = create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": _MIGRATION_LOCK_WAIT_S},
                poolclass=NullPool,
            )
            configure_sqlite(engine, busy_timeout_s=_MIGRATION_LOCK_WAIT_S)
        else:
            engine = create_engine(
                self.url,
                connect_args=libpq_arguments(self.url, timeout_s=self.timeout_s, statements=False),
                poolclass=NullPool,
            )
        try:
            yield engine
        finally:
            engine.dispose()

    def close(self) -> None:
        self.engine.dispose()
