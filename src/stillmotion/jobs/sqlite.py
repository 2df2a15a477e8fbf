"""SQLite set-up for the store: WAL, durable commits, transactions the store opens itself."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import ConnectionPoolEntry


def configure_sqlite(engine: Engine, *, busy_timeout_s: float) -> None:
    """WAL and the PRAGMAs below on every new connection; a write waits at most `busy_timeout_s` for the
    database's write lock, then fails with "database is locked"."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module: reads run in autocommit (they never block
        # writers in WAL mode) and writes open `BEGIN IMMEDIATE` themselves, in `JobStore._write`.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={max(1, round(busy_timeout_s * 1000))}")
        _enable_wal(cursor, deadline_s=busy_timeout_s)
        # FULL: a commit survives power loss, not only a process crash; 2xx means the job is on disk.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _enable_wal(cursor: Any, *, deadline_s: float) -> None:
    """Switch the database to WAL. When several processes open a new database at once, the switch can answer
    "database is locked" at once, without waiting out the busy timeout; it is retried until `deadline_s`."""
    deadline = time.monotonic() + deadline_s
    delay_s = 0.01
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay_s > deadline:
                raise
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, 0.5)
