"""The web page's routes without a browser: HTML, assets, headers, and that the API docs are untouched."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient

from stillmotion.api import page
from stillmotion.api.app import create_app
from stillmotion.config import Settings
from stillmotion.domain.options import DEFAULT_FPS, MAX_DURATION_S, MAX_FPS, MAX_SEED, MIN_DURATION_S, MIN_FPS

STATIC = Path(page.__file__).with_name("static")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_data(self, data: str) -> None:
        if getattr(self, "_in_script", False):
            self.script_text += data.strip()

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _csp(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def test_the_page_is_html_under_a_strict_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = _csp(response.headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert set(csp["img-src"]) == {"'self'", "blob:", "data:"}
    assert {"'self'", "blob:"} <= set(csp["media-src"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in value for values in csp.values() for value in values)
    assert "<title>stillmotion</title>" in response.text


def test_the_page_needs_nothing_the_policy_forbids_and_nothing_from_outside(client: TestClient) -> None:
    html = client.get("/").text
    parsed = _parse(html)
    assert "{{" not in html, "a template placeholder was left unfilled"
    assert parsed.script_text == "", "inline script would be blocked by the policy"
    for tag, attrs in parsed.tags:
        assert tag != "style", "inline <style> would be blocked by the policy"
        assert "style" not in attrs, f"<{tag} style=...> would be blocked by the policy"
        assert not any(name.startswith("on") for name in attrs), f"<{tag}> has an inline event handler"
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"^(https?:)?//", value), f"<{tag} {name}={value}> loads from outside"
    for name in ("app.js", "style.css"):
        assert not re.search(r"https?://", (STATIC / name).read_text()), f"{name} names an outside address"
    assert "@import" not in (STATIC / "style.css").read_text()
    assert "url(" not in (STATIC / "style.css").read_text()  # no fonts or images fetched by the sheet


def test_every_element_the_script_uses_is_on_the_page(client: TestClient) -> None:
    ids = {attrs["id"] for _, attrs in _parse(client.get("/").text).tags if attrs.get("id")}
    wanted = set(re.findall(r'\$\("([a-z-]+)"\)', (STATIC / "app.js").read_text()))
    assert wanted, "the script's element lookups were not found"
    assert wanted <= ids, f"missing from index.html: {sorted(wanted - ids)}"


def test_the_forms_limits_are_the_servers(client: TestClient) -> None:
    inputs = {attrs.get("id"): attrs for tag, attrs in _parse(client.get("/").text).tags if tag == "input"}
    assert float(inputs["duration"]["min"] or "nan") == MIN_DURATION_S
    assert float(inputs["duration"]["max"] or "nan") == MAX_DURATION_S
    assert int(inputs["seed"]["max"] or "-1") == MAX_SEED
    assert (inputs["fps"]["min"], inputs["fps"]["max"], inputs["fps"]["step"]) == (str(MIN_FPS), str(MAX_FPS), "1")
    assert inputs["fps"]["placeholder"] == str(DEFAULT_FPS)  # left empty, the server's default applies
    assert inputs["prompt-optimizer"]["type"] == "checkbox" and "checked" in inputs["prompt-optimizer"]
    assert inputs["loop"]["type"] == "checkbox" and "checked" not in inputs["loop"]  # off, as the server's default
    # Every control has a label.
    labels = {attrs.get("for") for tag, attrs in _parse(client.get("/").text).tags if tag == "label"}
    assert {"api-key", "image-file", "prompt", "prompt-optimizer", "loop", "duration", "fps", "seed"} <= labels


def test_assets_are_served_versioned_and_cacheable(client: TestClient) -> None:
    parsed = _parse(client.get("/").text)
    urls = [attrs.get("src") or attrs.get("href") or "" for tag, attrs in parsed.tags if tag in ("script", "link")]
    assets = [url for url in urls if url.startswith("/static/")]
    assert len(assets) == 3  # icon, style sheet, script
    expected_types = {"app.js": "text/javascript", "style.css": "text/css", "icon.svg": "image/svg+xml"}
    for url in assets:
        name = url.split("?")[0].removeprefix("/static/")
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith(expected_types[name])
        assert response.content == (STATIC / name).read_bytes()
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        # The same file without (or with a stale) version must be revalidated, as it may change.
        assert client.get(f"/static/{name}").headers["cache-control"] == "no-cache"
        assert client.get(f"/static/{name}?v=0000").headers["cache-control"] == "no-cache"
        etag = response.headers["etag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""


def test_unknown_static_files_are_404_in_the_json_error_shape(client: TestClient) -> None:
    for path in ("/static/nope.js", "/static/index.html", "/static/..%2Fpage.py", "/static/%2e%2e%2fpage.py"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "message" in response.json()


def test_page_routes_stay_out_of_the_api_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v2/generate/video/minimax/generation" in paths
    assert not [path for path in paths if path == "/" or path.startswith("/static")]


def test_video_links_on_another_public_origin_may_play(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", api_keys="k", public_url="https://videos.example.com/base/")
    with TestClient(create_app(settings)) as client:
        csp = _csp(client.get("/").headers["content-security-policy"])
    assert "https://videos.example.com" in csp["media-src"]
    assert csp["connect-src"] == ["'self'"]


def _model_picker(html: str) -> tuple[bool, list[str | None]]:
    """Whether the model picker is shown, and the model ids it offers."""
    tags = _parse(html).tags
    picker = next(attrs for tag, attrs in tags if attrs.get("id") == "model-picker")
    return "hidden" not in picker, [attrs.get("value") for tag, attrs in tags if tag == "option"]


def test_with_only_the_built_in_engine_there_is_no_model_to_choose(client: TestClient) -> None:
    assert _model_picker(client.get("/").text) == (False, ["video-01-live2d"])


def test_the_models_files_models_are_offered_after_the_built_in_one(tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    models_file = tmp_path / "models.toml"
    models_file.write_text(
        '[models."wan2.2-ti2v-5b"]\nengine = "diffusion"\nweights = "./weights"\n\n'
        '[models.ltx]\nengine = "diffusion"\nweights = "Lightricks/LTX-Video"\n'
    )
    settings = Settings(data_dir=tmp_path / "data", api_keys="k", models_file=models_file)
    with TestClient(create_app(settings)) as client:
        shown, offered = _model_picker(client.get("/").text)
        assert (shown, offered) == (True, ["video-01-live2d", "wan2.2-ti2v-5b", "ltx"])
        labels = {attrs.get("for") for tag, attrs in _parse(client.get("/").text).tags if tag == "label"}
        assert "model" in labels
