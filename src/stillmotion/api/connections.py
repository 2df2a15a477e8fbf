"""Client connections of `stillmotion serve`: idle and slow clients are cut off, and open connections are capped
below the open-file limit, so that a crowd of idle or trickling sockets cannot starve the requests that matter.

uvicorn on its own times a connection out only between requests (`timeout_keep_alive`, armed after a response):
a client that connects and says nothing, sends one header byte a second, or trickles its body keeps its socket,
and a file descriptor, for as long as it likes. Past the open-file limit asyncio cannot accept anything, a
`/healthz` included, and logs an error on every try. uvicorn's `limit_concurrency` does not help: it counts idle
connections too, so they would turn `/healthz` into a 503.

`guarded_h11_protocol` makes uvicorn's h11 protocol class with three rules added:

- a connection with no request under way (new, or between requests) is closed after `keep_alive_s`;
- a request must arrive, headers and body, within `client_timeout_s`, plus one second per `min_body_rate`
  bytes it has sent (a large upload on a slow link is not cut; a trickle is): headers too slow are answered
  408 and the connection closed, a body too slow likewise;
- at most `max_connections` connections are kept: a new one past the cap closes the connection that has been
  waiting for a request the longest; when every connection has a request under way, the new connection's
  requests are answered 503 (`Retry-After`, then the connection is closed), except `/healthz`, by
  `ShedOverCapacity` in the dialect's error shape.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

import h11
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from stillmotion.api.errors import ApiError, ErrorShapes

log = logging.getLogger("stillmotion.http")

# Set in `scope["state"]` for the requests of a connection accepted past the cap.
OVER_CAPACITY: Final = "stillmotion.over_capacity"
# Paths served even on a connection past the cap: a load balancer's probe must see the truth, not a 503.
_ALWAYS_SERVED: Final = frozenset({"/healthz"})
# Body bytes a second a client is assumed to manage at least (512 kbit/s): each 64 KiB buys one more second.
DEFAULT_MIN_BODY_RATE: Final = 64 * 1024

_TIMED_OUT_BODY = b"the request did not arrive in time\n"
# Written straight to the socket: h11 cannot answer a request whose headers it has not seen.
_TIMED_OUT: Final = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    + f"content-length: {len(_TIMED_OUT_BODY)}\r\n\r\n".encode()
    + _TIMED_OUT_BODY
)


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; the soft limit now in force (where the
    platform has no such limits, Windows, a generous one is assumed)."""
    try:
        import resource  # POSIX only
    except ImportError:
        return 65536
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Without a hard limit, a generous finite one: the kernel's own ceiling (nr_open) may be lower than infinity.
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else 65536


def connection_cap(max_connections: int, *, open_file_limit: int) -> int:
    """The connections to keep at most: `max_connections`, and no more than half the open-file limit (the rest
    is for `listen_backlog`, the database, the media files, the engines' children and the log)."""
    return max(8, min(max_connections, open_file_limit // 2))


def listen_backlog(*, open_file_limit: int) -> int:
    """The listen backlog, which is also how many connections asyncio accepts in one go, before any of them
    reaches the cap (whose closing of idle connections comes a few loop turns later). An eighth of the open-file
    limit: the cap (a half) plus a few such bursts stays under the limit, so that accepting never fails for want
    of descriptors (asyncio then stops accepting for a second, logging an error for each connection waiting)."""
    return max(16, min(2048, open_file_limit // 8))


class ConnectionCap:
    """The open connections of one server, and which of them wait for a request, oldest first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: set[GuardedH11Protocol] = set()
        self._waiting: dict[GuardedH11Protocol, None] = {}  # insertion order: longest waiting first
        self.evicted = 0

    def admit(self, conn: GuardedH11Protocol) -> bool:
        """Count `conn` in; close connections that wait for a request, longest first, until there is room.
        False when there is none even so (every connection has a request under way)."""
        self._open.add(conn)
        while len(self._open) > self.limit and self._waiting:
            oldest = next(iter(self._waiting))
            self.lost(oldest)
            oldest.evict()
            self.evicted += 1
        return len(self._open) <= self.limit

    def waiting(self, conn: GuardedH11Protocol) -> None:
        self._waiting.pop(conn, None)
        if conn in self._open:
            self._waiting[conn] = None

    def busy(self, conn: GuardedH11Protocol) -> None:
        self._waiting.pop(conn, None)

    def lost(self, conn: GuardedH11Protocol) -> None:
        self._open.discard(conn)
        self._waiting.pop(conn, None)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the rules of this module. Made by `guarded_h11_protocol`, which sets the
    class attributes below; uvicorn builds one instance per connection."""

    cap: ConnectionCap
    client_timeout_s: float
    min_body_rate: float

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._request_began = 0.0  # loop time since which the current request has been awaited
        self._bytes_in = 0  # bytes received since then

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.cap.admit(self):
            # Past the cap with no idle connection to close: this connection's requests get a 503.
            self.app_state = {**self.app_state, OVER_CAPACITY: True}
        # uvicorn arms its keep-alive timer only after a response: a client that never sends a byte is closed too.
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)
        self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self.cap.lost(self)
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._bytes_in += len(data)
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self.cap.busy(self)  # a request is under way: not to be closed to make room

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._await_request()  # before uvicorn handles a pipelined request, which marks it busy again
        super().on_response_complete()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self.cap.lost(self)
        self._disarm()
        super().handle_websocket_upgrade(event)

    def evict(self) -> None:
        """Close the connection to make room for a new one (it has no request under way)."""
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def _await_request(self) -> None:
        self.cap.waiting(self)
        self._request_began = self.loop.time()
        self._bytes_in = 0
        # One timer per connection, not one per request: when it fires it measures from `_request_began` and
        # re-arms for what is left (`_check_deadline`), so a busy keep-alive connection costs no timer churn.
        if self._deadline is None:
            self._arm(self.client_timeout_s)

    def _arm(self, delay_s: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(delay_s, self._check_deadline)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _check_deadline(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            allowed_s = self.client_timeout_s  # the headers
        elif state is h11.SEND_BODY:
            if self.flow.read_paused and self.cycle is not None and not self.cycle.response_complete:
                # The app is not reading the body yet: the client cannot send, so its clock does not run.
                self._request_began = self.loop.time()
                self._bytes_in = 0
                self._arm(self.client_timeout_s)
                return
            allowed_s = self.client_timeout_s + self._bytes_in / self.min_body_rate
        else:
            return  # the request has arrived: the app's time is not the client's
        waited_s = self.loop.time() - self._request_began
        if waited_s < allowed_s:
            self._arm(allowed_s - waited_s)
            return
        if state is h11.IDLE and self._bytes_in == 0:
            self.transport.close()  # idle, not slow (a keep-alive longer than the client timeout): no answer due
            return
        log.warning("cut off a client whose request did not arrive within %g s", self.client_timeout_s)
        if state is h11.SEND_BODY and self.cycle is not None:
            if self.cycle.response_started:
                self.transport.close()  # answered already (early, before the whole body came)
                return
            # The app waits for the rest of the body: it gets a disconnect, and nothing it answers is sent.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.write(_TIMED_OUT)
        self.transport.close()


def guarded_h11_protocol(
    *, client_timeout_s: float, max_connections: int, min_body_rate: float = DEFAULT_MIN_BODY_RATE
) -> tuple[type[GuardedH11Protocol], ConnectionCap]:
    """A protocol class for `uvicorn.Config(http=...)` (uvicorn's `timeout_keep_alive` is the idle bound), and
    the cap its connections share."""
    cap = ConnectionCap(max_connections)

    class Configured(GuardedH11Protocol):
        pass

    Configured.cap = cap
    Configured.client_timeout_s = client_timeout_s
    Configured.min_body_rate = min_body_rate
    return Configured, cap


class ShedOverCapacity:
    """Answers the requests of connections accepted past the cap (`OVER_CAPACITY`) with a 503 in the dialect's
    error shape, `Retry-After` and `Connection: close`, except the paths that are always served."""

    def __init__(self, app: ASGIApp, *, shapes: ErrorShapes) -> None:
        self.app = app
        self.shapes = shapes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("state", {}).get(OVER_CAPACITY) or scope["path"] in _ALWAYS_SERVED:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        error = ApiError(503, "the server has too many connections open; try again shortly", {"Retry-After": "1"})
        response = self.shapes.render(request, error)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
