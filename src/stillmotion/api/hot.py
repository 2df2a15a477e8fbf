"""A short path through the app for the status polls, the requests clients send most (every few seconds per job).

FastAPI's routing walks every route of every router and resolves each handler's parameters; for a status poll
that machinery costs more CPU than the poll's own work (the key check, one point read, the JSON answer). Here a
plain ASGI layer answers `GET` on each dialect's status routes (a dialect module's `HOT_GETS`: route path ->
handler) straight from a handler that reads the request itself. It sits inside `ObserveRequests` (request ids,
metrics, access log) and answers errors through the same error shapes as the routed path; the routes stay
registered for OpenAPI and any other method. Tests compare both paths' answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

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
    def __init__(self, app: ASGIApp, *, routes: Iterable[HotRoute], shapes: ErrorShapes) -> None:
        self.app = app
        self.fixed = {hot.path: hot for hot in routes if hot.param is None}
        self.prefixed = [hot for hot in routes if hot.param is not None]
        self.shapes = shapes
        self.answered = 0  # requests answered here (tests check that the short path is taken)

    def _match(self, scope: Scope) -> HotRoute | None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        path: str = scope["path"]
        hot = self.fixed.get(path)
        if hot is not None:
            return hot
        for candidate in self.prefixed:
            if path.startswith(candidate.path):
                rest = path[len(candidate.path) :]
                if rest and "/" not in rest:
                    scope["path_params"] = {candidate.param: rest}
                    return candidate
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self._match(scope)
        if hot is None:
            await self.app(scope, receive, send)
            return
        self.answered += 1
        scope["route"] = hot.route  # as the router would set it: metrics label requests by route
        request = Request(scope, receive)
        try:
            check_request_text(request)
            response = await hot.handler(request)
        except ANSWERED_ERRORS as exc:
            response = self.shapes.render(request, api_error_for(exc))
        await response(scope, receive, send)
