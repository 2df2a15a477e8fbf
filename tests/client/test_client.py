"""`stillmotion.Client`: end to end against a real `stillmotion serve`, and its wire, retries, errors and
timeouts against a scripted peer (`httpx.MockTransport`) or a deliberately slow loopback server."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import stillmotion
from client.scripted import BASE, PATH, BreaksMidBody, Script, aiml_error, poll
from stillmotion import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    Client,
    Generation,
    GenerationFailed,
    NotFoundError,
    NotSupported,
    RateLimitError,
    WaitTimeout,
)
from stillmotion.media.video import probe_video
from support import TEST_KEY, Server, make_image


def scripted_client(script: Script, **options: Any) -> Client:
    options.setdefault("retry_backoff_s", 0.0)
    return Client(BASE, "k-1", transport=script.transport(), **options)


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "portrait.png"
    path.write_bytes(make_image(400, 520))
    return path


# -- the wire the hosted API sees ------------------------------------------------------------------------------


def test_create_sends_exactly_the_hosted_body_when_no_extension_is_given(png: Path) -> None:
    script = Script(httpx.Response(200, json={"generation_id": "7", "status": "queued"}))
    with scripted_client(script) as client:
        created = client.create(png, "she smiles")
    assert created == Generation(id="7", status="queued", status_word="queued")
    request = script.requests[0]
    assert (request.method, request.url.path) == ("POST", PATH)
    assert request.headers["authorization"] == "Bearer k-1"
    assert "idempotency-key" not in request.headers
    body = script.json_of(0)
    assert set(body) == {"model", "prompt", "prompt_optimizer", "first_frame_image"}
    assert body["model"] == "video-01-live2d"
    assert body["prompt"] == "she smiles"
    assert body["prompt_optimizer"] is True
    prefix, _, payload = body["first_frame_image"].partition(",")
    assert prefix == "data:image/png;base64"
    assert base64.b64decode(payload) == png.read_bytes()


def test_create_sends_extensions_only_when_given() -> None:
    jpeg = make_image(400, 520, fmt="JPEG")
    script = Script(*[httpx.Response(200, json={"generation_id": str(i), "status": "queued"}) for i in range(2)])
    with scripted_client(script) as client:
        client.create(jpeg, "a nod", duration_s=1.5, fps=12, seed=0, loop=False, prompt_optimizer=False)
        client.create(jpeg, "a nod", seed=9, model="I2V-01-live")
    first, second = script.json_of(0), script.json_of(1)
    assert {k: first[k] for k in ("duration", "fps", "seed", "loop", "prompt_optimizer")} == {
        "duration": 1.5,
        "fps": 12,
        "seed": 0,
        "loop": False,
        "prompt_optimizer": False,
    }
    assert first["first_frame_image"].startswith("data:image/jpeg;base64,")
    assert set(second) == {"model", "prompt", "prompt_optimizer", "first_frame_image", "seed"}
    assert second["model"] == "I2V-01-live"


@pytest.mark.parametrize(
    "image", ["https://example.com/a.jpg", "HTTP://example.com/b.png", "data:image/png;base64,iVBORw0KGgo="]
)
def test_urls_and_data_uris_go_on_the_wire_as_given(image: str) -> None:
    script = Script(httpx.Response(200, json={"generation_id": "1", "status": "queued"}))
    with scripted_client(script) as client:
        client.create(image, "x")
    assert script.json_of(0)["first_frame_image"] == image


def test_a_missing_image_file_is_refused_before_any_request(tmp_path: Path) -> None:
    script = Script()
    with scripted_client(script) as client, pytest.raises(FileNotFoundError, match=r"nope\.png"):
        client.create(tmp_path / "nope.png", "x")
    assert script.requests == []


@pytest.mark.parametrize("base", ["http://sm.test", "http://sm.test/", "http://sm.test/v2", "http://sm.test/v2/"])
def test_base_url_forms_all_reach_the_same_route(base: str) -> None:
    script = Script(poll("queued"))
    with Client(base, "k", transport=script.transport()) as client:
        client.get("42")
    assert str(script.requests[0].url) == f"http://sm.test{PATH}?generation_id=42"


def test_client_needs_a_key_and_an_http_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STILLMOTION_API_KEY", "STILLMOTION_KEY", "STILLMOTION_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="api_key"):
        Client("http://sm.test", "")
    with pytest.raises(ValueError, match="base_url"):
        Client("ftp://sm.test", "k")
    assert Client(api_key="k").base_url == "https://api.aimlapi.com"


def test_poll_bodies_become_typed_generations() -> None:
    script = Script(
        poll("completed", url="https://cdn.test/v.mp4", progress=100),
        poll("error", error={"name": "render_failed", "message": "boom"}),
        httpx.Response(200, json={"id": "42", "status": "active"}),  # a word from the hosted docs' example
        poll("generating", progress=250),
    )
    with scripted_client(script) as client:
        done, failed, active, over = (client.get("42") for _ in range(4))
    assert (done.status, done.video_url, done.progress, done.done) == ("completed", "https://cdn.test/v.mp4", 100, True)
    assert failed.error is not None and (failed.error.name, failed.error.message) == ("render_failed", "boom")
    assert failed.done
    assert (active.status, active.status_word, active.progress, active.done) == ("generating", "active", None, False)
    assert over.progress == 100


# -- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (413, BadRequestError),
        (422, BadRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ApiError),
        (403, ApiError),
    ],
)
def test_error_statuses_raise_typed_errors_with_the_servers_message(status: int, kind: type[ApiError]) -> None:
    script = Script(aiml_error(status, f"`prompt` broke rule {status}"))
    with scripted_client(script) as client, pytest.raises(kind) as caught:
        client.get("42")
    assert type(caught.value) is kind
    assert caught.value.status_code == status
    assert caught.value.message == f"`prompt` broke rule {status}"
    assert caught.value.body["statusCode"] == status
    assert len(script.requests) == 1  # none of these is transient


def test_rate_limit_carries_retry_after_and_non_json_errors_keep_their_text() -> None:
    script = Script(
        aiml_error(429, "slow down", headers={"Retry-After": "7"}),
        httpx.Response(500, text="upstream exploded"),
    )
    with scripted_client(script) as client:
        with pytest.raises(RateLimitError) as limited:
            client.get("1")
        with pytest.raises(ApiError) as broken:
            client.get("1")
    assert limited.value.retry_after_s == 7.0
    assert (broken.value.message, broken.value.body) == ("upstream exploded", "upstream exploded")


# -- retries -----------------------------------------------------------------------------------------------------


def test_get_retries_transient_failures_then_succeeds() -> None:
    script = Script(
        httpx.ConnectError("connection refused"),
        aiml_error(502, "bad gateway"),
        httpx.ReadError("connection reset by peer"),
        poll("generating", progress=30),
    )
    with scripted_client(script, max_retries=3) as client:
        generation = client.get("42")
    assert generation.progress == 30
    assert len(script.requests) == 4


def test_get_gives_up_after_max_retries() -> None:
    script = Script(aiml_error(503, "busy"), aiml_error(503, "busy"), aiml_error(503, "still busy"))
    with scripted_client(script, max_retries=2) as client, pytest.raises(ApiError) as caught:
        client.get("42")
    assert (caught.value.status_code, caught.value.message) == (503, "still busy")
    assert len(script.requests) == 3

    script = Script(httpx.ReadError("reset"), httpx.ReadError("reset"))
    with scripted_client(script, max_retries=1) as client, pytest.raises(ApiConnectionError, match=r"sm\.test"):
        client.get("42")
    assert len(script.requests) == 2


def test_backoff_honours_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    script = Script(aiml_error(503, "busy", headers={"Retry-After": "3"}), aiml_error(504, "slow"), poll("queued"))
    with scripted_client(script, retry_backoff_s=0.4) as client:
        client.get("42")
    assert slept[0] == 3.0
    assert 0.4 <= slept[1] <= 0.8  # the second try: twice the base, with jitter down to half


def test_create_without_an_idempotency_key_is_never_retried(png: Path) -> None:
    for failure in (aiml_error(503, "busy"), httpx.ReadError("connection reset by peer")):
        script = Script(failure, httpx.Response(200, json={"generation_id": "1", "status": "queued"}))
        with scripted_client(script) as client, pytest.raises((ApiError, ApiConnectionError)):
            client.create(png, "x")
        assert len(script.requests) == 1


def test_create_with_an_idempotency_key_is_retried_with_the_same_key(png: Path) -> None:
    script = Script(
        httpx.ReadError("connection reset by peer"),
        aiml_error(503, "busy"),
        httpx.Response(200, json={"generation_id": "9", "status": "queued"}),
    )
    with scripted_client(script) as client:
        assert client.create(png, "x", idempotency_key="order-17").id == "9"
    assert [r.headers["idempotency-key"] for r in script.requests] == ["order-17"] * 3
    assert script.requests[0].content == script.requests[2].content


# -- timeouts ----------------------------------------------------------------------------------------------------


class _SlowHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(1.5)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_slower_than_timeout_s_raises_a_timeout_error(slow_server: str) -> None:
    client = Client(slow_server, "k", timeout_s=0.2, max_retries=1, retry_backoff_s=0.0)
    with client, pytest.raises(ApiTimeoutError) as caught:
        client.get("42")
    assert isinstance(caught.value, TimeoutError)
    assert "timeout_s" in str(caught.value)


def test_wait_polls_until_completed_reporting_every_poll() -> None:
    script = Script(
        poll("queued", progress=0),
        poll("generating", progress=40),
        poll("completed", progress=100, url="http://sm.test/v.mp4"),
    )
    seen: list[Generation] = []
    with scripted_client(script) as client:
        done = client.wait("42", on_progress=seen.append, poll_interval_s=0.001)
    assert done.status == "completed"
    assert [(g.status, g.progress) for g in seen] == [("queued", 0), ("generating", 40), ("completed", 100)]


def test_wait_raises_generation_failed_with_the_generation() -> None:
    script = Script(poll("generating"), poll("error", error={"name": "cancelled", "message": "cancelled by you"}))
    with scripted_client(script) as client, pytest.raises(GenerationFailed, match="cancelled by you") as caught:
        client.wait("42", poll_interval_s=0.001)
    assert caught.value.generation.error is not None
    assert caught.value.generation.error.name == "cancelled"


def test_wait_times_out_with_the_last_state_and_rides_out_rate_limits() -> None:
    script = Script(
        aiml_error(429, "slow down", headers={"Retry-After": "0"}),
        *[poll("generating", progress=5) for _ in range(500)],
    )
    with scripted_client(script) as client, pytest.raises(WaitTimeout) as caught:
        client.wait("42", poll_interval_s=0.01, timeout_s=0.1)
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.generation.progress == 5
    assert 2 <= len(script.requests) < 500


# -- cancel on servers without the extension ------------------------------------------------------------------


def test_cancel_on_a_server_without_the_route_raises_not_supported() -> None:
    script = Script(httpx.Response(405, json={"message": "Method Not Allowed"}))
    with scripted_client(script) as client, pytest.raises(NotSupported, match="cancel"):
        client.cancel("42")
    # A 404 may mean "no route" or "no such id": a poll tells them apart.
    script = Script(aiml_error(404, "Cannot DELETE /v2/generate/video/minimax/generation"), poll("generating"))
    with scripted_client(script) as client, pytest.raises(NotSupported):
        client.cancel("42")
    script = Script(aiml_error(404, "generation '42' not found"), aiml_error(404, "generation '42' not found"))
    with scripted_client(script) as client, pytest.raises(NotFoundError):
        client.cancel("42")
    assert [r.method for r in script.requests] == ["DELETE", "GET"]


# -- download ----------------------------------------------------------------------------------------------------


def test_download_is_atomic_when_the_connection_breaks(tmp_path: Path) -> None:
    target = tmp_path / "out" / "v.mp4"
    script = Script(httpx.Response(200, stream=BreaksMidBody(b"\x00" * 1000)))
    with scripted_client(script, max_retries=0) as client, pytest.raises(ApiConnectionError):
        client.download("http://sm.test/media/v.mp4", target)
    assert list(target.parent.iterdir()) == []

    target.write_bytes(b"old video")
    script = Script(httpx.Response(200, stream=BreaksMidBody(b"\x00" * 10)), httpx.Response(200, content=b"new" * 999))
    with scripted_client(script, max_retries=1) as client:
        assert client.download("http://sm.test/media/v.mp4", target) == target
    assert target.read_bytes() == b"new" * 999
    assert list(target.parent.iterdir()) == [target]


def test_download_sends_the_key_only_to_the_apis_own_origin(tmp_path: Path) -> None:
    script = Script(httpx.Response(200, content=b"a"), httpx.Response(200, content=b"b"))
    done = Generation(id="1", status="completed", video_url="https://cdn.test/v.mp4?Signature=x")
    with scripted_client(script) as client:
        client.download(done, tmp_path / "a.mp4")
        client.download("/media/v.mp4", tmp_path / "b.mp4")
    assert "authorization" not in script.requests[0].headers
    assert str(script.requests[1].url) == "http://sm.test/media/v.mp4"
    assert script.requests[1].headers["authorization"] == "Bearer k-1"


def test_download_of_an_unfinished_generation_says_so(tmp_path: Path) -> None:
    with scripted_client(Script()) as client, pytest.raises(ValueError, match="no video"):
        client.download(Generation(id="1", status="generating"), tmp_path / "v.mp4")


# -- end to end against `stillmotion serve` ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("sdk") / "data")
    yield running
    running.stop()


@pytest.mark.slow
def test_generate_end_to_end_with_rising_progress(server: Server, png: Path, tmp_path: Path) -> None:
    seen: list[Generation] = []
    with Client(server.base, TEST_KEY) as client:
        done = client.generate(
            png,
            "she nods twice",
            tmp_path / "clip.mp4",
            duration_s=1,
            fps=25,
            seed=3,
            on_progress=seen.append,
            poll_interval_s=0.05,
            timeout_s=120,
        )
    assert done.status == "completed" and done.video_url is not None and done.error is None
    info = probe_video(tmp_path / "clip.mp4")
    assert (info.frame_count, info.fps, info.codec) == (25, 25, "h264")
    assert seen[0].status == "queued" and seen[-1] == done
    progress = [g.progress for g in seen if g.progress is not None]
    assert progress == sorted(progress), progress
    assert progress[0] < progress[-1] == 100


@pytest.mark.slow
def test_cancel_end_to_end(server: Server, png: Path) -> None:
    with Client(server.base, TEST_KEY) as client:
        created = client.create(png, "she breathes", duration_s=10, fps=30)
        cancelled = client.cancel(created)
        assert cancelled.id == created.id
        assert cancelled.status == "error" and cancelled.error is not None
        assert cancelled.error.name == "cancelled"
        with pytest.raises(GenerationFailed) as caught:
            client.wait(created, poll_interval_s=0.05, timeout_s=30)
        assert caught.value.generation.error == cancelled.error


@pytest.mark.slow
def test_errors_end_to_end_are_typed(server: Server, png: Path) -> None:
    with Client(server.base, "not-a-key") as client, pytest.raises(AuthenticationError) as denied:
        client.create(png, "x")
    assert denied.value.status_code == 401
    with Client(server.base, TEST_KEY) as client:
        with pytest.raises(BadRequestError) as bad:
            client.create(png, "x", fps=99)
        assert "`fps`" in bad.value.message and "30" in bad.value.message
        with pytest.raises(BadRequestError, match="first_frame_image"):
            client.create(make_image(200, 200), "x")
        with pytest.raises(NotFoundError) as missing:
            client.get("123456789")
        assert set(missing.value.body) == {"message", "path", "requestId", "statusCode", "timestamp"}
        with pytest.raises(NotFoundError):
            client.cancel("123456789")


@pytest.mark.slow
def test_idempotent_create_end_to_end(server: Server, png: Path) -> None:
    with Client(server.base, TEST_KEY) as client:
        first = client.create(png, "she smiles", duration_s=1, idempotency_key="sdk-test-1")
        again = client.create(png, "she smiles", duration_s=1, idempotency_key="sdk-test-1")
        other = client.create(png, "she smiles", duration_s=1, idempotency_key="sdk-test-2")
    assert first.id == again.id != other.id


def test_import_stillmotion_stays_light() -> None:
    import subprocess
    import sys

    code = "import sys, stillmotion; print(sorted(m for m in ('numpy', 'cv2', 'fastapi', 'torch') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
    assert stillmotion.Client is Client


def test_client_reads_its_base_url_and_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The names the command line and the examples read too; what is passed wins over them.
    monkeypatch.setenv("STILLMOTION_BASE_URL", "http://sm.test/v2")
    monkeypatch.setenv("STILLMOTION_API_KEY", "from-env")
    script = Script(poll("queued"))
    with Client(transport=script.transport()) as client:
        assert client.base_url == "http://sm.test"
        client.get("42")
    assert script.requests[0].headers["authorization"] == "Bearer from-env"
    with Client("http://other.test", "given", transport=Script(poll("queued")).transport()) as client:
        assert client.base_url == "http://other.test"


def test_the_keys_earlier_name_still_works_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STILLMOTION_API_KEY", raising=False)
    monkeypatch.setenv("STILLMOTION_KEY", "old-name")
    script = Script(poll("queued"))
    with (
        pytest.warns(FutureWarning, match="STILLMOTION_API_KEY"),
        Client("http://sm.test", transport=script.transport()) as client,
    ):
        client.get("42")
    assert script.requests[0].headers["authorization"] == "Bearer old-name"
