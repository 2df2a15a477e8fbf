"""What the SDK raises. Every error derives from `ClientError`, so one `except` can catch them all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stillmotion.client.models import Generation


class ClientError(Exception):
    """Base of every error the stillmotion SDK raises."""


class ApiError(ClientError):
    """The server answered with an error status. `message` is the server's own explanation, `body` the
    decoded JSON body (or the text when it was not JSON)."""

    def __init__(self, status_code: int, message: str, body: Any = None) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.body = body


class BadRequestError(ApiError):
    """400, 413 or 422: a field breaks a rule; the message names the field and the rule."""


class AuthenticationError(ApiError):
    """401: the API key is missing or not valid."""


class NotFoundError(ApiError):
    """404: no such generation for this API key."""


class RateLimitError(ApiError):
    """429: too many requests. `retry_after_s` is the server's hint, when it gave one."""

    def __init__(self, status_code: int, message: str, body: Any = None, *, retry_after_s: float | None = None) -> None:
        super().__init__(status_code, message, body)
        self.retry_after_s = retry_after_s


class ApiConnectionError(ClientError, ConnectionError):
    """The server could not be reached, or the connection broke, after every retry."""


class ApiTimeoutError(ApiConnectionError, TimeoutError):
    """A request got no answer within the client's `timeout_s`, after every retry."""


class UnexpectedResponse(ClientError, ValueError):
    """A 2xx answer whose body is not the shape the AI/ML API documents."""


class NotSupported(ClientError):
    """The server does not offer this operation (e.g. the hosted API has no cancel route)."""


class GenerationFailed(ClientError):
    """The generation ended in `error`; `generation` carries the server's error name and message."""

    def __init__(self, generation: Generation) -> None:
        error = generation.error
        reason = f"{error.name}: {error.message}" if error is not None else "no reason given"
        super().__init__(f"generation {generation.id} failed ({reason})")
        self.generation = generation


class WaitTimeout(ClientError, TimeoutError):
    """`wait()` gave up before the generation finished; `generation` is the last state seen."""

    def __init__(self, generation: Generation, timeout_s: float) -> None:
        super().__init__(
            f"generation {generation.id} is still {generation.status} after {timeout_s:g} s; "
            "wait again with the same id, or pass a larger timeout_s"
        )
        self.generation = generation
        self.timeout_s = timeout_s
