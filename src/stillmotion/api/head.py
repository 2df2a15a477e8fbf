"""HEAD wherever GET is served (`HeadAsGet`). FastAPI routes answer only the methods they declare, and the hot
poll path (`api.hot`) only GET, so a HEAD (a monitor's health check, a client that checks a signed link before
downloading it) got a 405. Here a HEAD is routed as the GET it stands for, and the response goes out with the
GET's status and headers (its Content-Length included, as HTTP asks) and no body. Routes that serve videos look at
`is_head` and answer from the file's size alone, so a HEAD never reads the video."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import FileResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Set in the scope of a HEAD routed as GET.
_HEAD = "stillmotion.head"


def is_head(request: Request) -> bool:
    """Whether this GET stands for a HEAD: only the headers will be sent."""
    return bool(request.scope.get(_HEAD))


class VideoFileResponse(FileResponse):
    """A `FileResponse` that answers a HEAD routed as GET (`is_head`) from the file's size, without reading it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__({**scope, "method": "HEAD"} if scope.get(_HEAD) else scope, receive, send)


class HeadAsGet:
    """ASGI middleware: HEAD requests are answered as GET, without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def headers_only(message: Message) -> None:
            nonlocal finished
            if message["type"] != "http.response.body":
                await send(message)
            elif not finished and not message.get("more_body", False):
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET", _HEAD: True}, receive, headers_only)
