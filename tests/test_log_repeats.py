"""`RepeatLimiter`: a flood of identical warnings becomes a few lines and one summary with the count."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from stillmotion.logs import RepeatLimiter

Logged = tuple[logging.Logger, io.StringIO, RepeatLimiter]


def _limited(*, burst: int, interval_s: float) -> Iterator[Logged]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    limiter = RepeatLimiter(handler, burst=burst, interval_s=interval_s)
    handler.addFilter(limiter)
    # A child logger's records reach the handler by propagation, as asyncio's and uvicorn's reach the root's.
    parent = logging.getLogger("repeat-test")
    parent.addHandler(handler)
    parent.propagate = False
    yield logging.getLogger("repeat-test.asyncio"), buffer, limiter
    parent.removeHandler(handler)


@pytest.fixture
def logged() -> Iterator[Logged]:
    yield from _limited(burst=5, interval_s=3600)


def test_a_thousand_identical_errors_become_a_few_lines_and_a_summary(logged: Logged) -> None:
    logger, buffer, limiter = logged
    for attempt in range(1000):
        logger.error("socket.accept() out of system resource (%d)", attempt)
    limiter.flush()
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 6
    assert lines[:5] == [f"ERROR repeat-test.asyncio: socket.accept() out of system resource ({n})" for n in range(5)]
    assert lines[5].startswith(
        'ERROR repeat-test.asyncio: "socket.accept() out of system resource (%d)" repeated 995 times in the last '
    )


def test_the_summary_comes_with_the_first_record_of_the_next_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("stillmotion.logs.time.monotonic", lambda: now[0])
    limited = _limited(burst=2, interval_s=10)
    logger, buffer, _ = next(limited)
    for _ in range(5_323):
        logger.warning("client went away")
    now[0] += 10
    logger.warning("client went away")
    lines = buffer.getvalue().splitlines()
    assert lines == [
        "WARNING repeat-test.asyncio: client went away",
        "WARNING repeat-test.asyncio: client went away",
        'WARNING repeat-test.asyncio: "client went away" repeated 5,321 times in the last 10 s',
        "WARNING repeat-test.asyncio: client went away",
    ]
    next(limited, None)  # removes the handler


def test_other_messages_and_info_lines_are_not_held_back(logged: Logged) -> None:
    logger, buffer, _ = logged
    logger.setLevel(logging.INFO)
    for _ in range(20):
        logger.info("GET /healthz 200")  # the access log repeats by nature
    for n in range(20):
        logger.warning(f"distinct warning {n}")  # each its own template
    assert len(buffer.getvalue().splitlines()) == 40
