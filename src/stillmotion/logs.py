"""Logging set-up for the entry points, and the request/job context that every log line carries.

`log_format = "json"` writes one JSON object per line (`ts`, `level`, `logger`, `message`, then `request_id` and
`job_id` where known, then any `extra=` fields); `"text"` keeps the classic one-line format. The ids come from
context variables: the HTTP middleware sets `request_id` for the duration of a request, and the worker sets
both for the duration of a job, so code that logs never has to pass them along.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from stillmotion.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_request_id: ContextVar[str | None] = ContextVar("stillmotion_request_id", default=None)
_job_id: ContextVar[str | None] = ContextVar("stillmotion_job_id", default=None)

# An incoming `X-Request-Id` is kept only if it is a short token: it lands in logs and in the database
# (a 64-character column), so anything longer or with other characters is replaced by a fresh id.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")


def current_request_id() -> str | None:
    return _request_id.get()


def current_job_id() -> str | None:
    return _job_id.get()


def set_request_id(request_id: str) -> Token[str | None]:
    """Make `request_id` current until `reset_request_id` is called with the returned token."""
    return _request_id.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def sane_request_id(value: str | None) -> str | None:
    """`value` if it is a usable request id (1 to 64 of `A-Z a-z 0-9 . _ : -`, starting alphanumeric), else None."""
    if value is not None and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return None


class _RequestIds:
    """32 hex digits: a random per-process prefix and a counter. Unique without a system call per request
    (a uuid4 costs one); request ids are labels, not secrets, so being guessable does no harm."""

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self._prefix = secrets.token_hex(10)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


_ids = _RequestIds()
os.register_at_fork(after_in_child=_ids.reseed)  # a forked child must not repeat its parent's ids


def new_request_id() -> str:
    return _ids.next()


@contextmanager
def log_context(*, request_id: str | None = None, job_id: str | None = None) -> Iterator[None]:
    """Within the block, log lines carry these ids (a None leaves the current value in place)."""
    tokens = []
    if request_id is not None:
        tokens.append((_request_id, _request_id.set(request_id)))
    if job_id is not None:
        tokens.append((_job_id, _job_id.set(job_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


# Attributes every LogRecord has; anything else on a record came from `extra=` and is written as a field.
# uvicorn's `color_message` repeats `message` with terminal colour codes.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        job_id = getattr(record, "job_id", None) or _job_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if job_id is not None:
            entry["job_id"] = job_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(settings: Settings, *, level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr in `settings.log_format`, repeated warnings and errors limited
    (`RepeatLimiter`); calling it again replaces, not adds."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.set_name("stillmotion")
    handler.addFilter(RepeatLimiter(handler))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "stillmotion"]:
        root.removeHandler(old)
        flush_repeats(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)


class RepeatLimiter(logging.Filter):
    """Lets the first `burst` warnings and errors with the same logger and message template through in each
    `interval_s`, and counts the rest; the next record with that key after the interval (or `flush`) is preceded
    by one summary line: `"<template>" repeated 5,321 times in the last 10 s`. Under a flood of identical
    failures (asyncio's accept loop out of file descriptors, thousands of clients cut off) the log stays
    readable, and the disk is not filled at the rate the failures come. INFO and below always pass: the access
    log is repetitive by nature.

    Attach it to a handler (records propagated from child loggers pass their handlers' filters, not the
    root logger's), with `handler` that same handler: the summaries are emitted through it."""

    _MAX_KEYS = 1000  # keys remembered at most; past it the ones whose interval is over are forgotten

    def __init__(self, handler: logging.Handler, *, burst: int = 5, interval_s: float = 10.0) -> None:
        super().__init__()
        self._handler = handler
        self._burst = burst
        self._interval_s = interval_s
        self._lock = threading.Lock()
        # (logger, level, template) -> [interval start (monotonic), records let through, records held back]
        self._seen: dict[tuple[str, int, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or getattr(record, "_repeat_summary", False):
            return True
        key = (record.name, record.levelno, str(record.msg)[:500])
        now = time.monotonic()
        with self._lock:
            state = self._seen.get(key)
            summary = None
            if state is None or now - state[0] >= self._interval_s:
                if state is not None and state[2] > 0:
                    summary = self._summary(key, int(state[2]), now - state[0])
                if state is None and len(self._seen) >= self._MAX_KEYS:
                    self._forget_old(now)
                state = self._seen[key] = [now, 0, 0]
            if state[1] < self._burst:
                state[1] += 1
                allowed = True
            else:
                state[2] += 1
                allowed = False
        if summary is not None:
            self._handler.handle(summary)
        return allowed

    def flush(self) -> None:
        """Summaries of everything held back so far (at shutdown)."""
        now = time.monotonic()
        with self._lock:
            summaries = [
                self._summary(key, int(state[2]), now - state[0]) for key, state in self._seen.items() if state[2] > 0
            ]
            self._seen.clear()
        for summary in summaries:
            self._handler.handle(summary)

    def _forget_old(self, now: float) -> None:
        for key in [key for key, state in self._seen.items() if now - state[0] >= self._interval_s]:
            del self._seen[key]

    def _summary(self, key: tuple[str, int, str], count: int, over_s: float) -> logging.LogRecord:
        name, level, template = key
        message = '"%s" repeated %s times in the last %.0f s'
        record = logging.LogRecord(name, level, __file__, 0, message, (template, f"{count:,}", over_s), None)
        record._repeat_summary = True
        return record


def flush_repeats(handler: logging.Handler | None = None) -> None:
    """Write the summaries `RepeatLimiter` still holds (on the stillmotion handler, or `handler`): at shutdown."""
    handlers = [handler] if handler is not None else logging.getLogger().handlers
    for each in handlers:
        if handler is None and each.get_name() != "stillmotion":
            continue
        for limiter in each.filters:
            if isinstance(limiter, RepeatLimiter):
                limiter.flush()
