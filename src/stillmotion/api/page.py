"""The web page at `/`: plain HTML, CSS and JS served from `api/static/`, no build step.

`index.html` is a small template: `{{asset:NAME}}` becomes the asset's versioned URL (its content digest in the
query, so the browser may keep it for a year), `{{min_duration}}`-style names become the bounds every dialect
enforces, so the form's limits cannot drift from the server's, and `{{model_options}}` lists this server's
models (the built-in one and the models file's).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from stillmotion.api.services import Services
from stillmotion.domain import MODEL_ENGINES, ModelRegistry
from stillmotion.domain.options import DEFAULT_FPS, MAX_DURATION_S, MAX_FPS, MAX_SEED, MIN_DURATION_S, MIN_FPS

STATIC_DIR = Path(__file__).with_name("static")

# The only files served; anything else under /static is a 404, so no path ever reaches the file system.
ASSET_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}

# The page revalidates on every load (it is tiny and names the current asset versions); a versioned asset
# never changes under its URL.
PAGE_CACHE = "no-cache"
VERSIONED_ASSET_CACHE = "public, max-age=31536000, immutable"
UNVERSIONED_ASSET_CACHE = "no-cache"

_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)(?::([a-z0-9_.]+))?\}\}")

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    digest: str  # first 16 hex digits of the body's SHA-256: the version in URLs and the ETag

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


def read_static(path: Path, media_type: str) -> StaticFile:
    """The file at `path`, served as `media_type`, with its digest."""
    body = path.read_bytes()
    return StaticFile(body=body, media_type=media_type, digest=_digest(body))


@cache
def asset(name: str) -> StaticFile:
    return read_static(STATIC_DIR / name, ASSET_TYPES[name])


# The page's own model: the seed API's name for the built-in engine. The built-in aliases of other dialects
# (`I2V-01-live`, `sora-2`...) name the same engine and are not offered again.
PAGE_DEFAULT_MODEL = "video-01-live2d"


def page_models(models: ModelRegistry) -> tuple[str, ...]:
    """The model ids the page offers: the built-in one first, then the models file's, in the file's order."""
    return (PAGE_DEFAULT_MODEL, *(model_id for model_id in models.ids() if model_id not in MODEL_ENGINES))


def _fill(match: re.Match[str], model_ids: tuple[str, ...]) -> str:
    name, argument = match.group(1), match.group(2)
    if name == "asset" and argument in ASSET_TYPES:
        return f"/static/{argument}?v={asset(argument).digest}"
    values = {
        "min_duration": f"{MIN_DURATION_S:g}",
        "max_duration": f"{MAX_DURATION_S:g}",
        "min_fps": str(MIN_FPS),
        "max_fps": str(MAX_FPS),
        "default_fps": str(DEFAULT_FPS),
        "max_seed": str(MAX_SEED),
        # With one model there is nothing to choose: the picker stays hidden.
        "model_picker_hidden": "hidden" if len(model_ids) == 1 else "",
        "model_options": "".join(
            f'<option value="{html.escape(model_id)}">{html.escape(model_id)}</option>' for model_id in model_ids
        ),
    }
    if name in values and argument is None:
        return values[name]
    raise ValueError(f"index.html names an unknown placeholder {match.group(0)!r}")


@cache
def index_page(model_ids: tuple[str, ...] = (PAGE_DEFAULT_MODEL,)) -> StaticFile:
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = _PLACEHOLDER.sub(lambda match: _fill(match, model_ids), template).encode()
    return StaticFile(body=page, media_type="text/html; charset=utf-8", digest=_digest(page))


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def content_security_policy(public_url: str) -> str:
    """Only this origin, plus blob:/data: for the image preview. Video links are signed with the public URL,
    which may name another origin than the one the page was loaded from (a proxy), so that origin may
    serve media too."""
    media = ["'self'", "blob:"]
    public_origin = _origin(public_url)
    if public_origin is not None:
        media.append(public_origin)
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' blob: data:",
        "media-src": " ".join(media),
        "connect-src": "'self'",
        "form-action": "'self'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def respond_file(request: Request, file: StaticFile, headers: dict[str, str]) -> Response:
    """`file` with `headers` and its ETag; a 304 without the body when the browser already holds this version."""
    headers = {**headers, "ETag": file.etag}
    if file.etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(file.body, media_type=file.media_type, headers=headers)


def _respond(request: Request, file: StaticFile, *, cache_control: str) -> Response:
    svc: Services = request.app.state.services
    headers = {
        "Cache-Control": cache_control,
        "Content-Security-Policy": content_security_policy(svc.settings.resolved_public_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return respond_file(request, file, headers)


@router.get("/")
def get_page(request: Request) -> Response:
    svc: Services = request.app.state.services
    return _respond(request, index_page(page_models(svc.models)), cache_control=PAGE_CACHE)


@router.get("/static/{name}")
def get_asset(request: Request, name: str, version: Annotated[str | None, Query(alias="v")] = None) -> Response:
    if name not in ASSET_TYPES:
        raise HTTPException(404, f"no static file named {name!r}")
    file = asset(name)
    cache_control = VERSIONED_ASSET_CACHE if version == file.digest else UNVERSIONED_ASSET_CACHE
    return _respond(request, file, cache_control=cache_control)
