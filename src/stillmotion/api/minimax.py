"""The MiniMax native dialect: `/v1/video_generation`, `/v1/query/video_generation`, `/v1/files/retrieve`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stillmotion.api.errors import ApiError
from stillmotion.api.services import Services
from stillmotion.domain import Job

DIALECT = "minimax"
PREFIXES = ("/v1/video_generation", "/v1/query/video_generation", "/v1/files/")

router = APIRouter(tags=["MiniMax"])


def render_error(request: Request, error: ApiError) -> JSONResponse:
    raise NotImplementedError("the MiniMax dialect is being written")


def render_event(job: Job, svc: Services) -> dict[str, Any]:
    raise NotImplementedError("the MiniMax dialect is being written")
