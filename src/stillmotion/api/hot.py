"""A short path through the app for the status polls, the requests clients send most (every few seconds per job).

FastAPI's routing walks every route of every router and resolves each handler's parameters; for a status poll
that machinery costs more CPU than the poll's own work (the key check, one point read, the JSON answer). Here a
plain ASGI layer answers `GET` on the poll paths straight from a handler that reads the request itself. It sits
inside `ObserveRequests` (request ids, metrics, access log) and answers errors through the same error shapes as
the routed path; the routes stay registered for OpenAPI and any other method. Tests compare both paths' answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from stillmotion.api.errors import ANSWERED_ERRORS, ErrorShapes, api_error_for

HotHandler = Callable[[Request], Awaitable[Response]]


class HotRoutes:
    def __init__(
        self, app: ASGIApp, *, routes: Mapping[str, tuple[HotHandler, BaseRoute]], shapes: ErrorShapes
    ) -> None:
        self.app = app
        self.routes = dict(routes)  # path -> (handler, the registered route it stands in for)
        self.shapes = shapes
        self.answered = 0  # requests answered here (tests check that the short path is taken)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.routes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if hot is None:
            await self.app(scope, receive, send)
            return
        handler, route = hot
        self.answered += 1
        scope["route"] = route  # as the router would set it: metrics label requests by route
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except ANSWERED_ERRORS as exc:
            response = self.shapes.render(request, api_error_for(exc))
        await response(scope, receive, send)
