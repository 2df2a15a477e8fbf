"""`Database`: the SQLAlchemy engine the store's parts share, and the one way they open transactions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine

from stillmotion.jobs.sqlite import configure_sqlite

Clock = Callable[[], float]  # UTC epoch seconds, `time.time` unless a test gives another


class Database:
    """SQLite in WAL mode, or PostgreSQL, at `url`. `clock` is the time every part of the store writes."""

    def __init__(self, url: str, *, clock: Clock = time.time) -> None:
        self.url = url
        self.clock = clock
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.sqlite_path = url.split("///", 1)[-1]
            if self.sqlite_path and self.sqlite_path != ":memory:":
                Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
            # As many pooled connections as the API's thread pool has threads (40), so that busy polling reuses
            # connections instead of opening new ones (each runs the PRAGMAs of `configure_sqlite`).
            self.engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 15}, pool_size=40, max_overflow=10
            )
            configure_sqlite(self.engine)
        else:
            self.sqlite_path = ""
            # 20 + 10 per process stays under PostgreSQL's default max_connections (100) with a few processes.
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=10)

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

    def close(self) -> None:
        self.engine.dispose()
