"""The parts of the SDK that do no I/O: the wire (URLs, bodies, error mapping) and the retry policy.

`Client` and `AsyncClient` differ only in how they wait and send; everything they decide is decided here.
"""

from __future__ import annotations

import base64
import email.utils
import math
import os
import random
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import httpx

from stillmotion.client.errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    UnexpectedResponse,
)
from stillmotion.client.models import Generation

DEFAULT_BASE_URL: Final = "https://api.aimlapi.com"
GENERATION_PATH: Final = "/v2/generate/video/minimax/generation"
DEFAULT_MODEL: Final = "video-01-live2d"
USER_AGENT: Final = "stillmotion-python"

# A path, raw bytes, or an http(s) URL / data: URI that the server reads itself.
ImageInput = str | os.PathLike[str] | bytes

TRANSIENT_STATUS: Final = frozenset({502, 503, 504})
NOT_SUPPORTED_STATUS: Final = frozenset({404, 405, 501})

_URI: Final = re.compile(r"^(https?|data):", re.IGNORECASE)
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC: Final = b"\xff\xd8\xff"


# The environment variables the SDK, the command line and the examples read: one name each.
API_KEY_ENV: Final = "STILLMOTION_API_KEY"
BASE_URL_ENV: Final = "STILLMOTION_BASE_URL"
# The key's earlier name (the examples read it): still read for one release, with a warning.
OLD_API_KEY_ENV: Final = "STILLMOTION_KEY"


def key_from_env() -> str | None:
    """`$STILLMOTION_API_KEY`, else (with a FutureWarning) the earlier `$STILLMOTION_KEY`; None when neither is set."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    if key:
        return key
    old = os.environ.get(OLD_API_KEY_ENV, "").strip()
    if old:
        warnings.warn(
            f"${OLD_API_KEY_ENV} is read for one more release: rename it to ${API_KEY_ENV}", FutureWarning, stacklevel=3
        )
        return old
    return None


def resolve(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    """The base URL and key a client uses: as given, else from `$STILLMOTION_BASE_URL` (default: the hosted AI/ML
    API) and `$STILLMOTION_API_KEY`; a `ValueError` when there is no key."""
    key = api_key or key_from_env()
    if not key:
        raise ValueError(
            f"api_key is required (the key your server or the AI/ML API gave you): pass it, or set ${API_KEY_ENV}"
        )
    base = base_url or os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
    return normalize_base_url(base), key


def normalize_base_url(base_url: str) -> str:
    """`https://api.aimlapi.com`, `https://api.aimlapi.com/` and `https://api.aimlapi.com/v2` (the form the
    hosted documentation's example uses) all name the same server."""
    base = base_url.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r} (got {base_url!r})")
    return base.removesuffix("/v2")


def generation_url(base_url: str) -> str:
    return base_url + GENERATION_PATH


def _mime_type(data: bytes) -> str:
    if data.startswith(_PNG_MAGIC):
        return "image/png"
    if data.startswith(_JPEG_MAGIC):
        return "image/jpeg"
    return "application/octet-stream"  # the server judges the bytes and names what it found


def data_uri(data: bytes) -> str:
    return f"data:{_mime_type(data)};base64,{base64.b64encode(data).decode('ascii')}"


def image_path(image: ImageInput) -> Path | None:
    """The file to read for `image`, or None when `image` goes on the wire as it is (bytes, URL, data URI)."""
    if isinstance(image, bytes | bytearray | memoryview):
        return None
    if isinstance(image, str) and _URI.match(image.strip()):
        return None
    if not isinstance(image, str | os.PathLike):
        raise TypeError(f"image must be a path, bytes, or an http(s) URL / data: URI string (got {type(image)})")
    path = Path(image)
    if not path.is_file():
        raise FileNotFoundError(f"image {str(image)!r} is not a file (nor an http(s) URL or data: URI)")
    return path


def image_to_wire(image: ImageInput, read: bytes | None = None) -> str:
    """The `first_frame_image` value: URLs and data URIs as given; bytes (or a file's `read` bytes) as a
    data URI."""
    if isinstance(image, bytes | bytearray | memoryview):
        return data_uri(bytes(image))
    if read is not None:
        return data_uri(read)
    assert isinstance(image, str), "paths are read by the caller"
    return image.strip()


def create_body(
    first_frame_image: str,
    prompt: str,
    *,
    model: str,
    prompt_optimizer: bool,
    duration_s: float | None,
    fps: int | None,
    seed: int | None,
    loop: bool | None,
) -> dict[str, Any]:
    """The hosted API's documented body; stillmotion's extension fields only when the caller set them."""
    body: dict[str, Any] = {
        "model": model,
        "prompt": prompt,
        "prompt_optimizer": prompt_optimizer,
        "first_frame_image": first_frame_image,
    }
    extensions = {"duration": duration_s, "fps": fps, "seed": seed, "loop": loop}
    body.update({name: value for name, value in extensions.items() if value is not None})
    return body


def request_headers(api_key: str) -> dict[str, str]:
    from stillmotion._version import __version__

    return {
        "Authorization": f"Bearer {api_key}",
        "Accept": "application/json",
        "User-Agent": f"{USER_AGENT}/{__version__}",
    }


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def absolute_url(url: str, base_url: str) -> str:
    return urljoin(base_url + "/", url)


def retry_after_s(headers: httpx.Headers) -> float | None:
    """`Retry-After` as seconds from now: either delay-seconds or an HTTP date."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _message(body: Any, text: str, status_code: int) -> str:
    if isinstance(body, dict):
        # The AI/ML API's `{"message", "path", "requestId", "statusCode", "timestamp"}` first; then the
        # shapes other servers use.
        for candidate in (body.get("message"), body.get("detail"), body.get("error")):
            if isinstance(candidate, dict):
                candidate = candidate.get("message")
            if isinstance(candidate, str) and candidate:
                return candidate
    text = text.strip()
    return text[:500] if text else f"the server answered {status_code} with no explanation"


def error_for(response: httpx.Response) -> ApiError:
    """The typed error for a non-2xx response (whose body has been read)."""
    text = response.text
    try:
        body: Any = response.json()
    except ValueError:
        body = text
    status = response.status_code
    message = _message(body, text, status)
    if status == 401:
        return AuthenticationError(status, message, body)
    if status == 404:
        return NotFoundError(status, message, body)
    if status in (400, 413, 422):
        return BadRequestError(status, message, body)
    if status == 429:
        return RateLimitError(status, message, body, retry_after_s=retry_after_s(response.headers))
    return ApiError(status, message, body)


def connection_error(exc: httpx.TransportError, url: str) -> ApiConnectionError:
    where = urlsplit(url)
    target = f"{where.scheme}://{where.netloc}"
    if isinstance(exc, httpx.TimeoutException):
        return ApiTimeoutError(f"no answer from {target} in time ({type(exc).__name__}); raise timeout_s?")
    return ApiConnectionError(f"could not talk to {target}: {exc or type(exc).__name__}")


@dataclass(frozen=True)
class RetryPolicy:
    """Transient failures (a broken connection, 502/503/504) are retried `max_retries` times, waiting
    `backoff_s`, then twice that, ... (at most `max_backoff_s`, with jitter), or what `Retry-After` asks."""

    max_retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be at least 0 (got {self.max_retries})")
        if self.backoff_s < 0:
            raise ValueError(f"retry_backoff_s must be at least 0 (got {self.backoff_s})")

    def delay_s(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff_s)
        exponential: float = min(self.backoff_s * 2.0**attempt, self.max_backoff_s)
        # Jitter keeps many clients from retrying in lockstep after one outage.
        return exponential * random.uniform(0.5, 1.0)

    def may_retry(self, attempt: int, *, retryable: bool) -> bool:
        return retryable and attempt < self.max_retries


def check_wait_args(poll_interval_s: float, timeout_s: float) -> None:
    if not poll_interval_s > 0:
        raise ValueError(f"poll_interval_s must be greater than 0 (got {poll_interval_s})")
    if not timeout_s >= 0:
        raise ValueError(f"timeout_s must be at least 0 (got {timeout_s})")


def temp_path_for(path: Path) -> Path:
    """A sibling of `path`, so that the final rename stays on one file system and is atomic."""
    return path.with_name(f".{path.name}.{os.getpid()}.{random.getrandbits(32):08x}.part")


def generation_id_of(generation: str | Generation) -> str:
    gid = generation.id if isinstance(generation, Generation) else generation
    if not isinstance(gid, str) or not gid.strip():
        raise ValueError(f"generation_id must be a non-empty string (got {gid!r})")
    return gid


def video_url_of(generation_or_url: Generation | str) -> str:
    if isinstance(generation_or_url, str):
        return generation_or_url
    if generation_or_url.video_url is None:
        raise ValueError(
            f"generation {generation_or_url.id} has no video to download (status {generation_or_url.status}); "
            "wait() for it to complete first"
        )
    return generation_or_url.video_url


def no_cancel_message(base_url: str) -> str:
    return (
        f"{base_url} has no cancel route (DELETE {GENERATION_PATH}); cancelling is a stillmotion extension "
        "that the hosted AI/ML API does not offer"
    )


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UnexpectedResponse(
            f"{response.request.method} {response.request.url} answered {response.status_code} "
            "with a body that is not JSON"
        ) from None
