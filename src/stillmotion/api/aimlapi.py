"""The AI/ML API dialect: the seed's `/v2/generate/video/minimax/generation` create + poll routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from stillmotion.api.auth import CurrentTenant, current_tenant
from stillmotion.api.errors import ApiError
from stillmotion.api.services import (
    CreateRequest,
    Services,
    idempotency_key,
    parse_body,
    services,
)
from stillmotion.dialects.aimlapi import (
    DIALECT,
    STATUS_WORDS,
    CreateGeneration,
    Generation,
    GenerationCreated,
    UnifiedGenerationCreated,
    to_wire,
)
from stillmotion.domain import InvalidInput, Job
from stillmotion.logs import current_request_id

PREFIXES = ("/v2/",)
GENERATION_PATH = "/v2/generate/video/minimax/generation"  # the seed's route, named after the vendor
UNIFIED_PATH = "/v2/video/generations"  # the AI/ML API's newer route for every video model


class AimlError(BaseModel):
    message: str
    path: str
    requestId: str
    statusCode: int
    timestamp: str


def render_error(request: Request, error: ApiError) -> JSONResponse:
    body = AimlError(
        message=error.message,
        path=request.url.path,
        requestId=current_request_id() or str(uuid.uuid4()),  # the same id as the X-Request-Id header
        statusCode=error.status_code,
        timestamp=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )
    return JSONResponse(body.model_dump(), status_code=error.status_code, headers=error.headers)


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": AimlError, "description": "A field breaks a rule; `message` names the field and the rule."},
    401: {"model": AimlError, "description": "Missing or unknown API key."},
    404: {"model": AimlError, "description": "No such generation for this API key."},
}

SERVICES = Annotated[Services, Depends(services)]
GENERATION_ID = Annotated[str, Query(description="The id returned on create.", examples=["222226666699999"])]

router = APIRouter(tags=["AI/ML API (video-01-live2d)"])

_CREATE_DOC: dict[str, Any] = {
    "responses": {
        **_ERRORS,
        409: {"model": AimlError, "description": "`Idempotency-Key` reused with a different request."},
        413: {"model": AimlError, "description": "Body too large."},
    },
    "openapi_extra": {
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
                "description": "The same key and body return the same generation instead of starting another.",
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CreateGeneration.model_json_schema()}},
        },
    },
}


async def _create(request: Request, tenant: str, svc: Services) -> Job:
    body = await svc.read_json(request)
    fields = parse_body(CreateGeneration, body)
    if not fields.prompt.strip():
        raise InvalidInput("prompt", "must not be blank")
    job = await svc.create_job(
        CreateRequest(
            tenant=tenant,
            dialect=DIALECT,
            model=fields.model,
            prompt=fields.prompt,
            prompt_optimizer=fields.prompt_optimizer,
            first_frame_image=fields.first_frame_image,
            options=fields.render_options(),
            callback_url=fields.callback_url,
            idempotency_key=idempotency_key(request),
        )
    )
    return job


async def poll(request: Request) -> Response:
    """Both poll routes' work, reading the request itself: `api.hot` calls it without FastAPI's routing and
    parameter resolution (the poll is the hottest request); the routes below call it too. Same checks."""
    generation_id = request.query_params.get("generation_id")
    if generation_id is None:
        raise InvalidInput("generation_id", "is required")
    return await _poll(request, generation_id)


async def _poll(request: Request, generation_id: str) -> Response:
    # The key and the services are looked up here rather than declared as dependencies, which FastAPI would
    # resolve per request.
    tenant = await current_tenant(request)
    svc: Services = request.app.state.services
    job = await svc.read_job(generation_id, tenant=tenant)
    # Serialised here: through `response_model` every poll would validate the finished model a second time.
    # The routes keep `response_model` for their schema; the body is the same.
    return Response(to_wire(job, svc).model_dump_json(exclude_unset=True), media_type="application/json")


async def _cancel(generation_id: str, tenant: str, svc: Services) -> Generation:
    job = await run_in_threadpool(svc.store.cancel, generation_id, tenant=tenant)
    return to_wire(job, svc)


@router.post(GENERATION_PATH, response_model=GenerationCreated, summary="Create a video generation task", **_CREATE_DOC)
async def create_generation(request: Request, tenant: CurrentTenant, svc: SERVICES) -> GenerationCreated:
    job = await _create(request, tenant, svc)
    return GenerationCreated(generation_id=job.id, status=STATUS_WORDS[job.status])


@router.post(
    UNIFIED_PATH,
    response_model=UnifiedGenerationCreated,
    summary="Create a video generation task (unified route)",
    **_CREATE_DOC,
)
async def create_generation_unified(
    request: Request, tenant: CurrentTenant, svc: SERVICES
) -> UnifiedGenerationCreated:
    job = await _create(request, tenant, svc)
    return UnifiedGenerationCreated(id=job.id, status=STATUS_WORDS[job.status])


@router.get(
    GENERATION_PATH,
    response_model=Generation,
    response_model_exclude_unset=True,
    responses=_ERRORS,
    summary="Poll a video generation task",
)
async def get_generation(request: Request, generation_id: GENERATION_ID) -> Response:
    return await _poll(request, generation_id)  # GETs are answered by `poll` through `api.hot`; see there


@router.get(
    UNIFIED_PATH,
    response_model=Generation,
    response_model_exclude_unset=True,
    responses=_ERRORS,
    summary="Poll a video generation task (unified route)",
)
async def get_generation_unified(request: Request, generation_id: GENERATION_ID) -> Response:
    return await _poll(request, generation_id)  # GETs are answered by `poll` through `api.hot`; see there

# The GET routes `api.hot` answers with `poll`.
HOT_GETS = {GENERATION_PATH: poll, UNIFIED_PATH: poll}


_CANCEL_DOC = (
    "Extension (the hosted API has no cancel): stops a queued or running generation within about a second and "
    "frees its worker; it then reads `error` with `error.name` `cancelled`. A finished generation is returned "
    "unchanged."
)


@router.delete(
    GENERATION_PATH,
    response_model=Generation,
    response_model_exclude_unset=True,
    responses=_ERRORS,
    summary="Cancel a video generation task",
    description=_CANCEL_DOC,
)
async def cancel_generation(tenant: CurrentTenant, svc: SERVICES, generation_id: GENERATION_ID) -> Generation:
    return await _cancel(generation_id, tenant, svc)


@router.delete(
    UNIFIED_PATH,
    response_model=Generation,
    response_model_exclude_unset=True,
    responses=_ERRORS,
    summary="Cancel a video generation task (unified route)",
    description=_CANCEL_DOC,
)
async def cancel_generation_unified(tenant: CurrentTenant, svc: SERVICES, generation_id: GENERATION_ID) -> Generation:
    return await _cancel(generation_id, tenant, svc)
