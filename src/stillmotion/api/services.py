"""What every dialect shares: the store, links, image intake, and the one way a job is created."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from stillmotion.api.limits import unfinished_jobs_exceeded
from stillmotion.config import Settings
from stillmotion.domain import InvalidInput, Job, JobSpec, JobStatus, ModelRegistry, UnfinishedCapReached
from stillmotion.domain.text import unstorable
from stillmotion.jobs import JobStore
from stillmotion.logs import current_request_id
from stillmotion.media.fetch import UrlFetcher
from stillmotion.media.intake import FirstFrame, decode_first_frame
from stillmotion.storage import LinkSigner, Storage

M = TypeVar("M", bound=BaseModel)
_log = logging.getLogger("stillmotion.api")


@dataclass
class Services:
    settings: Settings
    store: JobStore
    storage: Storage
    signer: LinkSigner  # checks `/media` links; the storage itself makes them
    fetcher: UrlFetcher
    # The model ids jobs may name: built in plus the models file's (pure data; no engine is imported).
    models: ModelRegistry = field(default_factory=ModelRegistry)

    def as_seen(self, job: Job, *, now: float | None = None) -> Job:
        """The job as clients see it: past its retention deadline a succeeded job reads as expired (without its
        video) at once, not only after the next cleanup pass has marked it so."""
        retention_s = self.settings.retention_s
        if job.status is not JobStatus.SUCCEEDED or retention_s <= 0 or job.finished_at is None:
            return job
        if job.finished_at.timestamp() + retention_s > (time.time() if now is None else now):
            return job
        return replace(job, status=JobStatus.EXPIRED, media_key=None)

    def video_url(self, job: Job, *, now: float | None = None) -> str | None:
        """A download link for a succeeded job's video. With retention on, the link dies no later than the job
        does (its retention deadline), so a link never outlives its video; None once that deadline has come."""
        if job.media_key is None or job.status is not JobStatus.SUCCEEDED:
            return None
        retention_s = self.settings.retention_s
        if retention_s <= 0 or job.finished_at is None:
            return self.storage.url(job.media_key, ttl_s=self.settings.link_ttl_s)
        deadline = job.finished_at.timestamp() + retention_s
        left_s = math.floor(deadline - (time.time() if now is None else now))
        if left_s < 1:
            return None  # the next cleanup pass expires it
        return self.storage.url(job.media_key, ttl_s=min(self.settings.link_ttl_s, left_s), not_after=deadline)

    def _build_spec(self, request: CreateRequest) -> JobSpec:
        engine = self.models.engine(request.model)  # before any fetch: an unknown model costs no download
        if request.callback_url is not None:
            if len(request.callback_url) > MAX_CALLBACK_URL:
                raise InvalidInput("callback_url", f"must be at most {MAX_CALLBACK_URL} characters long")
            self.fetcher.check_url(request.callback_url, field="callback_url")
        image = request.first_frame_image
        frame = decode_first_frame(image, fetch=self.fetcher.fetch) if isinstance(image, str) else image
        if request.prepare_frame is not None:
            frame = request.prepare_frame(frame)
        return JobSpec(
            tenant=request.tenant,
            model=request.model,
            engine=engine,
            prompt=request.prompt,
            image=frame.data,
            image_format=frame.format,
            image_width=frame.width,
            image_height=frame.height,
            prompt_optimizer=request.prompt_optimizer,
            options=dict(request.options),
            dialect=request.dialect,
            callback_url=request.callback_url,
            idempotency_key=request.idempotency_key,
            request_hash=request.fingerprint() if request.idempotency_key is not None else None,
            request_id=request.request_id or current_request_id(),
        )

    async def create_job(
        self, request: CreateRequest, *, before_insert: Callable[[], Awaitable[None]] | None = None
    ) -> Job:
        """Validate the image (fetching it if it is a URL), then commit the job; blocking work off the loop.

        With an `Idempotency-Key`, an earlier job made with that key and the same request is returned as is,
        before any image is fetched. A key already at its cap of unfinished jobs is refused (`RateLimited`),
        also before any fetch; a replay of an existing job is not refused. `before_insert` (MiniMax's callback
        handshake) runs once the request has passed everything else, just before the job is stored: a request
        that is refused anyway contacts nobody.
        """
        if request.idempotency_key is not None:
            earlier = await run_in_threadpool(
                self.store.find_idempotent, request.tenant, request.idempotency_key, request.fingerprint()
            )
            if earlier is not None:
                return earlier
        await self.check_unfinished_cap(request.tenant)
        spec = await run_in_threadpool(self._build_spec, request)
        if before_insert is not None:
            await before_insert()
        cap = self.settings.max_unfinished_jobs
        try:
            # Counted again with the insert, atomically: the check above only spares a doomed request its fetch.
            job = await run_in_threadpool(functools.partial(self.store.create, spec, cap=cap))
        except UnfinishedCapReached as exc:
            raise unfinished_jobs_exceeded(exc.cap, exc.unfinished) from None
        _log.info("job %s created (%s, model %s)", job.id, job.dialect, job.model, extra={"job_id": job.id})
        return job

    async def read_job(self, job_id: str, *, tenant: str) -> Job:
        """One job as its owner sees it (`as_seen`), read on the event loop where the store can (SQLite,
        PostgreSQL): under load a hand-off to a worker thread costs more than the read itself."""
        if self.store.polls_on_loop:
            job = await self.store.get_on_loop(job_id, tenant=tenant)
        else:
            job = await run_in_threadpool(self.store.get, job_id, tenant=tenant)
        return self.as_seen(job)

    async def check_unfinished_cap(self, tenant: str) -> None:
        """`RateLimited` if `tenant` is at its cap of queued plus running jobs.

        An early check, before anything is fetched or decoded; `store.create` checks again atomically with the
        insert, so that creates racing in parallel cannot pass the cap.
        """
        cap = self.settings.max_unfinished_jobs
        if cap > 0:
            unfinished = await run_in_threadpool(self.store.count_unfinished, tenant)
            if unfinished >= cap:
                raise unfinished_jobs_exceeded(cap, unfinished)

    async def delete_job(self, job_id: str, *, tenant: str) -> Job:
        """Remove a job, its input and its video; a running render stops at its next heartbeat."""
        job = await run_in_threadpool(self.store.delete, job_id, tenant=tenant)
        if job.media_key is not None:
            await run_in_threadpool(self.storage.delete, job.media_key)
        return job


MAX_IDEMPOTENCY_KEY = 255
MAX_CALLBACK_URL = 2048


@dataclass(frozen=True)
class CreateRequest:
    """One create call as a dialect understood it. `first_frame_image` is the wire text (URL, data URI or
    base64) or an already decoded upload; `prepare_frame` may reshape the frame before it is stored."""

    tenant: str
    dialect: str
    model: str
    prompt: str
    first_frame_image: str | FirstFrame
    prompt_optimizer: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    callback_url: str | None = None
    idempotency_key: str | None = None
    prepare_frame: Callable[[FirstFrame], FirstFrame] | None = None
    request_id: str | None = None  # not part of the fingerprint: a retry is a new request for the same job

    def fingerprint(self) -> str:
        """A digest of everything the request asked for: the same request gives the same digest."""
        image = self.first_frame_image
        image_digest = hashlib.sha256(image.encode() if isinstance(image, str) else image.data).hexdigest()
        canonical = json.dumps(
            {
                "dialect": self.dialect,
                "model": self.model,
                "prompt": self.prompt,
                "image": image_digest,
                "prompt_optimizer": self.prompt_optimizer,
                "options": self.options,
                "callback_url": self.callback_url,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key(request: Request) -> str | None:
    """The `Idempotency-Key` header, checked: 1 to 255 printable ASCII characters."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not all(" " <= ch <= "~" for ch in key):
        raise InvalidInput("Idempotency-Key", f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters")
    return key


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def check_declared_length(request: Request, *, max_bytes: int) -> None:
    """413 before reading anything when the declared Content-Length is over `max_bytes`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise InvalidInput("body", f"is {int(declared)} bytes; at most {max_bytes} bytes are allowed", status_code=413)


async def capped_stream(request: Request, *, max_bytes: int) -> AsyncGenerator[bytes, None]:
    """The body's chunks, stopped with a 413 as soon as more than `max_bytes` have arrived (chunked bodies
    declare no length)."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise InvalidInput("body", f"exceeds {max_bytes} bytes", status_code=413)
        yield chunk


async def read_json_object(request: Request, *, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object, read with a size cap; every failure is an `InvalidInput`."""
    check_declared_length(request, max_bytes=max_bytes)
    raw = b"".join([chunk async for chunk in capped_stream(request, max_bytes=max_bytes)])
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
    _check_storable(value)
    return value


def storable_text(value: str, field: str) -> str:
    """`value` when a database can store it (`domain.text.unstorable`); otherwise an `InvalidInput` naming
    `field`, instead of the 500 the insert (or a lookup) would end in."""
    rule = unstorable(value)
    if rule is not None:
        raise InvalidInput(field, rule)
    return value


def _check_storable(body: dict[str, Any]) -> None:
    """Every string in `body` (keys too) is `storable_text`, named by its path (`input_reference.image_url`)."""
    pending: list[tuple[Any, str]] = [(body, "")]
    while pending:
        value, path = pending.pop()
        if isinstance(value, str):
            storable_text(value, path or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                storable_text(str(key), name)
                pending.append((item, name))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{index}]") for index, item in enumerate(value))


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
