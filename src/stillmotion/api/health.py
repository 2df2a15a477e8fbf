"""`/healthz`: 200 when the service can take work (database reachable, media writable), else 503."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stillmotion.api.services import Services

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Whether the service can take work")
def healthz(request: Request) -> JSONResponse:
    svc: Services = request.app.state.services
    problems: list[str] = []
    try:
        svc.store.ping()
    except Exception as exc:
        problems.append(f"database: {type(exc).__name__}")
    if not os.access(svc.storage.root, os.W_OK):
        problems.append("media directory is not writable")
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok"})
