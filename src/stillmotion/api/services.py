"""What every dialect shares: the store, links, image intake, and the one way a job is created."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from stillmotion.config import Settings
from stillmotion.domain import InvalidInput, Job, JobSpec, engine_for_model
from stillmotion.jobs import JobStore
from stillmotion.media.fetch import UrlFetcher
from stillmotion.media.intake import decode_first_frame
from stillmotion.storage import LinkSigner, LocalStorage

M = TypeVar("M", bound=BaseModel)


@dataclass
class Services:
    settings: Settings
    store: JobStore
    storage: LocalStorage
    signer: LinkSigner
    fetcher: UrlFetcher

    def video_url(self, job: Job) -> str | None:
        if job.media_key is None:
            return None
        return self.signer.url(job.media_key, ttl_s=self.settings.link_ttl_s)

    def _build_spec(
        self, *, tenant: str, model: str, prompt: str, prompt_optimizer: bool, first_frame_image: str,
        options: dict[str, Any],
    ) -> JobSpec:
        engine = engine_for_model(model)  # before any fetch: an unknown model costs no download
        frame = decode_first_frame(first_frame_image, fetch=self.fetcher.fetch)
        return JobSpec(
            tenant=tenant,
            model=model,
            engine=engine,
            prompt=prompt,
            image=frame.data,
            image_format=frame.format,
            image_width=frame.width,
            image_height=frame.height,
            prompt_optimizer=prompt_optimizer,
            options=options,
        )

    async def create_job(
        self, *, tenant: str, model: str, prompt: str, prompt_optimizer: bool, first_frame_image: str,
        options: dict[str, Any] | None = None,
    ) -> Job:
        """Validate the image (fetching it if it is a URL), then commit the job; blocking work off the loop."""
        spec = await run_in_threadpool(
            lambda: self._build_spec(
                tenant=tenant,
                model=model,
                prompt=prompt,
                prompt_optimizer=prompt_optimizer,
                first_frame_image=first_frame_image,
                options=options or {},
            )
        )
        return await run_in_threadpool(self.store.create, spec)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def read_json_object(request: Request, *, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object, read with a size cap; every failure is an `InvalidInput`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise InvalidInput("body", f"is {int(declared)} bytes; at most {max_bytes} bytes are allowed", status_code=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise InvalidInput("body", f"exceeds {max_bytes} bytes", status_code=413)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("body", "must be UTF-8 encoded JSON") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidInput("body", "is nested too deeply") from None
    except ValueError as exc:
        raise InvalidInput("body", f"is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidInput("body", "must be a JSON object")
    return value


_RULES = {
    "missing": "is required",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "float_type": "must be a number",
}


def parse_body(model: type[M], body: dict[str, Any]) -> M:
    """Validate `body` against `model`; the first problem becomes an `InvalidInput` naming field and rule."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "body"
        ctx = error.get("ctx") or {}
        value = error.get("input")
        got = f" (got {len(value)})" if isinstance(value, str) else ""
        kind = error["type"]
        if kind in ("greater_than_equal", "less_than_equal"):
            shown = f" (got {value})" if isinstance(value, int | float) else ""
            rule = f"must be at least {ctx['ge']}{shown}" if "ge" in ctx else f"must be at most {ctx['le']}{shown}"
        elif kind == "string_too_short":
            rule = f"must be at least {ctx['min_length']} character(s) long{got}"
        elif kind == "string_too_long":
            rule = f"must be at most {ctx['max_length']} characters long{got}"
        else:
            rule = _RULES.get(kind, error["msg"][:1].lower() + error["msg"][1:])
        raise InvalidInput(field, rule) from None
