"""`/healthz`: 200 when the service can take work (database reachable, media writable), else 503."""

from __future__ import annotations

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
        "description": "The database cannot be reached or videos cannot be stored.",
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
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok"})
