"""`/healthz`: 200 when the service can take work (database reachable, media writable, disk to spare), else 503."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stillmotion.api.services import Services

router = APIRouter(tags=["health"])


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


@router.get("/healthz", summary="Whether the service can take work", responses=_HEALTH_RESPONSES)
def healthz(request: Request) -> JSONResponse:
    svc: Services = request.app.state.services
    problems: list[str] = []
    try:
        svc.store.ping()
    except Exception as exc:
        problems.append(f"database: {type(exc).__name__}")
    storage_problem = svc.storage.health_problem()
    if storage_problem is not None:
        problems.append(storage_problem)
    disk_problem = _disk_problem(svc.settings.data_dir, floor_mb=svc.settings.min_free_mb)
    if problems or disk_problem is not None:
        # Short of disk the database and storage still answer (polls and downloads go on), but a render could
        # not be written: no new work should come here.
        status = "unavailable" if problems else "degraded"
        listed = problems + ([disk_problem] if disk_problem is not None else [])
        return JSONResponse({"status": status, "problems": listed}, status_code=503)
    return JSONResponse({"status": "ok"})


def _disk_problem(data_dir: Path, *, floor_mb: int) -> str | None:
    """What is wrong with the free space under `data_dir` (work files and local media are written there)."""
    try:
        free_mb = shutil.disk_usage(data_dir).free // (1024 * 1024)
    except OSError as exc:
        return f"disk: {type(exc).__name__}"
    if free_mb < floor_mb:
        return f"disk: {free_mb} MB free under the data directory, under the {floor_mb} MB floor"
    return None
