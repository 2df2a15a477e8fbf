"""The OpenAI Videos dialect: `/v1/videos` create, retrieve, list, delete and content.

Wire format as in OpenAI's API reference for Videos (and the official `openai` SDK's `client.videos`):
create takes multipart/form-data (the SDK always sends that, with the image as the `input_reference` file
part, or `input_reference[image_url]` for a URL) or JSON (`input_reference: {"image_url": ...}`), and every
answer is a video object `{"id": "video_...", "object": "video", "status", "progress", ...}`. Errors are
`{"error": {"message", "type", "param", "code"}}`.

Where we differ, on purpose: our engine animates a first frame, so `input_reference` is required; it is
centre-cropped to the aspect of `size` rather than refused when it does not match; and without `size` the
orientation of the image picks 1280x720 or 720x1280 (OpenAI's default, 720x1280, would crop a landscape
photo to a portrait sliver).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from stillmotion.api.auth import CurrentTenant, current_tenant
from stillmotion.api.errors import ApiError
from stillmotion.api.head import is_head
from stillmotion.api.services import (
    CreateRequest,
    Services,
    idempotency_key,
    services,
)
from stillmotion.dialects.openai_videos import (
    DIALECT,
    STATUS_WORDS,
    Video,
    job_id_from_wire,
    to_wire,
    wire_id,
)
from stillmotion.domain import MODEL_ENGINES, InvalidInput, Job, JobNotFound, JobStatus, ModelRegistry
from stillmotion.media.intake import CropTo
from stillmotion.media.thumbnail import spritesheet_jpeg, thumbnail_webp

PREFIXES = ("/v1/videos",)
VIDEOS_PATH = "/v1/videos"

DEFAULT_MODEL: Final = "sora-2"
SECONDS: Final = ("4", "8", "12")
DEFAULT_SECONDS: Final = "4"
SIZES: Final[dict[str, tuple[int, int]]] = {
    "720x1280": (720, 1280),
    "1280x720": (1280, 720),
    "1024x1792": (1024, 1792),
    "1792x1024": (1792, 1024),
}
MAX_PROMPT_CHARS: Final = 10_000
DEFAULT_LIST_LIMIT: Final = 20
MAX_LIST_LIMIT: Final = 100
# The image field as the shared intake names it; this dialect calls it `input_reference`.
IMAGE_FIELD: Final = "input_reference"
# `callback_url` is an extension: OpenAI configures webhooks per project, this server per video.
_FORM_FIELDS: Final = frozenset(
    {
        "prompt", "model", "seconds", "size", "callback_url",
        IMAGE_FIELD, f"{IMAGE_FIELD}[image_url]", f"{IMAGE_FIELD}[file_id]",
    }
)
_JSON_FIELDS: Final = frozenset({"prompt", "model", "seconds", "size", "callback_url", IMAGE_FIELD})

Variant = Literal["video", "thumbnail", "spritesheet"]


_VARIANT_MEDIA: dict[str, str] = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}


# ---- answer shapes of the routes alone (the video object is `dialects.openai_videos`') ----


class VideoList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Video]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeleted(BaseModel):
    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: bool


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "message": "`seconds` must be one of 4, 8, 12 (got '5')",
                        "type": "invalid_request_error",
                        "param": "seconds",
                        "code": "invalid_value",
                    }
                }
            ]
        }
    )

    error: ErrorDetail


# ---- errors ----

_LEADING_FIELD = re.compile(r"^`([^`]+)`")


def _error_type(status_code: int) -> str:
    if status_code >= 500:
        return "server_error"
    if status_code == 429:
        return "rate_limit_error"
    return "invalid_request_error"


def _error_code(status_code: int, message: str) -> str | None:
    if status_code == 401:
        return "invalid_api_key"
    if status_code == 400:
        if " is required" in message:
            return "missing_required_parameter"
        if "unknown parameter" in message:
            return "unknown_parameter"
        return "invalid_value"
    if status_code == 413:
        return "request_too_large"
    return None


def error_response(
    status_code: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """OpenAI's error body; `param` defaults to the backticked field a domain error's message starts with."""
    if param is None:
        match = _LEADING_FIELD.match(message)
        param = match.group(1) if match else None
    body = ErrorBody(
        error=ErrorDetail(
            message=message,
            type=_error_type(status_code),
            param=param,
            code=code if code is not None else _error_code(status_code, message),
        )
    )
    return JSONResponse(body.model_dump(), status_code=status_code, headers=headers)


def render_error(request: Request, error: ApiError) -> JSONResponse:
    return error_response(error.status_code, error.message, headers=error.headers)


# ---- create: reading the request ----


@dataclass(frozen=True)
class _CreateFields:
    prompt: str
    model: str
    seconds: str
    size: str | None  # None: chosen from the image's orientation
    image: str | bytes  # URL / data URI text, or the bytes of an uploaded file
    image_field: str  # the wire name errors about the image should carry
    callback_url: str | None = None


def _text(value: Any, field: str) -> str:
    # Whether the text can be stored was checked with the rest of the body, off the event loop (`api.bodies`).
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    return value


async def _fields_from_form(form: FormData, models: ModelRegistry) -> _CreateFields:
    for key in form:
        if key not in _FORM_FIELDS:
            raise InvalidInput(key, f"is an unknown parameter; known: {', '.join(sorted(_FORM_FIELDS))}")
    values: dict[str, str] = {}
    for key in (
        "prompt", "model", "seconds", "size", "callback_url", f"{IMAGE_FIELD}[image_url]", f"{IMAGE_FIELD}[file_id]"
    ):
        if key in form:
            values[key] = _text(form[key], key)
    if f"{IMAGE_FIELD}[file_id]" in values:
        _refuse_file_id(f"{IMAGE_FIELD}[file_id]")
    image: str | bytes | None = None
    image_field = IMAGE_FIELD
    upload = form.get(IMAGE_FIELD)
    if upload is not None and f"{IMAGE_FIELD}[image_url]" in values:
        raise InvalidInput(IMAGE_FIELD, "was sent twice: send either the file or `input_reference[image_url]`")
    if isinstance(upload, UploadFile):
        image = await upload.read()
    elif isinstance(upload, str):  # a URL or data URI sent as a plain form field
        image = upload
    elif f"{IMAGE_FIELD}[image_url]" in values:
        image_field = f"{IMAGE_FIELD}[image_url]"
        image = values[image_field]
    fields = _validate(values.get("prompt"), values.get("model"), values.get("seconds"), values.get("size"),
                       image, image_field, models)
    return replace(fields, callback_url=values.get("callback_url"))


def _refuse_file_id(field: str) -> None:
    raise InvalidInput(
        field, "is not supported: this server has no Files API; upload the image as the `input_reference` file "
        "or send `input_reference[image_url]` (an http(s) URL or a data: URI)"
    )


def _fields_from_json(body: dict[str, Any], models: ModelRegistry) -> _CreateFields:
    for key in body:
        if key not in _JSON_FIELDS:
            raise InvalidInput(key, f"is an unknown parameter; known: {', '.join(sorted(_JSON_FIELDS))}")
    seconds = body.get("seconds")
    if isinstance(seconds, int) and not isinstance(seconds, bool):
        seconds = str(seconds)  # OpenAI documents a string; a bare number is read the same way
    image: str | None = None
    image_field = IMAGE_FIELD
    reference = body.get(IMAGE_FIELD)
    if isinstance(reference, dict):
        for key in reference:
            if key not in ("image_url", "file_id"):
                raise InvalidInput(f"{IMAGE_FIELD}.{key}", "is an unknown parameter; known: image_url, file_id")
        if "file_id" in reference:
            _refuse_file_id(f"{IMAGE_FIELD}.file_id")
        if "image_url" in reference:
            image_field = f"{IMAGE_FIELD}.image_url"
            image = _text(reference["image_url"], image_field)
        else:
            raise InvalidInput(IMAGE_FIELD, "must have `image_url` (an http(s) URL or a data: URI)")
    elif reference is not None:
        image = _text(reference, IMAGE_FIELD)
    fields = _validate(
        _optional_text(body, "prompt"), _optional_text(body, "model"),
        seconds if seconds is None else _text(seconds, "seconds"), _optional_text(body, "size"),
        image, image_field, models,
    )
    return replace(fields, callback_url=_optional_text(body, "callback_url"))


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return None if value is None else _text(value, key)


def _validate(
    prompt: str | None,
    model: str | None,
    seconds: str | None,
    size: str | None,
    image: str | bytes | None,
    image_field: str,
    models: ModelRegistry,
) -> _CreateFields:
    if prompt is None:
        raise InvalidInput("prompt", "is required")
    if not prompt.strip():
        raise InvalidInput("prompt", "must not be blank")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput("prompt", f"must be at most {MAX_PROMPT_CHARS} characters long (got {len(prompt)})")
    model = DEFAULT_MODEL if model is None else model
    models.spec(model)  # an unknown model is refused before any image is read or fetched
    seconds = DEFAULT_SECONDS if seconds is None else seconds
    if seconds not in SECONDS:
        raise InvalidInput("seconds", f"must be one of {', '.join(SECONDS)} (got {seconds!r})")
    if size is not None and size not in SIZES:
        raise InvalidInput("size", f"must be one of {', '.join(SIZES)} (got {size!r})")
    if image is None:
        raise InvalidInput(
            IMAGE_FIELD, "is required: this server animates a first frame; upload a JPG/PNG image as the "
            "`input_reference` file, or send `input_reference[image_url]` (multipart) or "
            "`{\"input_reference\": {\"image_url\": ...}}` (JSON) with an http(s) URL or a data: URI"
        )
    return _CreateFields(prompt, model, seconds, size, image, image_field)


def _crop_to(size: str | None) -> CropTo:
    """The frame is centre-cropped to `size`; without one, the orientation of the image (as stored) picks it."""
    if size is None:
        return CropTo(landscape=SIZES["1280x720"], portrait=SIZES["720x1280"])
    return CropTo(landscape=SIZES[size], portrait=SIZES[size])


# ---- routes ----

SERVICES = Annotated[Services, Depends(services)]
VideoId = Annotated[str, Path(description="`video_<id>` (or the bare id).", examples=["video_123456789012345678"])]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A parameter breaks a rule; `param` names it."},
    401: {"model": ErrorBody, "description": "Missing or unknown API key."},
    404: {"model": ErrorBody, "description": "No such video for this API key."},
}

_CREATE_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["prompt", "input_reference"],
    "properties": {
        "prompt": {"type": "string", "maxLength": MAX_PROMPT_CHARS, "description": "What should happen."},
        "model": {"type": "string", "default": DEFAULT_MODEL, "enum": ["sora-2", "sora-2-pro"],
                  "description": "Both run the live2d engine (so do our own ids, e.g. `video-01-live2d`)."},
        "seconds": {"type": "string", "enum": list(SECONDS), "default": DEFAULT_SECONDS},
        "size": {"type": "string", "enum": list(SIZES),
                 "description": "Output size; the image is centre-cropped to its aspect. Default: 1280x720 for "
                 "a landscape image, 720x1280 otherwise."},
        "input_reference": {"type": "string", "format": "binary",
                            "description": "The first frame: JPG/PNG, aspect ratio strictly between 2:5 and 5:2, "
                            "shorter side over 300 px, at most 20 MB."},
        "input_reference[image_url]": {"type": "string",
                                       "description": "Instead of the file: an http(s) URL or a data: URI."},
        "callback_url": {"type": "string", "description": "Extension: http(s) URL that receives a signed event "
                         "(`video.in_progress`, `video.completed`, `video.failed`) at each status change."},
    },
}
def document_models(schema: dict[str, Any], models: ModelRegistry) -> None:
    """List a models file's ids in the create route's `model` enum of an app's OpenAPI `schema` (in place).
    The request body there is shared with the module's constants, so it is copied before it changes."""
    extra = [model_id for model_id in models.ids() if model_id not in MODEL_ENGINES]
    operation = schema.get("paths", {}).get(VIDEOS_PATH, {}).get("post")
    if not extra or operation is None or "requestBody" not in operation:
        return
    body = operation["requestBody"] = copy.deepcopy(operation["requestBody"])
    engines = ", ".join(f"`{model_id}` ({models.engine(model_id)})" for model_id in extra)
    for content in body["content"].values():
        model = content["schema"]["properties"]["model"]
        model["enum"] = [*model["enum"], *extra]
        model["description"] = f"{model['description']} From this server's models file: {engines}."


_CREATE_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["prompt", "input_reference"],
    "properties": {
        **{k: v for k, v in _CREATE_FORM_SCHEMA["properties"].items() if not k.startswith("input_reference")},
        "input_reference": {
            "type": "object",
            "required": ["image_url"],
            "properties": {"image_url": {"type": "string", "description": "An http(s) URL or a data: URI."}},
        },
    },
}

router = APIRouter(tags=["OpenAI Videos"])


@router.post(
    VIDEOS_PATH,
    response_model=Video,
    responses={**_ERRORS, 413: {"model": ErrorBody, "description": "Body too large."}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": _CREATE_FORM_SCHEMA,
                    "example": {"prompt": "she smiles", "model": "sora-2", "seconds": "4", "size": "720x1280"},
                },
                "application/json": {
                    "schema": _CREATE_JSON_SCHEMA,
                    "example": {
                        "prompt": "she smiles",
                        "seconds": "4",
                        "size": "720x1280",
                        "input_reference": {"image_url": "https://example.com/first-frame.jpg"},
                    },
                },
            },
        }
    },
    summary="Create a video",
)
async def create_video(request: Request, tenant: CurrentTenant, svc: SERVICES) -> Video:
    key = idempotency_key(request)
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await svc.read_form(request, max_fields=len(_FORM_FIELDS), max_files=1)
        try:
            fields = await _fields_from_form(form, svc.models)
        finally:
            await form.close()
    elif content_type in ("application/json", ""):
        fields = _fields_from_json(await svc.read_json(request), svc.models)
    else:
        raise InvalidInput("Content-Type", f"must be multipart/form-data or application/json (got {content_type!r})")
    job = await svc.create_job(
        CreateRequest(
            tenant=tenant,
            dialect=DIALECT,
            model=fields.model,
            prompt=fields.prompt,
            first_frame_image=fields.image,
            options={"duration": float(fields.seconds)},
            idempotency_key=key,
            callback_url=fields.callback_url,
            crop_to=_crop_to(fields.size),
            image_field=fields.image_field,
        )
    )
    return to_wire(job)


async def _get(video_id: str, tenant: str, svc: Services) -> Job:
    try:
        return await svc.read_job(job_id_from_wire(video_id), tenant=tenant)
    except JobNotFound:
        raise JobNotFound(video_id, noun="video") from None


@router.get(VIDEOS_PATH + "/{video_id}", response_model=Video, responses=_ERRORS, summary="Retrieve a video")
async def retrieve_video(request: Request, video_id: VideoId) -> Response:
    return await retrieve_poll(request)  # GETs are answered by `retrieve_poll` through `api.hot`; see there


async def retrieve_poll(request: Request) -> Response:
    """One video, reading the request itself (the key too, so it is checked and counted once): `api.hot` calls it
    without FastAPI's routing (it is the OpenAI poll); the route above calls it too."""
    tenant = await current_tenant(request)
    svc: Services = request.app.state.services
    video = to_wire(await _get(request.path_params["video_id"], tenant, svc))
    return Response(video.model_dump_json(), media_type="application/json")


# The GET routes `api.hot` answers without FastAPI's routing.
HOT_GETS = {VIDEOS_PATH + "/{video_id}": retrieve_poll}


def _parse_limit(limit: str | None) -> int:
    if limit is None:
        return DEFAULT_LIST_LIMIT
    text = limit.strip()
    if not text.lstrip("-").isdigit():
        raise InvalidInput("limit", f"must be an integer from 1 to {MAX_LIST_LIMIT} (got {limit!r})")
    value = int(text)
    if not 1 <= value <= MAX_LIST_LIMIT:
        raise InvalidInput("limit", f"must be from 1 to {MAX_LIST_LIMIT} (got {value})")
    return value


@router.get(VIDEOS_PATH, response_model=VideoList, responses=_ERRORS, summary="List videos")
async def list_videos(
    tenant: CurrentTenant,
    svc: SERVICES,
    after: Annotated[str | None, Query(description="The id of the last video of the previous page.")] = None,
    limit: Annotated[
        str | None, Query(description=f"1 to {MAX_LIST_LIMIT}, default {DEFAULT_LIST_LIMIT}.", examples=["20"])
    ] = None,
    order: Annotated[str | None, Query(description="`asc` or `desc` (default) by creation time.")] = None,
) -> VideoList:
    count = _parse_limit(limit)
    if order not in (None, "asc", "desc"):
        raise InvalidInput("order", f"must be asc or desc (got {order!r})")
    cursor = None
    if after is not None:
        cursor = job_id_from_wire(after)
        if not cursor:
            raise InvalidInput("after", "must be a video id")
    try:
        page = await run_in_threadpool(
            svc.store.list_jobs, tenant, limit=count, after=cursor, newest_first=order != "asc"
        )
    except JobNotFound:
        raise InvalidInput("after", f"is not the id of one of your videos (got {after!r})") from None
    data = [to_wire(svc.as_seen(job)) for job in page.jobs]
    return VideoList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=page.has_more,
    )


@router.delete(
    VIDEOS_PATH + "/{video_id}", response_model=VideoDeleted, responses=_ERRORS, summary="Delete a video"
)
async def delete_video(video_id: VideoId, tenant: CurrentTenant, svc: SERVICES) -> VideoDeleted:
    try:
        job = await svc.delete_job(job_id_from_wire(video_id), tenant=tenant)
    except JobNotFound:
        raise JobNotFound(video_id, noun="video") from None
    return VideoDeleted(id=wire_id(job.id), deleted=True)


@router.get(
    VIDEOS_PATH + "/{video_id}/content",
    response_class=Response,
    responses={
        200: {
            "description": "`video`: the mp4; `thumbnail`: the first frame as WebP; `spritesheet`: a JPEG grid "
            "of 9 frames spread over the clip.",
            "content": {media: {} for media in _VARIANT_MEDIA.values()},
        },
        **_ERRORS,
        404: {"model": ErrorBody, "description": "No such video, or it is not completed (yet)."},
    },
    summary="Download video content",
)
async def download_content(
    request: Request,
    video_id: VideoId,
    tenant: CurrentTenant,
    svc: SERVICES,
    variant: Annotated[str | None, Query(description="`video` (default), `thumbnail` or `spritesheet`.")] = None,
) -> Response:
    chosen = variant or "video"
    if chosen not in _VARIANT_MEDIA:
        raise InvalidInput("variant", f"must be video, thumbnail or spritesheet (got {variant!r})")
    job = await _get(video_id, tenant, svc)
    if job.status is not JobStatus.SUCCEEDED or job.media_key is None:
        status = STATUS_WORDS[job.status]
        advice = (
            f"poll GET /v1/videos/{video_id} until its status is completed"
            if not job.status.is_terminal()
            else "it has no content; create a new video"
        )
        return error_response(
            404, f"video {video_id!r} is not ready: its status is {status}; {advice}", param="video_id",
            code="video_not_ready" if not job.status.is_terminal() else "video_failed",
        )
    media_key = job.media_key
    filename = f"{wire_id(job.id)}"
    if chosen == "video":
        disposition = f'attachment; filename="{filename}.mp4"'
        try:
            if is_head(request):  # the headers only: the size, not the video
                size = await run_in_threadpool(svc.storage.size, media_key)
                headers = {"Content-Length": str(size), "Content-Disposition": disposition}
                return Response(media_type=_VARIANT_MEDIA["video"], headers=headers)
            stored = await run_in_threadpool(svc.storage.open, media_key)
        except FileNotFoundError:
            raise JobNotFound(video_id, noun="video") from None
        return StreamingResponse(
            stored.chunks(),
            media_type=_VARIANT_MEDIA["video"],
            headers={"Content-Length": str(stored.size), "Content-Disposition": disposition},
        )

    def preview() -> bytes:
        # The decoder wants a file: the stored one, or a temporary copy of a remote object.
        with svc.storage.local_copy(media_key) as path:
            return thumbnail_webp(path) if chosen == "thumbnail" else spritesheet_jpeg(path)

    try:
        data = await run_in_threadpool(preview)
    except FileNotFoundError:
        raise JobNotFound(video_id, noun="video") from None
    suffix = "webp" if chosen == "thumbnail" else "jpg"
    return Response(
        data,
        media_type=_VARIANT_MEDIA[chosen],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{suffix}"'},
    )
