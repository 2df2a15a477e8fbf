"""`create_app(settings)`: builds everything the HTTP side needs; no module-level app or settings."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.errors import ServerErrorMiddleware

from stillmotion._version import __version__
from stillmotion.api import aimlapi, docs, health, media, metrics, minimax, openai_models, openai_videos, page
from stillmotion.api.auth import Authenticator
from stillmotion.api.bodies import check_request_text
from stillmotion.api.connections import ShedOverCapacity
from stillmotion.api.errors import ErrorShapes, install_error_handlers
from stillmotion.api.head import HeadAsGet
from stillmotion.api.health import HealthChecks
from stillmotion.api.hot import FastAPIWithHotRoutes, HotHandler, HotRoute, HotRoutes
from stillmotion.api.limits import RateLimiter
from stillmotion.api.metrics import HttpMetrics, ObserveRequests
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.core import build_core
from stillmotion.domain import ModelRegistry
from stillmotion.jobs import JobStore

# Each wire format is one module with the same parts: `DIALECT` (its name on stored jobs), `PREFIXES` (the
# paths whose errors it shapes), `router`, `render_error` and `render_event` (a webhook body for a job).
DIALECTS = (aimlapi, minimax, openai_videos)


def build_services(settings: Settings, *, store: JobStore | None = None) -> Services:
    """Everything the routes and workers share (`core.build_core`), with the API's create pipeline. A bad models
    file raises `ModelsFileError` before anything is opened."""
    return Services.of(build_core(settings, store=store))


def _document_models(app: FastAPI, models: ModelRegistry) -> None:
    """The OpenAPI schema lists this server's model ids (a models file adds some) where a dialect enumerates them."""
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build_schema()
            openai_videos.document_models(schema, models)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _hot_routes() -> list[HotRoute]:
    """Each dialect's `HOT_GETS` (route path -> handler), matched to the GET routes they stand in for."""
    found: list[HotRoute] = []
    for dialect in DIALECTS:
        wanted: dict[str, HotHandler] = dict(getattr(dialect, "HOT_GETS", {}))
        for route in dialect.router.routes:  # the routers have no prefix: their paths are the app's
            if isinstance(route, APIRoute) and route.path in wanted and "GET" in (route.methods or ()):
                found.append(HotRoute.for_route(route, wanted.pop(route.path)))
        assert not wanted, f"{dialect.DIALECT}: HOT_GETS names paths with no GET route: {sorted(wanted)}"
    return found


def create_app(settings: Settings, *, services: Services | None = None, hot_polls: bool = True) -> FastAPI:
    """The app. `hot_polls=False` leaves status polls to FastAPI's routing (tests compare the two paths)."""
    svc = services or build_services(settings)
    app = FastAPIWithHotRoutes(
        # Ids and cursors a database cannot hold (a NUL) are refused by name, before any route reads them.
        dependencies=[Depends(check_request_text)],
        title="stillmotion",
        version=__version__,
        description="Turns one still image and a prompt into a short video, behind the hosted APIs' wire formats.",
        # /docs and /redoc are `api.docs`'s, from files in the package (FastAPI's load their scripts from a CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = svc
    app.state.health_checks = HealthChecks(svc)
    app.state.authenticator = Authenticator(svc.store, env_keys=settings.env_api_keys())
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_min)
    app.state.http_metrics = HttpMetrics()
    shapes = ErrorShapes(default=aimlapi.render_error)
    for dialect in DIALECTS:
        for prefix in dialect.PREFIXES:
            shapes.register(prefix, dialect.render_error)
        app.include_router(dialect.router)
    # OpenAI's Models API answers in OpenAI's error shape, as its Videos API does.
    for prefix in openai_models.PREFIXES:
        shapes.register(prefix, openai_videos.render_error)
    app.include_router(openai_models.router)
    install_error_handlers(app, shapes)
    app.add_middleware(HeadAsGet)  # inside the request log (which records the HEAD)
    app.add_middleware(ShedOverCapacity, shapes=shapes)  # `serve`'s connections past the cap: 503, counted
    # Added last, so outermost: the request id, metrics and access log. The access log line is INFO in JSON mode
    # (for log pipelines) and DEBUG, so silent, in text mode.
    access_level = logging.INFO if settings.log_format == "json" else logging.DEBUG
    app.add_middleware(ObserveRequests, metrics=app.state.http_metrics, access_log_level=access_level)
    if hot_polls:
        # The status polls skip the framework's layers: the same layers as above, in the same order, around
        # the hot routes, and the app's catch-all error answer outside them as FastAPI places it.
        hot = HotRoutes(routes=_hot_routes(), shapes=shapes)
        shed = ShedOverCapacity(hot, shapes=shapes)
        chain = ObserveRequests(shed, metrics=app.state.http_metrics, access_log_level=access_level)
        app.serve_hot(hot, ServerErrorMiddleware(chain, handler=app.exception_handlers[Exception]))
    _document_models(app, svc.models)
    app.include_router(media.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(page.router)
    app.include_router(docs.router)
    return app
