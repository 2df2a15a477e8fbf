"""The AI/ML API dialect: the seed's `/v2/generate/video/minimax/generation` create + poll routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from starlette.concurrency import run_in_threadpool

from stillmotion.api.auth import CurrentTenant, current_tenant
from stillmotion.api.errors import ApiError
from stillmotion.api.services import (
    SEED_USED_DOC,
    CreateRequest,
    Services,
    idempotency_key,
    parse_body,
    seed_used,
    services,
)
from stillmotion.core import Core
from stillmotion.domain import InvalidInput, Job, JobStatus
from stillmotion.domain.options import (
    DEFAULT_DURATION_S,
    DEFAULT_FPS,
    MAX_DURATION_S,
    MAX_FPS,
    MAX_SEED,
    MIN_DURATION_S,
    MIN_FPS,
)
from stillmotion.logs import current_request_id

DIALECT = "aimlapi"
PREFIXES = ("/v2/",)
GENERATION_PATH = "/v2/generate/video/minimax/generation"  # the seed's route, named after the vendor
UNIFIED_PATH = "/v2/video/generations"  # the AI/ML API's newer route for every video model

AimlStatus = Literal["queued", "generating", "completed", "error"]

_STATUS_WORDS: dict[JobStatus, AimlStatus] = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "generating",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "error",
    JobStatus.CANCELLED: "error",
    JobStatus.EXPIRED: "error",
}


class CreateGeneration(BaseModel):
    """The seed's request body. Unknown fields are ignored, as the hosted API does."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": "video-01-live2d",
                    "prompt": "Mona Lisa puts on glasses with her hands.",
                    "prompt_optimizer": True,
                    "first_frame_image": "https://example.com/first-frame.jpg",
                }
            ]
        },
    )

    model: StrictStr = Field(
        description="`video-01-live2d` (or its alias `I2V-01-live`), or a model id from the server's models file."
    )
    prompt: StrictStr = Field(min_length=1, max_length=2000, description="What should happen in the video.")
    prompt_optimizer: StrictBool = Field(True, description="Enrich the prompt with natural secondary motion.")
    first_frame_image: StrictStr = Field(
        description="http(s) URL, `data:` URI or raw base64 of a JPG/PNG; aspect ratio strictly between 2:5 "
        "and 5:2, shorter side over 300 px, at most 20 MB."
    )
    # Extensions beyond the hosted API; clients that do not know them simply leave them out.
    duration: Annotated[float, Field(strict=True, ge=MIN_DURATION_S, le=MAX_DURATION_S)] = Field(
        DEFAULT_DURATION_S, description=f"Seconds of video, {MIN_DURATION_S:g} to {MAX_DURATION_S:g}."
    )
    fps: Annotated[StrictInt, Field(ge=MIN_FPS, le=MAX_FPS)] = Field(
        DEFAULT_FPS, description=f"Frames per second, {MIN_FPS} to {MAX_FPS}."
    )
    seed: Annotated[StrictInt, Field(ge=0, le=MAX_SEED)] | None = Field(
        None, description="The same seed and input give the same video; default: derived from the image."
    )
    loop: StrictBool = Field(False, description="End on the first frame, for seamless looping.")
    callback_url: StrictStr | None = Field(
        None,
        max_length=2048,
        description="http(s) URL that receives a signed JSON event each time the generation's status changes.",
    )

    def render_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"duration": self.duration, "fps": self.fps, "loop": self.loop}
        if self.seed is not None:
            options["seed"] = self.seed
        return options


class GenerationCreated(BaseModel):
    generation_id: str
    status: AimlStatus


class UnifiedGenerationCreated(BaseModel):
    """The unified route names the new generation's id `id` where the seed route says `generation_id`."""

    id: str
    status: AimlStatus


class VideoRef(BaseModel):
    url: str
    duration: float | None = Field(None, description="Seconds of video.")


class GenerationError(BaseModel):
    name: str
    message: str


class Generation(BaseModel):
    id: str
    status: AimlStatus
    video: VideoRef | None
    error: GenerationError | None
    # Extensions beyond the hosted API (clients ignore fields they do not know): how far it got, what the
    # engine drew and with which seed.
    progress: int | None = Field(None, ge=0, le=100, description="Percent done, 0 to 100 (not for errors).")
    motion_plan: dict[str, Any] | None = Field(None, description="The motion plan the engine followed.")
    optimized_prompt: str | None = Field(None, description="The full plan, described in words.")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description=SEED_USED_DOC)


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


def to_wire(job: Job, svc: Core) -> Generation:
    status = _STATUS_WORDS[job.status]
    video = None
    error = None
    if job.status is JobStatus.SUCCEEDED:
        url = svc.video_url(job)
        seconds = job.result.get("duration_s")
        video = VideoRef(url=url, duration=round(float(seconds), 3) if seconds is not None else None) if url else None
    elif job.status is JobStatus.FAILED:
        error = GenerationError(name=job.error_code or "generation_failed", message=job.error_message or "")
    elif job.status is JobStatus.CANCELLED:
        error = GenerationError(name="cancelled", message="the generation was cancelled")
    elif job.status is JobStatus.EXPIRED:
        error = GenerationError(name="expired", message="the video was removed after its retention period")
    extra = job.result.get("extra") or {}
    # The extension fields are set only when known; the route leaves unset fields out of the body so that
    # the hosted API's four fields are all a queued or failed job shows.
    extensions: dict[str, Any] = {
        key: extra[key] for key in ("motion_plan", "optimized_prompt") if extra.get(key) is not None
    }
    seed = seed_used(job)
    if seed is not None:
        extensions["seed"] = seed
    if status != "error":
        extensions["progress"] = 100 if status == "completed" else min(99, int(job.progress * 100))
    return Generation(id=job.id, status=status, video=video, error=error, **extensions)


def render_event(job: Job, svc: Core) -> dict[str, Any]:
    """A webhook body: the event type and the same generation object a poll returns."""
    generation = to_wire(job, svc)
    return {
        "type": f"generation.{generation.status}",
        "generation": generation.model_dump(mode="json", exclude_unset=True),
    }


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
    return GenerationCreated(generation_id=job.id, status=_STATUS_WORDS[job.status])


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
    return UnifiedGenerationCreated(id=job.id, status=_STATUS_WORDS[job.status])


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
