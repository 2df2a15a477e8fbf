"""The API's documentation pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), from files inside the package.

FastAPI's own pages load Swagger UI and ReDoc from a CDN: without internet they are blank, and they run a CDN's
scripts on the origin where the web page keeps API keys. Here the scripts are served from `static/docs/`
(Swagger UI 5.36.0, Apache-2.0; ReDoc 2.5.4, MIT; their licence files beside them) and the pages carry a content
security policy that allows scripts from this server only: no inline script, nothing from elsewhere.
"""

from __future__ import annotations

from functools import cache
from html import escape
from pathlib import Path
from typing import Final

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from stillmotion.api.page import StaticFile, read_static, respond_file

DOCS_DIR: Final = Path(__file__).parent / "static" / "docs"
ASSETS_PATH: Final = "/static/docs"
# What the pages load, and as what.
FILES: Final = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "docs-init.js": "text/javascript; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# Scripts and workers from this server only; styles inline too (both UIs set style attributes, ReDoc writes its
# own <style> tags); images and fonts also as data: URIs; requests ("Try it out", the schema) to this server.
POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
ASSET_CACHE: Final = "public, max-age=86400"

router = APIRouter(include_in_schema=False)


@cache
def _file(name: str) -> StaticFile:
    return read_static(DOCS_DIR / name, FILES[name])


def _page(title: str, head: str, body: str) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">\n{head}</head>\n'
        f"<body>\n{body}</body>\n</html>\n"
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-cache"})


def _schema_url(request: Request) -> str:
    return str(request.scope.get("root_path", "")) + (request.app.openapi_url or "/openapi.json")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return _page(
        f"{request.app.title} - API documentation",
        f'<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">\n',
        f'<div id="swagger-ui" data-openapi="{escape(_schema_url(request))}"></div>\n'
        f'<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>\n'
        f'<script src="{ASSETS_PATH}/docs-init.js"></script>\n',
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return _page(
        f"{request.app.title} - API reference",
        "",
        f'<redoc spec-url="{escape(_schema_url(request))}"></redoc>\n'
        f'<script src="{ASSETS_PATH}/redoc.standalone.js"></script>\n',
    )


@router.get(ASSETS_PATH + "/{name}")
def asset(request: Request, name: str) -> Response:
    if name not in FILES:
        raise HTTPException(404, f"no documentation file named {name!r}")
    return respond_file(request, _file(name), {"Cache-Control": ASSET_CACHE})
