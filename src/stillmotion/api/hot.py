"""A short path through the app for the status polls, the requests clients send most (every few seconds per job).

FastAPI's routing walks every route of every router and resolves each handler's parameters, and every request
passes the framework's own layers (its telemetry and body-limit wrappers, the error and exception middlewares)
before and after the app's; for a status poll that machinery costs more CPU than the poll's own work (the key
check, one point read, the JSON answer). Here `FastAPIWithHotRoutes` answers `GET` on each dialect's status
routes (a dialect module's `HOT_GETS`: route path -> handler) at its front door, from a handler that reads the
request itself, through a chain of the app's own layers that a poll needs: the catch-all error answer, request
ids, metrics and the access log (`ObserveRequests`), and the connection cap (`ShedOverCapacity`). Errors are
answered in the same shapes as on the routed path; the routes stay registered for OpenAPI and any other method
(a HEAD of a poll goes the routed way). Tests compare both paths' answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from stillmotion.api.bodies import check_request_text
from stillmotion.api.errors import ANSWERED_ERRORS, ErrorShapes, api_error_for

HotHandler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class HotRoute:
    """A GET route answered here: a fixed path, or `prefix{param}` where the rest of the path (one segment)
    becomes `request.path_params[param]`, as Starlette's `{param}` would."""

    path: str
    handler: HotHandler
    route: BaseRoute  # the registered route it stands in for
    param: str | None = None

    @classmethod
    def for_route(cls, route: BaseRoute, handler: HotHandler) -> HotRoute:
        template = str(getattr(route, "path", ""))
        if "{" not in template:
            return cls(template, handler, route)
        prefix, _, rest = template.partition("{")
        param, _, after = rest.partition("}")
        if after or not prefix.endswith("/") or ":" in param:
            raise ValueError(f"only a final `{{param}}` segment is supported, not {template!r}")
        return cls(prefix, handler, route, param)


class HotRoutes:
    """Matches the hot routes (`match`) and answers a matched request (an ASGI app for matched scopes only)."""

    def __init__(self, *, routes: Iterable[HotRoute], shapes: ErrorShapes) -> None:
        self.fixed = {hot.path: hot for hot in routes if hot.param is None}
        self.prefixed = [hot for hot in routes if hot.param is not None]
        self.shapes = shapes
        self.answered = 0  # requests answered here (tests check that the short path is taken)

    def match(self, scope: Scope) -> HotRoute | None:
        """The hot route for `scope`, kept in the scope (with the path parameter) for `__call__`; None for any
        other request."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        path: str = scope["path"]
        hot = self.fixed.get(path)
        if hot is None:
            for candidate in self.prefixed:
                if path.startswith(candidate.path):
                    rest = path[len(candidate.path) :]
                    if rest and "/" not in rest:
                        scope["path_params"] = {candidate.param: rest}
                        hot = candidate
                        break
        if hot is not None:
            scope[_MATCHED] = hot
        return hot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot: HotRoute = scope[_MATCHED]
        self.answered += 1
        scope["route"] = hot.route  # as the router would set it: metrics label requests by route
        request = Request(scope, receive)
        try:
            check_request_text(request)
            response = await hot.handler(request)
        except ANSWERED_ERRORS as exc:
            response = self.shapes.render(request, api_error_for(exc))
        await response(scope, receive, send)


_MATCHED = "stillmotion.hot_route"


class FastAPIWithHotRoutes(FastAPI):
    """A FastAPI app that answers the hot routes through `hot_chain` (the layers a poll needs, ending in
    `hot_routes`) instead of its full stack. Without `serve_hot` it is a plain FastAPI app."""

    hot_routes: HotRoutes | None = None
    hot_chain: ASGIApp | None = None

    def serve_hot(self, routes: HotRoutes, chain: ASGIApp) -> None:
        self.hot_routes, self.hot_chain = routes, chain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hot_chain is not None and self.hot_routes is not None and self.hot_routes.match(scope) is not None:
            scope["app"] = self  # as Starlette sets it: handlers reach `app.state` through the request
            if self.root_path:
                scope["root_path"] = self.root_path
            await self.hot_chain(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
