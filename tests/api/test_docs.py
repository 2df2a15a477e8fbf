"""/docs and /redoc from files in the package: no CDN, a content security policy, every file they load served."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from stillmotion.api import docs
from stillmotion.api.app import create_app
from stillmotion.config import Settings
from support import TEST_KEY


def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY)))


def test_the_docs_pages_load_only_this_servers_files_under_a_strict_policy(tmp_path: Path) -> None:
    http = client(tmp_path)
    for path, script in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        page = http.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        html = page.text
        assert "://" not in html, html  # nothing from another origin: no CDN, no fonts
        assert re.search(r"<script>", html) is None  # no inline script for the policy to allow
        loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert f"/static/docs/{script}" in loaded
        for url in loaded:
            answer = http.get(url)
            assert answer.status_code == 200 and len(answer.content) > 100, (url, answer.status_code)
        assert 'data-openapi="/openapi.json"' in html or 'spec-url="/openapi.json"' in html
    assert http.get("/openapi.json").json()["info"]["title"] == "stillmotion"


def test_docs_files_are_cached_and_unknown_ones_are_404(tmp_path: Path) -> None:
    http = client(tmp_path)
    first = http.get("/static/docs/swagger-ui.css")
    assert first.headers["content-type"].startswith("text/css") and first.headers["cache-control"]
    again = http.get("/static/docs/swagger-ui.css", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert http.get("/static/docs/swagger-ui.LICENSE").status_code == 404  # only what the pages load
    assert http.get("/static/docs/..%2Fapp.js").status_code == 404


def test_every_file_the_pages_name_ships_with_its_licence() -> None:
    for name in docs.FILES:
        assert (docs.DOCS_DIR / name).is_file(), name
    for licence in ("swagger-ui.LICENSE", "swagger-ui.NOTICE", "redoc.LICENSE"):
        assert (docs.DOCS_DIR / licence).is_file(), licence
