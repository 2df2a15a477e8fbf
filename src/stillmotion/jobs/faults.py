"""Bounds on every wait for the job database, so that a database that stops answering costs a request a few
seconds and a 503, never a thread held forever.

PostgreSQL is bounded at three levels: libpq's `connect_timeout` (a server that accepts the TCP connection and
then says nothing), the server's own `statement_timeout` and `lock_timeout` (a slow query, a lock held by
another transaction), and a client-side watchdog for a server that stopped answering on a connection already
open (a frozen process or VM, a proxy whose backend went away): its kernel still acknowledges our packets, so
neither TCP keepalives nor the server's timeouts ever fire. While connections cannot be opened, one attempt at
a time waits out the connect timeout and every other caller is answered `DatabaseUnavailable` at once: without
that, a burst of requests would queue behind the thread pool, each waiting out its own timeout.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Final

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry

from stillmotion.domain import StillmotionError

log = logging.getLogger("stillmotion.jobs")

# Bound on one database operation (a connection, a statement, a pool checkout, SQLite's wait for its write
# lock) unless the settings say otherwise (`STILLMOTION_DB_TIMEOUT_S`).
DEFAULT_TIMEOUT_S: Final = 5.0
# libpq waits at least 2 s for a connection, whatever `connect_timeout` says (values under 2 become 2).
LIBPQ_MIN_CONNECT_TIMEOUT_S: Final = 2
# The watchdog cuts a statement this long after the server's own `statement_timeout` should have ended it, so
# that a server that is merely slow answers with its own error first.
_WATCHDOG_GRACE_S: Final = 1.0
# The drivers that take libpq's connection parameters.
_LIBPQ_DRIVERS: Final = frozenset({"psycopg", "psycopg2", "psycopg2cffi"})


class DatabaseUnavailable(StillmotionError):
    """The job database cannot be reached (down, restarting, out of connections): the request may be retried."""


def connect_timeout_s(timeout_s: float) -> int:
    """The `connect_timeout` libpq is given for `timeout_s`: whole seconds, at least libpq's floor of 2."""
    return max(LIBPQ_MIN_CONNECT_TIMEOUT_S, math.ceil(timeout_s))


def libpq_arguments(url: str | URL, *, timeout_s: float, statements: bool = True) -> dict[str, Any]:
    """Connection parameters that bound every wait on a PostgreSQL connection made from `url` (libpq drivers
    only; others get none): the connect timeout, TCP keepalives and a TCP user timeout (a peer that vanished:
    a partition, a host that died), and with `statements`, the server-side statement and lock timeouts (as
    `options`, appended to any `options` the URL carries, whose other settings still apply). Text is exchanged
    in UTF-8 whatever the database's encoding."""
    parsed = make_url(url)
    if parsed.get_driver_name() not in _LIBPQ_DRIVERS:
        return {}
    bound_ms = max(1, round(timeout_s * 1000))
    arguments: dict[str, Any] = {
        "connect_timeout": connect_timeout_s(timeout_s),
        "keepalives": 1,
        "keepalives_idle": max(1, math.ceil(timeout_s)),
        "keepalives_interval": 1,
        "keepalives_count": 3,
        # Data sent and not acknowledged for this long: the peer is gone (Linux; ignored elsewhere).
        "tcp_user_timeout": bound_ms,
        # Text in UTF-8 whatever the database's encoding. On a SQL_ASCII database (what `initdb` makes where no
        # locale is set) psycopg would otherwise hand back bytes, and SQLAlchemy's first query failed on them.
        "client_encoding": "utf8",
    }
    if statements:
        own = parsed.query.get("options", "")
        own_text = own if isinstance(own, str) else " ".join(own)
        timeouts = f"-c statement_timeout={bound_ms} -c lock_timeout={bound_ms}"
        arguments["options"] = f"{own_text} {timeouts}".strip()
    return arguments


def cut_socket(fd: int) -> bool:
    """Shut the socket `fd` down in both directions, leaving the descriptor to its owner: a driver waiting on it
    wakes with an error (end of stream) at once. (Closing it instead could leave that wait asleep for good.)"""
    try:
        # `fromfd` duplicates the descriptor; shutting the duplicate down shuts the shared socket down.
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    return True


class StatementWatchdog:
    """Cuts database connections that have waited too long for the server: their socket is shut down, which
    wakes the driver's wait with an error (the pool then discards the connection). One thread for the process,
    started on first use, asleep while nothing is armed."""

    def __init__(self) -> None:
        self._reset()
        self.cut = 0  # connections cut so far (tests read it)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._armed = threading.Condition(self._lock)
        self._deadlines: dict[int, tuple[float, int]] = {}  # id(DBAPI connection) -> (monotonic deadline, fd)
        self._thread: threading.Thread | None = None

    def arm(self, dbapi_connection: Any, *, bound_s: float) -> None:
        try:
            fd = int(dbapi_connection.fileno())
        except Exception:
            return  # closed or broken already: the driver fails by itself
        with self._lock:
            self._deadlines[id(dbapi_connection)] = (time.monotonic() + bound_s, fd)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()
            elif len(self._deadlines) == 1:
                self._armed.notify()

    def disarm(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._deadlines.pop(id(dbapi_connection), None)

    @contextlib.contextmanager
    def watching(self, dbapi_connection: Any, *, bound_s: float) -> Iterator[None]:
        self.arm(dbapi_connection, bound_s=bound_s)
        try:
            yield
        finally:
            self.disarm(dbapi_connection)

    def _run(self) -> None:
        with self._lock:
            while True:
                if not self._deadlines:
                    self._armed.wait()
                    continue
                now = time.monotonic()
                for key, (deadline, fd) in list(self._deadlines.items()):
                    if deadline <= now:
                        # Under the lock: the owner cannot disarm and close the connection (freeing the fd for
                        # another socket) while it is being cut.
                        del self._deadlines[key]
                        self._cut(fd)
                next_deadline = min((deadline for deadline, _fd in self._deadlines.values()), default=now + 60)
                self._armed.wait(timeout=max(0.01, min(next_deadline - now, 0.25)))

    def _cut(self, fd: int) -> None:
        if cut_socket(fd):
            self.cut += 1
            log.warning("cut a database connection that did not answer in time")


WATCHDOG: Final = StatementWatchdog()
# A forked child (an engine's process) has no watchdog thread, and its parent's connections are not its own.
os.register_at_fork(after_in_child=WATCHDOG._reset)


class ConnectGate:
    """While the database cannot be connected to, one connection attempt at a time: the others fail at once
    with `DatabaseUnavailable` instead of each waiting out the connect timeout. The first attempt that succeeds
    opens the gate for everyone again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: str | None = None  # why the last attempt failed, while connections fail
        self._probing = False

    def connect(self, attempt: Any) -> Any:
        """`attempt()` (a new DBAPI connection) through the gate."""
        with self._lock:
            if self._failing is not None:
                if self._probing:
                    raise DatabaseUnavailable(f"the database cannot be reached ({self._failing})")
                self._probing = True
        try:
            connection = attempt()
        except Exception as exc:
            said = str(exc).strip().splitlines()
            with self._lock:
                self._failing = f"{type(exc).__name__}: {said[0] if said else ''}"
                self._probing = False
            raise
        with self._lock:
            self._failing = None
            self._probing = False
        return connection


def bound_postgres(engine: Engine, *, timeout_s: float) -> None:
    """Install the connect gate, the checkout ping and the statement watchdog on a PostgreSQL `engine` made with
    `pool_pre_ping=False` (the ping here replaces it: SQLAlchemy's own ping cannot be bounded)."""
    gate = ConnectGate()
    bound_s = timeout_s + _WATCHDOG_GRACE_S
    fresh_key = "stillmotion.fresh"

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return gate.connect(lambda: dialect.connect(*cargs, **cparams))

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[fresh_key] = True

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        # A pooled connection may have died while it sat in the pool (a restart, a failover): ping it first,
        # as `pool_pre_ping` would, but with a bound. A connection made just now needs no ping.
        if record.info.pop(fresh_key, False):
            return
        try:
            with WATCHDOG.watching(dbapi_connection, bound_s=bound_s):
                engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # Every pooled connection is suspect now (as with `pool_pre_ping`); the pool opens a fresh one.
            raise InvalidatePoolError(f"ping failed: {type(exc).__name__}") from exc

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any, _many: Any) -> None:
        WATCHDOG.arm(conn.connection.dbapi_connection, bound_s=bound_s)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any, _many: Any) -> None:
        WATCHDOG.disarm(conn.connection.dbapi_connection)

    @event.listens_for(engine, "handle_error")
    def _disarm_on_error(context: Any) -> None:
        with contextlib.suppress(Exception):  # no connection (a failed connect), or one already invalidated
            WATCHDOG.disarm(context.connection.connection.dbapi_connection)

    # The rollback the pool runs on every connection it takes back, and its check-in.
    @event.listens_for(engine, "reset")
    def _arm_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        WATCHDOG.arm(dbapi_connection, bound_s=bound_s)

    @event.listens_for(engine, "checkin")
    def _disarm_checkin(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            WATCHDOG.disarm(dbapi_connection)

