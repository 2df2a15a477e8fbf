"""The OpenAI Videos dialect: `/v1/videos` create, retrieve, list, delete and content."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stillmotion.api.errors import ApiError
from stillmotion.api.services import Services
from stillmotion.domain import Job

DIALECT = "openai"
PREFIXES = ("/v1/videos",)

router = APIRouter(tags=["OpenAI Videos"])


def render_error(request: Request, error: ApiError) -> JSONResponse:
    raise NotImplementedError("the OpenAI dialect is being written")


def render_event(job: Job, svc: Services) -> dict[str, Any]:
    raise NotImplementedError("the OpenAI dialect is being written")
