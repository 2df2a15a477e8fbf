"""A scripted HTTP peer for SDK unit tests: each request gets the next scripted answer (a response or an
exception to raise), and every request is recorded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

BASE = "http://sm.test"
PATH = "/v2/generate/video/minimax/generation"

Answer = httpx.Response | Exception


def aiml_error(status: int, message: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
    """An error in the AI/ML API's shape."""
    body = {
        "message": message,
        "path": PATH,
        "requestId": "00000000-0000-0000-0000-000000000000",
        "statusCode": status,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    return httpx.Response(status, json=body, headers=headers)


def poll(status: str, *, gid: str = "42", progress: int | None = None, url: str | None = None,
         error: dict[str, str] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"id": gid, "status": status, "video": {"url": url} if url else None, "error": error}
    if progress is not None:
        body["progress"] = progress
    return httpx.Response(200, json=body)


class Script:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def _next(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.answers, f"unscripted request: {request.method} {request.url}"
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._next)

    def async_transport(self) -> httpx.MockTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            await request.aread()
            return self._next(request)

        return httpx.MockTransport(handle)

    def json_of(self, index: int) -> Any:
        return json.loads(self.requests[index].content)


class BreaksMidBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that sends `head` and then loses the connection."""

    def __init__(self, head: bytes) -> None:
        self.head = head

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        raise httpx.ReadError("connection reset by peer")
