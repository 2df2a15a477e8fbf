"""`Client`: the blocking SDK for the AI/ML API's video generation routes (and stillmotion's extensions)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from stillmotion.client import _core
from stillmotion.client._core import DEFAULT_MODEL, ImageInput, RetryPolicy
from stillmotion.client.errors import (
    ApiError,
    GenerationFailed,
    NotFoundError,
    NotSupported,
    RateLimitError,
    WaitTimeout,
)
from stillmotion.client.models import Generation, generation_from_create, generation_from_poll

OnProgress = Callable[[Generation], object]


class Client:
    """Create, poll, wait for, download and cancel image-to-video generations.

    Works against a stillmotion server (`Client("http://127.0.0.1:8000", key)`) and against the hosted
    AI/ML API (`Client(api_key=key)`); with neither given, from `$STILLMOTION_BASE_URL` and
    `$STILLMOTION_API_KEY`. Use it as a context manager, or call `close()`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout_s: float = 30.0,
        max_retries: int = 3,
        retry_backoff_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url, api_key = _core.resolve(base_url, api_key)
        self._url = _core.generation_url(self.base_url)
        self._retry = RetryPolicy(max_retries=max_retries, backoff_s=retry_backoff_s)
        self._auth = _core.request_headers(api_key)
        self._http = httpx.Client(timeout=timeout_s, transport=transport, follow_redirects=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the wire ------------------------------------------------------------------------------------------

    def _send(self, request: httpx.Request, *, retryable: bool, stream: bool = False) -> httpx.Response:
        """Send with retries on transient failures; a non-2xx answer raises its typed `ApiError`."""
        attempt = 0
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if not self._retry.may_retry(attempt, retryable=retryable):
                    raise _core.connection_error(exc, str(request.url)) from exc
                time.sleep(self._retry.delay_s(attempt))
                attempt += 1
                continue
            if response.status_code in _core.TRANSIENT_STATUS and self._retry.may_retry(
                attempt, retryable=retryable
            ):
                response.close()
                time.sleep(self._retry.delay_s(attempt, _core.retry_after_s(response.headers)))
                attempt += 1
                continue
            if not response.is_success:
                try:
                    response.read()
                finally:
                    response.close()
                raise _core.error_for(response)
            return response

    def _json(self, method: str, *, retryable: bool, **kwargs: Any) -> Any:
        request = self._http.build_request(method, self._url, headers=self._auth, **kwargs)
        return _core.json_body(self._send(request, retryable=retryable))

    # -- the API -------------------------------------------------------------------------------------------

    def create(
        self,
        image: ImageInput,
        prompt: str,
        *,
        model: str = DEFAULT_MODEL,
        prompt_optimizer: bool = True,
        duration_s: float | None = None,
        fps: int | None = None,
        seed: int | None = None,
        loop: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Generation:
        """Start a generation. `image` is a path, bytes, or an http(s) URL / data: URI; files and bytes are
        sent inline as a data: URI. `duration_s`, `fps`, `seed` and `loop` are stillmotion extensions, sent
        only when given. With `idempotency_key`, a create that failed in transit is retried safely."""
        path = _core.image_path(image)
        wire_image = _core.image_to_wire(image, path.read_bytes() if path is not None else None)
        body = _core.create_body(
            wire_image,
            prompt,
            model=model,
            prompt_optimizer=prompt_optimizer,
            duration_s=duration_s,
            fps=fps,
            seed=seed,
            loop=loop,
        )
        headers = dict(self._auth)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        request = self._http.build_request("POST", self._url, json=body, headers=headers)
        response = self._send(request, retryable=idempotency_key is not None)
        return generation_from_create(_core.json_body(response))

    def get(self, generation_id: str | Generation) -> Generation:
        """The generation's current state (one poll)."""
        gid = _core.generation_id_of(generation_id)
        return generation_from_poll(self._json("GET", retryable=True, params={"generation_id": gid}))

    def cancel(self, generation_id: str | Generation) -> Generation:
        """Cancel a queued or running generation (a stillmotion extension); returns its state afterwards."""
        gid = _core.generation_id_of(generation_id)
        try:
            body = self._json("DELETE", retryable=True, params={"generation_id": gid})
        except NotFoundError:
            # A 404 means either "no such id" or "no such route": a poll tells which.
            self.get(gid)
            raise NotSupported(_core.no_cancel_message(self.base_url)) from None
        except ApiError as exc:
            if exc.status_code in _core.NOT_SUPPORTED_STATUS:
                raise NotSupported(_core.no_cancel_message(self.base_url)) from None
            raise
        return generation_from_poll(body)

    def wait(
        self,
        generation_id: str | Generation,
        *,
        on_progress: OnProgress | None = None,
        poll_interval_s: float = 2.0,
        timeout_s: float = 600.0,
    ) -> Generation:
        """Poll until the generation completes (returned) or fails (`GenerationFailed`); `on_progress` sees
        every poll. Gives up with `WaitTimeout` after `timeout_s`. A 429 waits as long as the server asks."""
        _core.check_wait_args(poll_interval_s, timeout_s)
        gid = _core.generation_id_of(generation_id)
        deadline = time.monotonic() + timeout_s
        last = generation_id if isinstance(generation_id, Generation) else Generation(id=gid, status="queued")
        while True:
            pause_s = poll_interval_s
            try:
                last = self.get(gid)
            except RateLimitError as exc:
                pause_s = max(poll_interval_s, exc.retry_after_s or 0.0)
            else:
                if on_progress is not None:
                    on_progress(last)
                if last.status == "completed":
                    return last
                if last.status == "error":
                    raise GenerationFailed(last)
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                raise WaitTimeout(last, timeout_s)
            time.sleep(min(pause_s, remaining_s))

    def download(self, generation_or_url: Generation | str, path: str | os.PathLike[str]) -> Path:
        """Stream the video to `path` (through a temporary file renamed into place, so `path` is either the
        whole video or untouched). Returns `path`."""
        url = _core.absolute_url(_core.video_url_of(generation_or_url), self.base_url)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The API key goes only to the API's own origin, never to a CDN that signed links point at.
        headers = self._auth if _core.same_origin(url, self.base_url) else {}
        request = self._http.build_request("GET", url, headers={"Accept": "*/*", **headers})
        attempt = 0
        while True:
            temp = _core.temp_path_for(target)
            try:
                response = self._send(request, retryable=True, stream=True)
                with contextlib.closing(response), temp.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 16):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, target)
                return target
            except httpx.TransportError as exc:
                # The connection broke mid-body: start over, as for any transient failure.
                temp.unlink(missing_ok=True)
                if not self._retry.may_retry(attempt, retryable=True):
                    raise _core.connection_error(exc, url) from exc
                time.sleep(self._retry.delay_s(attempt))
                attempt += 1
            except BaseException:
                temp.unlink(missing_ok=True)
                raise

    def generate(
        self,
        image: ImageInput,
        prompt: str,
        path: str | os.PathLike[str],
        *,
        model: str = DEFAULT_MODEL,
        prompt_optimizer: bool = True,
        duration_s: float | None = None,
        fps: int | None = None,
        seed: int | None = None,
        loop: bool | None = None,
        idempotency_key: str | None = None,
        on_progress: OnProgress | None = None,
        poll_interval_s: float = 2.0,
        timeout_s: float = 600.0,
    ) -> Generation:
        """create + wait + download: the video lands at `path`; returns the completed generation."""
        created = self.create(
            image,
            prompt,
            model=model,
            prompt_optimizer=prompt_optimizer,
            duration_s=duration_s,
            fps=fps,
            seed=seed,
            loop=loop,
            idempotency_key=idempotency_key,
        )
        if on_progress is not None:
            on_progress(created)
        done = self.wait(created, on_progress=on_progress, poll_interval_s=poll_interval_s, timeout_s=timeout_s)
        self.download(done, path)
        return done
