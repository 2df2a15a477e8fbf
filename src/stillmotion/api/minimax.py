"""The MiniMax native dialect: `/v1/video_generation`, `/v1/query/video_generation`, `/v1/files/retrieve`.

MiniMax answers every call with HTTP 200 and reports the outcome in `base_resp` (`status_code` 0 is success), so
this module does the same, errors included. Three ids appear on the wire; all of them are our job id:

- `task_id` (a string), returned on create and polled with the query route;
- `file_id`, a string in the query response and a JSON integer in the `files/retrieve` response, as MiniMax sends
  them (typed clients decode `file.file_id` as an int64). Job ids are 18 decimal digits, so they fit an int64 and
  map back to the job in any process, with nothing to remember.
"""

from __future__ import annotations

import functools
import json
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from starlette.concurrency import run_in_threadpool

from stillmotion.api.auth import CurrentTenant, current_tenant
from stillmotion.api.bodies import parse_json_object
from stillmotion.api.errors import ApiError
from stillmotion.api.services import (
    MAX_CALLBACK_URL,
    CreateRequest,
    Services,
    idempotency_key,
    parse_body,
    services,
)
from stillmotion.dialects.minimax import (
    DIALECT,
    INVALID_PARAMS,
    NOT_AUTHORIZED,
    OK,
    RATE_LIMIT,
    UNKNOWN_ERROR,
    BaseResp,
    VideoGenerationCreated,
    VideoGenerationTask,
    to_task,
)
from stillmotion.domain import InvalidInput, JobNotFound, JobStatus

PREFIXES = ("/v1/video_generation", "/v1/query/video_generation", "/v1/files/")

CREATE_PATH = "/v1/video_generation"
QUERY_PATH = "/v1/query/video_generation"
RETRIEVE_PATH = "/v1/files/retrieve"


# The documented durations (seconds) and resolutions of `/v1/video_generation`.
DURATIONS_S = (6, 10)
DEFAULT_DURATION_S = 6
RESOLUTIONS = ("512P", "720P", "768P", "1080P")
# MiniMax renders 1080P only as 6 s clips.
SIX_SECONDS_ONLY = frozenset({"1080P"})
MAX_PROMPT_CHARS = 2000
# The model ids this dialect serves: MiniMax's name for the live model and the seed API's name for the same one.
MODELS = ("I2V-01-live", "video-01-live2d")

# The callback handshake: MiniMax POSTs `{"challenge": ...}` and the receiver must echo it within 3 s.
HANDSHAKE_TIMEOUT_S = 3.0


class CreateVideoGeneration(BaseModel):
    """MiniMax's image-to-video request. Unknown fields are ignored, as MiniMax does."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": "I2V-01-live",
                    "prompt": "She smiles, then the camera slowly zooms in.",
                    "first_frame_image": "https://example.com/first-frame.jpg",
                    "prompt_optimizer": True,
                    "duration": 6,
                    "resolution": "720P",
                }
            ]
        },
    )

    model: StrictStr = Field(description="`I2V-01-live` or `video-01-live2d` (both run the live2d engine).")
    prompt: StrictStr = Field("", max_length=MAX_PROMPT_CHARS, description="What should happen; may be empty.")
    prompt_optimizer: StrictBool = Field(True, description="Enrich the prompt with natural secondary motion.")
    first_frame_image: StrictStr = Field(
        description="Public http(s) URL or `data:image/...;base64,...` URL of a JPG/JPEG/PNG; shorter side over "
        "300 px, aspect ratio strictly between 2:5 and 5:2, at most 20 MB."
    )
    duration: StrictInt = Field(DEFAULT_DURATION_S, description="Seconds of video: 6 or 10.")
    resolution: StrictStr | None = Field(
        None,
        description="One of 512P, 720P, 768P, 1080P (1080P with 6 s only). Accepted for compatibility: the "
        "live2d engine always renders I2V-01-live's 720P (shorter side 720 px, the input's aspect ratio); "
        "`video_width`/`video_height` report the real size.",
    )
    callback_url: StrictStr | None = Field(
        None,
        max_length=MAX_CALLBACK_URL,  # checked before the verification POST, not only when the job is stored
        description='Receives status updates. On create it is sent `{"challenge": "..."}` and must echo '
        "the same JSON back within 3 s, or the task is not created.",
    )
    # Documented switches for other MiniMax models: type-checked, then without effect here.
    fast_pretreatment: StrictBool = Field(False, description="Accepted; has no effect on live2d.")
    aigc_watermark: StrictBool = Field(False, description="Accepted; no watermark is drawn.")


class FileObject(BaseModel):
    file_id: int
    bytes: int = Field(description="Size of the mp4 in bytes.")
    created_at: int = Field(description="Unix seconds when the video was finished.")
    filename: str
    purpose: Literal["video_generation"]
    download_url: str = Field(description="A signed link that expires (`STILLMOTION_LINK_TTL_S`).")


class RetrievedFile(BaseModel):
    file: FileObject
    base_resp: BaseResp


# --- errors -----------------------------------------------------------------------------------------


def _base_resp_for(request: Request, error: ApiError) -> BaseResp:
    status = error.status_code
    path = request.url.path
    if status == 401 or status == 403:
        return BaseResp(status_code=NOT_AUTHORIZED, status_msg=f"not authorized, {error.message}")
    if status == 404:
        # MiniMax reports an unknown id as an invalid parameter.
        if path == QUERY_PATH:
            thing = "task not found"
        elif path == RETRIEVE_PATH:
            thing = "file not found"
        else:
            thing = f"no such route {path}"
        return BaseResp(status_code=INVALID_PARAMS, status_msg=f"invalid params, {thing}")
    if status == 429:
        return BaseResp(status_code=RATE_LIMIT, status_msg=f"rate limit, {error.message}")
    if status >= 500:
        return BaseResp(status_code=UNKNOWN_ERROR, status_msg=f"unknown error, {error.message}")
    return BaseResp(status_code=INVALID_PARAMS, status_msg=f"invalid params, {error.message}")


def render_error(request: Request, error: ApiError) -> JSONResponse:
    """MiniMax's error shape: HTTP 200 and a non-zero `base_resp`; the create route adds an empty `task_id`."""
    body: dict[str, Any] = {"base_resp": _base_resp_for(request, error).model_dump()}
    if request.url.path == CREATE_PATH:
        body = {"task_id": "", **body}
    retry_after = (error.headers or {}).get("Retry-After")
    return JSONResponse(body, status_code=200, headers={"Retry-After": retry_after} if retry_after else None)


# --- the callback handshake -------------------------------------------------------------------------


def verify_callback(svc: Services, url: str) -> None:
    """MiniMax's URL verification: POST `{"challenge": <random>}`; the receiver must answer 200 with the same
    challenge within 3 s. Any other outcome is `InvalidInput("callback_url", ...)`. Blocking: run it off the loop."""
    challenge = secrets.token_urlsafe(24)
    body = json.dumps({"challenge": challenge}).encode()
    status, answer = svc.fetcher.post(
        url, body, headers={"Content-Type": "application/json"}, field="callback_url", timeout_s=HANDSHAKE_TIMEOUT_S
    )
    rule = "must answer the verification POST with HTTP 200 and a JSON body echoing its `challenge` within 3 s"
    if status != 200:
        raise InvalidInput("callback_url", f"{rule} (it answered HTTP {status})")
    try:
        echoed = parse_json_object(answer)  # the limits of request bodies: the receiver is just another stranger
    except InvalidInput:
        raise InvalidInput("callback_url", f"{rule} (its answer is not a JSON object)") from None
    if echoed.get("challenge") != challenge:
        raise InvalidInput("callback_url", f"{rule} (it answered with a different challenge)")


# --- routes -----------------------------------------------------------------------------------------

SERVICES = Annotated[Services, Depends(services)]

_OUTCOMES = (
    "MiniMax answers with HTTP 200 whatever happens: `base_resp.status_code` 0 is success; 1004 is a missing or "
    "unknown API key, 2013 an invalid parameter (the message names the field and the rule, or says `task not "
    "found` / `file not found`), 1002 a rate limit and 1000 an unexpected error."
)

router = APIRouter(tags=["MiniMax"])


def _check_choices(fields: CreateVideoGeneration) -> None:
    # Unknown models are refused before anything is fetched or called.
    if fields.model not in MODELS:
        raise InvalidInput("model", f"must be one of: {', '.join(MODELS)} (got {fields.model!r})")
    if fields.duration not in DURATIONS_S:
        raise InvalidInput("duration", f"must be 6 or 10 (got {fields.duration})")
    if fields.resolution is not None:
        if fields.resolution not in RESOLUTIONS:
            raise InvalidInput("resolution", f"must be one of: {', '.join(RESOLUTIONS)} (got {fields.resolution!r})")
        if fields.resolution in SIX_SECONDS_ONLY and fields.duration != DEFAULT_DURATION_S:
            raise InvalidInput("resolution", f"{fields.resolution} is available with `duration` 6 only")


@router.post(
    CREATE_PATH,
    response_model=VideoGenerationCreated,
    summary="Create a video generation task (MiniMax)",
    description="Image to video from `first_frame_image` and `prompt`. " + _OUTCOMES,
    responses={
        200: {
            "content": {
                "application/json": {
                    "examples": {
                        "created": {
                            "value": {
                                "task_id": "106916112212032",
                                "base_resp": {"status_code": 0, "status_msg": "success"},
                            }
                        },
                        "invalid": {
                            "value": {
                                "task_id": "",
                                "base_resp": {
                                    "status_code": INVALID_PARAMS,
                                    "status_msg": "invalid params, `duration` must be 6 or 10 (got 5)",
                                },
                            }
                        },
                    }
                }
            }
        }
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CreateVideoGeneration.model_json_schema()}},
        }
    },
)
async def create_video_generation(request: Request, tenant: CurrentTenant, svc: SERVICES) -> VideoGenerationCreated:
    body = await svc.read_json(request)
    fields = parse_body(CreateVideoGeneration, body)
    _check_choices(fields)
    create = CreateRequest(
        tenant=tenant,
        dialect=DIALECT,
        model=fields.model,
        prompt=fields.prompt,
        prompt_optimizer=fields.prompt_optimizer,
        first_frame_image=fields.first_frame_image,
        options={"duration": float(fields.duration)},
        callback_url=fields.callback_url,
        idempotency_key=idempotency_key(request),
    )
    # Only a verified callback URL is stored, and only a request that passed every other check (image, cap)
    # contacts it; a retried request with the same key was verified already and is not again.
    handshake = None if fields.callback_url is None else functools.partial(verify_callback, svc, fields.callback_url)
    job = await svc.create_job(create, before_insert=handshake)
    return VideoGenerationCreated(task_id=job.id, base_resp=OK)


@router.get(
    QUERY_PATH,
    response_model=VideoGenerationTask,
    response_model_exclude_none=True,
    summary="Query a video generation task (MiniMax)",
    description="`status`: Queueing, Preparing, Processing, Success or Fail. " + _OUTCOMES,
    responses={
        200: {
            "content": {
                "application/json": {
                    "examples": {
                        "success": {
                            "value": {
                                "task_id": "176843862716480",
                                "status": "Success",
                                "file_id": "176843862716480",
                                "video_width": 944,
                                "video_height": 720,
                                "base_resp": {"status_code": 0, "status_msg": "success"},
                            }
                        },
                        "not_found": {
                            "value": {
                                "base_resp": {
                                    "status_code": INVALID_PARAMS,
                                    "status_msg": "invalid params, task not found",
                                }
                            }
                        },
                    }
                }
            }
        }
    },
)
async def query_video_generation(
    request: Request,
    task_id: Annotated[str, Query(description="The `task_id` returned on create.", examples=["106916112212032"])],
) -> Response:
    return await query_poll(request)  # GETs are answered by `query_poll` through `api.hot`; see there


async def query_poll(request: Request) -> Response:
    """The task query, reading the request itself (the key too, so it is checked and counted once): `api.hot`
    calls it without FastAPI's routing; the route above calls it too."""
    task_id = request.query_params.get("task_id")
    if task_id is None:
        raise InvalidInput("task_id", "is required")
    tenant = await current_tenant(request)
    svc: Services = request.app.state.services
    task = to_task(await svc.read_job(task_id, tenant=tenant))
    return Response(task.model_dump_json(exclude_none=True), media_type="application/json")


# The GET routes `api.hot` answers without FastAPI's routing.
HOT_GETS = {QUERY_PATH: query_poll}


@router.get(
    RETRIEVE_PATH,
    response_model=RetrievedFile,
    summary="Retrieve a generated video's file (MiniMax)",
    description="`file.download_url` is a signed link that expires. " + _OUTCOMES,
    responses={
        200: {
            "content": {
                "application/json": {
                    "examples": {
                        "file": {
                            "value": {
                                "file": {
                                    "file_id": 176843862716480,
                                    "bytes": 1048576,
                                    "created_at": 1700469398,
                                    "filename": "output.mp4",
                                    "purpose": "video_generation",
                                    "download_url": "http://127.0.0.1:8000/media/...?Expires=...&Signature=...",
                                },
                                "base_resp": {"status_code": 0, "status_msg": "success"},
                            }
                        }
                    }
                }
            }
        }
    },
)
async def retrieve_file(
    tenant: CurrentTenant,
    svc: SERVICES,
    file_id: Annotated[
        str | None, Query(description="The `file_id` from a `Success` query.", examples=["176843862716480"])
    ] = None,
    group_id: Annotated[str | None, Query(alias="GroupId", description="Sent by older clients; ignored.")] = None,
) -> RetrievedFile:
    if file_id is None:
        raise InvalidInput("file_id", "is required")
    if not file_id.isascii() or not file_id.isdigit():
        raise InvalidInput("file_id", f"must be an integer (got {file_id[:40]!r})")
    job = await svc.read_job(file_id, tenant=tenant)
    url = svc.video_url(job)
    if job.status is not JobStatus.SUCCEEDED or job.media_key is None or url is None:
        raise JobNotFound(file_id, noun="file")  # no file exists (yet, or any more) for this task
    try:
        size = await run_in_threadpool(svc.storage.size, job.media_key)
    except FileNotFoundError:
        raise JobNotFound(file_id, noun="file") from None
    finished = job.finished_at or job.updated_at
    return RetrievedFile(
        file=FileObject(
            file_id=int(job.id),
            bytes=size,
            created_at=int(finished.timestamp()),
            filename="output.mp4",
            purpose="video_generation",
            download_url=url,
        ),
        base_resp=OK,
    )
