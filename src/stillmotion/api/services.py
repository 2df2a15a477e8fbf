"""What every dialect shares: the store, links, image intake, and the one way a job is created."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from stillmotion.api import bodies
from stillmotion.api.admission import Admission
from stillmotion.api.limits import unfinished_jobs_exceeded
from stillmotion.core import Core
from stillmotion.domain import InvalidInput, Job, JobSpec, UnfinishedCapReached
from stillmotion.domain.options import check_render_options
from stillmotion.logs import current_request_id
from stillmotion.media import intake
from stillmotion.media.intake import CropTo, FirstFrame

M = TypeVar("M", bound=BaseModel)
_log = logging.getLogger("stillmotion.api")


@dataclass
class Services(Core):
    """The `Core` with what the API adds: the one create pipeline of every dialect, and what creates in progress
    may hold at once in this process (cap places, network slots, the decode budget)."""

    admission: Admission = field(init=False)

    def __post_init__(self) -> None:
        self.admission = Admission.from_settings(self.settings)

    @classmethod
    def of(cls, core: Core) -> Services:
        """The API's services over the parts `core` holds (the same store, storage and fetcher, not copies)."""
        return cls(**{part.name: getattr(core, part.name) for part in fields(Core)})

    async def create_job(self, request: CreateRequest, *, before_insert: Callable[[], None] | None = None) -> Job:
        """The one create pipeline of every dialect (each only parses its wire format and renders the answer):

        1. With an `Idempotency-Key`, the job made earlier with that key and the same request is returned as is
           (`Conflict` for another request), before anything else: a replay is never refused.
        2. A place under the key's cap of unfinished jobs is reserved (`RateLimited` when there is none), counting
           the jobs stored and the creates in progress in this process.
        3. The model, then the callback URL: checked (its host resolved and judged), not contacted.
        4. The image: downloaded (a URL) on a network slot, checked and decoded within the decode budget, and
           cropped when the request asks for it (`crop_to`, whose size becomes the `width`/`height` options).
        5. `before_insert` (MiniMax's callback handshake; blocking) on a network slot: a request that is refused
           anyway contacts nobody.
        6. The insert, which counts the cap again atomically (other processes' creates are only seen there).

        Whatever fails, nothing is stored and the reserved place is given back.
        """
        tenant = request.tenant
        fingerprint = None
        if request.idempotency_key is not None:
            earlier, fingerprint = await run_in_threadpool(self._find_replay, request, request.idempotency_key)
            if earlier is not None:
                return earlier
        cap = self.settings.max_unfinished_jobs
        count_stored = functools.partial(run_in_threadpool, self.store.count_unfinished, tenant)
        async with self.admission.unfinished.reserve(tenant, cap=cap, count_stored=count_stored):
            engine = self.models.engine(request.model)  # before any fetch: an unknown model costs no download
            # The dialects parse their own fields; the bounds are the same for all (and the command line's).
            check_render_options(
                duration_s=request.options.get("duration"),
                fps=request.options.get("fps"),
                seed=request.options.get("seed"),
            )
            if request.callback_url is not None and len(request.callback_url) > MAX_CALLBACK_URL:
                raise InvalidInput("callback_url", f"must be at most {MAX_CALLBACK_URL} characters long")
            try:
                frame, crop_size = await self._first_frame(request)
            except InvalidInput as exc:
                raise _named(exc, request.image_field) from None
            if before_insert is not None:
                await self.admission.network.run(tenant, before_insert)
            options = dict(request.options)
            if crop_size is not None:
                options["width"], options["height"] = crop_size
            spec = JobSpec(
                tenant=tenant,
                model=request.model,
                engine=engine,
                prompt=request.prompt,
                image=frame.data,
                image_format=frame.format,
                image_width=frame.width,
                image_height=frame.height,
                prompt_optimizer=request.prompt_optimizer,
                options=options,
                dialect=request.dialect,
                callback_url=request.callback_url,
                idempotency_key=request.idempotency_key,
                request_hash=fingerprint,
                request_id=request.request_id or current_request_id(),
            )
            try:
                job = await run_in_threadpool(functools.partial(self.store.create, spec, cap=cap))
            except UnfinishedCapReached as exc:
                raise unfinished_jobs_exceeded(exc.cap, exc.unfinished) from None
        _log.info("job %s created (%s, model %s)", job.id, job.dialect, job.model, extra={"job_id": job.id})
        return job

    def _find_replay(self, request: CreateRequest, key: str) -> tuple[Job | None, str]:
        # The digest covers the image (up to 20 MB): computed here, off the event loop, with the lookup.
        fingerprint = request.fingerprint()
        return self.store.find_idempotent(request.tenant, key, fingerprint), fingerprint

    async def _first_frame(self, request: CreateRequest) -> tuple[FirstFrame, tuple[int, int] | None]:
        """Steps 3 and 4 of `create_job` past the model: the callback URL checked and the image downloaded on one
        network slot, then the image checked and decoded within the decode budget; (the frame to store, the size
        it was cropped to). The decoded pixels are gone once this returns."""
        tenant = request.tenant
        image = request.first_frame_image
        url = image.strip() if isinstance(image, str) and intake.is_url(image) else None
        downloaded: bytes | None = None
        if request.callback_url is not None or url is not None:
            downloaded = await self.admission.network.run(
                tenant, functools.partial(self._check_callback_and_fetch, request.callback_url, url)
            )
        sent = downloaded if downloaded is not None else image
        decodes = self.admission.decodes
        plan = await decodes.run_small(functools.partial(_plan, sent, request.crop_to))
        frame = await decodes.run(plan.decoded_pixels, functools.partial(intake.decode, plan))
        return frame, plan.crop_size

    def _check_callback_and_fetch(self, callback_url: str | None, image_url: str | None) -> bytes | None:
        if callback_url is not None:
            self.fetcher.check_url(callback_url, field="callback_url")
        return None if image_url is None else self.fetcher.fetch(image_url)

    async def read_json(self, request: Request) -> dict[str, Any]:
        """The request body as a JSON object (`bodies.read_json_object`): capped, parsed off the event loop."""
        return await bodies.read_json_object(
            request, max_bytes=self.settings.max_request_bytes, limiter=self.admission.parsing
        )

    async def read_form(self, request: Request, *, max_fields: int, max_files: int) -> FormData:
        """The request body as multipart/form-data (`bodies.read_form`); the caller closes it."""
        return await bodies.read_form(
            request,
            max_bytes=self.settings.max_request_bytes,
            max_fields=max_fields,
            max_files=max_files,
            limiter=self.admission.parsing,
        )

    async def read_job(self, job_id: str, *, tenant: str) -> Job:
        """One job as its owner sees it (`as_seen`), read on the event loop where the store can (SQLite,
        PostgreSQL): under load a hand-off to a worker thread costs more than the read itself."""
        if self.store.polls_on_loop:
            job = await self.store.get_on_loop(job_id, tenant=tenant)
        else:
            job = await run_in_threadpool(self.store.get, job_id, tenant=tenant)
        return self.as_seen(job)

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
    base64) or the bytes of an uploaded file; `crop_to` reshapes the frame before it is stored; errors about the
    image name it `image_field`, as the dialect's clients know it."""

    tenant: str
    dialect: str
    model: str
    prompt: str
    first_frame_image: str | bytes
    prompt_optimizer: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    callback_url: str | None = None
    idempotency_key: str | None = None
    crop_to: CropTo | None = None
    image_field: str = intake.FIELD
    request_id: str | None = None  # not part of the fingerprint: a retry is a new request for the same job

    def fingerprint(self) -> str:
        """A digest of everything the request asked for: the same request gives the same digest."""
        image = self.first_frame_image
        image_digest = hashlib.sha256(image.encode() if isinstance(image, str) else image).hexdigest()
        asked: dict[str, Any] = {
            "dialect": self.dialect,
            "model": self.model,
            "prompt": self.prompt,
            "image": image_digest,
            "prompt_optimizer": self.prompt_optimizer,
            "options": self.options,
            "callback_url": self.callback_url,
        }
        if self.crop_to is not None:  # only when asked for, so the digests of requests without one stay as they were
            asked["crop_to"] = [self.crop_to.landscape, self.crop_to.portrait]
        canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _plan(sent: str | bytes, crop_to: CropTo | None) -> intake.DecodePlan:
    data = intake.inline_or_url(sent) if isinstance(sent, str) else sent
    if isinstance(data, str):  # pragma: no cover - URLs were downloaded before this step
        raise AssertionError("an image URL reached the decode step")
    return intake.plan_decode(data, crop_to=crop_to)


def _named(exc: InvalidInput, image_field: str) -> InvalidInput:
    """The shared intake names the image `first_frame_image`; a dialect's clients may know it by another name."""
    if exc.field == intake.FIELD and image_field != intake.FIELD:
        return InvalidInput(image_field, exc.rule, status_code=exc.status_code)
    return exc


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
