"""`/healthz`: 200 when the service can take work (database reachable, media writable, disk to spare), else 503.

It answers within about a second whatever the database or the storage does: each of those checks runs on a
thread of its own and is waited for at most `CHECK_TIMEOUT_S`. A check that hangs is not started again while it
runs (a load balancer probing every second must not pile up threads on a database that stopped answering):
later probes wait on the same check, and report it as still unanswered."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stillmotion.api.services import Services

router = APIRouter(tags=["health"])

# How long a probe waits for the database and the storage to answer: well inside a load balancer's usual 1-2 s.
CHECK_TIMEOUT_S: Final = 0.8

_HEALTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"example": {"status": "ok"}}}, "description": "Ready for work."},
    503: {
        "content": {
            "application/json": {
                "example": {"status": "unavailable", "problems": ["database: OperationalError"]}
            }
        },
        "description": "The database cannot be reached, videos cannot be stored, or the disk is short (`degraded`).",
    },
}


class SingleFlightCheck:
    """A blocking check (None: fine, else what is wrong) run on its own thread, at most one run at a time;
    whoever asks while a run is under way waits on that run."""

    def __init__(self, name: str, check: Callable[[], str | None]) -> None:
        self._name = name
        self._check = check
        self._lock = threading.Lock()
        self._running: concurrent.futures.Future[str | None] | None = None

    def _start(self) -> concurrent.futures.Future[str | None]:
        with self._lock:
            if self._running is None or self._running.done():
                running: concurrent.futures.Future[str | None] = concurrent.futures.Future()
                self._running = running
                # A daemon thread, not an executor's: a hung check must not hold up the process's exit.
                threading.Thread(target=self._run, args=(running,), name=f"health-{self._name}", daemon=True).start()
            return self._running

    def _run(self, running: concurrent.futures.Future[str | None]) -> None:
        try:
            running.set_result(self._check())
        except Exception as exc:
            running.set_result(f"{self._name}: {type(exc).__name__}")

    async def problem(self, *, timeout_s: float) -> str | None:
        running = self._start()
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(running)), timeout_s)
        except TimeoutError:
            return f"{self._name}: no answer within {timeout_s:g} s"


class HealthChecks:
    """The checks behind `/healthz`, made once per app."""

    def __init__(self, svc: Services, *, timeout_s: float = CHECK_TIMEOUT_S) -> None:
        self._svc = svc
        self._timeout_s = timeout_s
        self._database = SingleFlightCheck("database", self._ping_database)
        self._storage = SingleFlightCheck("storage", svc.storage.health_problem)

    def _ping_database(self) -> None:
        self._svc.store.ping()

    async def answer(self) -> JSONResponse:
        problems = [
            problem
            for problem in await asyncio.gather(
                self._database.problem(timeout_s=self._timeout_s), self._storage.problem(timeout_s=self._timeout_s)
            )
            if problem is not None
        ]
        disk_problem = _disk_problem(self._svc.settings.data_dir, floor_mb=self._svc.settings.min_free_mb)
        if problems or disk_problem is not None:
            # Short of disk the database and storage still answer (polls and downloads go on), but a render could
            # not be written: no new work should come here.
            status = "unavailable" if problems else "degraded"
            listed = problems + ([disk_problem] if disk_problem is not None else [])
            return JSONResponse({"status": status, "problems": listed}, status_code=503)
        return JSONResponse({"status": "ok"})


@router.get("/healthz", summary="Whether the service can take work", responses=_HEALTH_RESPONSES)
async def healthz(request: Request) -> JSONResponse:
    checks: HealthChecks = request.app.state.health_checks
    return await checks.answer()


def _disk_problem(data_dir: Path, *, floor_mb: int) -> str | None:
    """What is wrong with the free space under `data_dir` (work files and local media are written there)."""
    try:
        free_mb = shutil.disk_usage(data_dir).free // (1024 * 1024)
    except OSError as exc:
        return f"disk: {type(exc).__name__}"
    if free_mb < floor_mb:
        return f"disk: {free_mb} MB free under the data directory, under the {floor_mb} MB floor"
    return None
