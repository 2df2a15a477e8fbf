"""The one place where domain errors become HTTP status codes; each dialect supplies its own error body."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from stillmotion.domain import (
    Conflict,
    Forbidden,
    InvalidInput,
    JobNotFound,
    QueueFull,
    StillmotionError,
    Unauthorized,
)
from stillmotion.domain.errors import RateLimited
from stillmotion.jobs import DatabaseUnavailable

log = logging.getLogger("stillmotion.api")


@dataclass(frozen=True)
class ApiError:
    status_code: int
    message: str
    headers: dict[str, str] | None = None


# A dialect's error body: (request, error) -> response.
ErrorRenderer = Callable[[Request, ApiError], JSONResponse]


# The job database is down, restarting, out of connections or locked for too long: a retry may work (503).
_DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.TimeoutError,
)
# Errors answered with a 4xx or 503 (a handled outcome, not a bug): everything else is a logged 500. A client
# that went away mid-body (or was cut off for sending it too slowly) is answered too, though nobody hears it.
ANSWERED_ERRORS: tuple[type[Exception], ...] = (StillmotionError, ClientDisconnect, *_DATABASE_UNAVAILABLE)


def api_error_for(exc: Exception) -> ApiError:
    if isinstance(exc, InvalidInput):
        return ApiError(exc.status_code, str(exc))
    if isinstance(exc, Unauthorized):
        return ApiError(401, str(exc) or "a valid API key is required", {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, Forbidden):
        return ApiError(403, str(exc))
    if isinstance(exc, JobNotFound):
        return ApiError(404, str(exc))
    if isinstance(exc, Conflict):
        return ApiError(409, str(exc))
    if isinstance(exc, RateLimited):
        return ApiError(429, str(exc), {"Retry-After": str(exc.retry_after_s)})
    if isinstance(exc, QueueFull):
        return ApiError(503, str(exc) or "the service is busy; try again later", {"Retry-After": "5"})
    if isinstance(exc, ClientDisconnect):
        return ApiError(408, "the request body did not arrive")
    if isinstance(exc, _DATABASE_UNAVAILABLE):
        log.warning("job database unavailable: %s", exc)
        return ApiError(503, "the job database is unavailable right now; try again shortly", {"Retry-After": "2"})
    log.exception("unhandled error", exc_info=exc)
    return ApiError(500, "internal error")


def _message_for_validation(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    field = ".".join(location) or "request"
    if first.get("type") == "missing":
        return f"`{field}` is required"
    return f"`{field}` {first.get('msg', 'is invalid').lower()}"


class ErrorShapes:
    """Chooses the error body by the request path's dialect; the first matching prefix wins."""

    def __init__(self, default: ErrorRenderer) -> None:
        self._default = default
        self._by_prefix: list[tuple[str, ErrorRenderer]] = []

    def register(self, prefix: str, renderer: ErrorRenderer) -> None:
        self._by_prefix.append((prefix, renderer))

    def render(self, request: Request, error: ApiError) -> JSONResponse:
        for prefix, renderer in self._by_prefix:
            if request.url.path.startswith(prefix):
                return renderer(request, error)
        return self._default(request, error)


def install_error_handlers(app: FastAPI, shapes: ErrorShapes) -> None:
    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        return shapes.render(request, api_error_for(exc))

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return shapes.render(request, ApiError(400, _message_for_validation(exc)))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return shapes.render(request, ApiError(exc.status_code, detail, dict(exc.headers or {}) or None))

    # Named, not left to the catch-all below, so that they are answered without being re-raised as a 500 is.
    for answered in ANSWERED_ERRORS:
        app.add_exception_handler(answered, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_domain_error)
