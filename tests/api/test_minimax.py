"""Contract of the MiniMax native dialect over real HTTP against `stillmotion serve`: create, query, retrieve and
download; every refusal as HTTP 200 with a non-zero `base_resp`; the `callback_url` challenge handshake."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from stillmotion.api import minimax
from stillmotion.api.errors import ApiError
from stillmotion.api.services import Services
from stillmotion.dialects import minimax as minimax_words
from stillmotion.domain import Job, JobStatus
from stillmotion.jobs import JobStore
from stillmotion.media.video import probe_video
from support import OTHER_KEY, TEST_KEY, Server, b64, make_image

# These tests start `stillmotion serve` processes, like the end-to-end suite.
pytestmark = pytest.mark.slow

CREATE = "/v1/video_generation"
QUERY = "/v1/query/video_generation"
RETRIEVE = "/v1/files/retrieve"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_KEY}"}
KEYS_ENV = {"STILLMOTION_API_KEYS": f"{TEST_KEY},{OTHER_KEY}"}
# 420x320 renders 6 s (150 frames at 944x720) in about two seconds on two cores.
IMAGE_URI = "data:image/png;base64," + b64(make_image(420, 320))


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "I2V-01-live",
        "prompt": "she smiles and the camera slowly zooms in",
        "first_frame_image": IMAGE_URI,
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


class Deployment:
    """A `stillmotion serve` process and a store opened on its database, as a second process would."""

    def __init__(self, data_dir: Path, *, workers: int, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.server = Server(data_dir, workers=workers, env=env)
        self.base = self.server.base
        self.store = JobStore(f"sqlite:///{(data_dir / 'stillmotion.db').resolve()}")

    def job_count(self) -> int:
        return sum(self.store.counts_by_status().values())

    def close(self) -> None:
        self.store.close()
        self.server.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One worker; private URLs allowed so that callbacks can reach the loopback receivers below."""
    deployment = Deployment(
        tmp_path_factory.mktemp("live") / "data", workers=1, env={**KEYS_ENV, "STILLMOTION_ALLOW_PRIVATE_URLS": "true"}
    )
    yield deployment
    deployment.close()


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """No workers (jobs stay where the test puts them) and the default URL guard (private addresses refused)."""
    deployment = Deployment(tmp_path_factory.mktemp("idle") / "data", workers=0, env=KEYS_ENV)
    yield deployment
    deployment.close()


def assert_base_resp(response: httpx.Response, code: int, *, mentions: tuple[str, ...] = ()) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body["base_resp"]) == {"status_code", "status_msg"}
    assert body["base_resp"]["status_code"] == code, body
    for word in mentions:
        assert word in body["base_resp"]["status_msg"], body
    return body


def _create(base: str, body: dict[str, Any], headers: dict[str, str] = AUTH, **kwargs: Any) -> httpx.Response:
    return httpx.post(base + CREATE, json=body, headers=headers, timeout=30, **kwargs)


def _query(base: str, task_id: str, headers: dict[str, str] = AUTH) -> httpx.Response:
    return httpx.get(base + QUERY, params={"task_id": task_id}, headers=headers, timeout=10)


def _retrieve(base: str, params: dict[str, str], headers: dict[str, str] = AUTH) -> httpx.Response:
    return httpx.get(base + RETRIEVE, params=params, headers=headers, timeout=10)


# --- the happy path -----------------------------------------------------------------------------------


def test_create_query_retrieve_and_download(live: Deployment, tmp_path: Path) -> None:
    created = _create(live.base, _body(duration=6, resolution="720P"))
    body = assert_base_resp(created, 0)
    assert body == {"task_id": body["task_id"], "base_resp": {"status_code": 0, "status_msg": "success"}}
    task_id = body["task_id"]
    assert isinstance(task_id, str) and task_id.isdigit()

    order = ["Queueing", "Preparing", "Processing", "Success"]
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        polled = assert_base_resp(_query(live.base, task_id), 0)
        if not seen or seen[-1] != polled["status"]:
            seen.append(polled["status"])
        if polled["status"] in ("Success", "Fail"):
            break
        time.sleep(0.05)
    assert seen[-1] == "Success", seen
    # Every status seen is MiniMax's, and they only move forward.
    assert [order.index(status) for status in seen] == sorted({order.index(status) for status in seen})
    assert set(polled) == {
        "task_id", "status", "file_id", "video_width", "video_height", "base_resp", "motion_plan", "seed"
    }
    assert polled["task_id"] == task_id
    # The extension: what the engine drew, and notes for what it did not.
    drawn = {(track["part"], track["action"]) for track in polled["motion_plan"]["tracks"]}
    assert ("camera", "zoom") in drawn
    assert isinstance(polled["motion_plan"]["notes"], list)
    assert isinstance(polled["file_id"], str) and polled["file_id"].isdigit()

    # Older clients also send `GroupId`; it is ignored.
    retrieved = assert_base_resp(_retrieve(live.base, {"file_id": polled["file_id"], "GroupId": "1234567"}), 0)
    file = retrieved["file"]
    assert set(file) == {"file_id", "bytes", "created_at", "filename", "purpose", "download_url"}
    assert file["file_id"] == int(polled["file_id"])  # a JSON integer here, as MiniMax sends it
    assert file["purpose"] == "video_generation"
    assert file["filename"].endswith(".mp4")
    assert abs(file["created_at"] - time.time()) < 600
    assert "Signature=" in file["download_url"] and "Expires=" in file["download_url"]

    video = httpx.get(file["download_url"], timeout=30)
    assert video.status_code == 200
    assert len(video.content) == file["bytes"]
    local = tmp_path / "video.mp4"
    local.write_bytes(video.content)
    info = probe_video(local)
    assert (info.width, info.height) == (polled["video_width"], polled["video_height"])
    assert (info.codec, info.frame_count) == ("h264", 150)
    assert min(info.width, info.height) == 720

    # Another tenant sees neither the task nor its file.
    assert_base_resp(_query(live.base, task_id, OTHER_AUTH), 2013, mentions=("task not found",))
    assert_base_resp(
        _retrieve(live.base, {"file_id": polled["file_id"]}, OTHER_AUTH), 2013, mentions=("file not found",)
    )

    # `file_id` means the same in every API process: a second one on the same data answers for it too.
    second = Server(live.data_dir, workers=0, env=KEYS_ENV)
    try:
        again = assert_base_resp(_retrieve(second.base, {"file_id": polled["file_id"]}), 0)
        assert again["file"]["file_id"] == file["file_id"]
        assert again["file"]["bytes"] == file["bytes"]
        assert httpx.get(again["file"]["download_url"], timeout=30).content == video.content
    finally:
        second.stop()


def test_status_words_follow_the_job(idle: Deployment) -> None:
    task_id = assert_base_resp(_create(idle.base, _body()), 0)["task_id"]
    queued = assert_base_resp(_query(idle.base, task_id), 0)
    assert queued == {
        "task_id": task_id,
        "status": "Queueing",
        "base_resp": {"status_code": 0, "status_msg": "success"},
    }

    # Play the worker's part on the shared database.
    claim = idle.store.claim(worker_id="test", lease_s=600)
    while claim is not None and claim.job.id != task_id:
        claim = idle.store.claim(worker_id="test", lease_s=600)
    assert claim is not None
    assert assert_base_resp(_query(idle.base, task_id), 0)["status"] == "Preparing"
    assert idle.store.heartbeat(task_id, attempt=claim.attempt, lease_s=600, progress=0.4)
    assert assert_base_resp(_query(idle.base, task_id), 0)["status"] == "Processing"
    assert idle.store.fail(task_id, attempt=claim.attempt, code="render_failed", message="the encoder gave up")
    failed = assert_base_resp(_query(idle.base, task_id), 1000, mentions=("the encoder gave up",))
    assert failed["status"] == "Fail"
    assert "file_id" not in failed
    assert_base_resp(_retrieve(idle.base, {"file_id": task_id}), 2013, mentions=("file not found",))

    cancelled_id = assert_base_resp(_create(idle.base, _body()), 0)["task_id"]
    idle.store.cancel(cancelled_id)
    cancelled = assert_base_resp(_query(idle.base, cancelled_id), 1000, mentions=("cancelled",))
    assert cancelled["status"] == "Fail"


def test_duration_maps_to_the_render_and_both_model_ids_are_served(idle: Deployment) -> None:
    for model, duration in (("I2V-01-live", 10), ("video-01-live2d", 6)):
        task_id = assert_base_resp(_create(idle.base, _body(model=model, duration=duration)), 0)["task_id"]
        job = idle.store.get(task_id)
        assert (job.model, job.engine, job.dialect) == (model, "live2d", "minimax")
        assert job.options["duration"] == duration


def test_optional_and_unknown_fields(idle: Deployment) -> None:
    body = _body(
        prompt=...,
        prompt_optimizer=False,
        resolution="1080P",
        fast_pretreatment=True,
        aigc_watermark=True,
        subject_reference=[{"type": "character", "image": ["https://example.com/a.jpg"]}],
        something_new={"a": 1},
    )
    task_id = assert_base_resp(_create(idle.base, body), 0)["task_id"]
    job = idle.store.get(task_id)
    assert job.prompt == ""
    assert job.prompt_optimizer is False


def test_an_idempotency_key_returns_the_first_task(idle: Deployment) -> None:
    headers = {**AUTH, "Idempotency-Key": "mm-once"}
    first = assert_base_resp(_create(idle.base, _body(), headers), 0)["task_id"]
    count = idle.job_count()
    assert assert_base_resp(_create(idle.base, _body(), headers), 0)["task_id"] == first
    assert idle.job_count() == count
    changed = _create(idle.base, _body(prompt="something else"), headers)
    assert assert_base_resp(changed, 2013, mentions=("Idempotency-Key",))["task_id"] == ""


# --- refusals: HTTP 200, a non-zero base_resp ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("POST", CREATE), ("GET", QUERY + "?task_id=1"), ("GET", RETRIEVE + "?file_id=1")]
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-key"}, {"Authorization": TEST_KEY}],
    ids=["no key", "bad key", "no scheme"],
)
def test_authentication_failures_are_1004(idle: Deployment, method: str, path: str, headers: dict[str, str]) -> None:
    count = idle.job_count()
    response = httpx.request(method, idle.base + path, json=_body(), headers=headers, timeout=10)
    body = assert_base_resp(response, 1004, mentions=("not authorized",))
    assert body.get("task_id", "") == ""
    assert idle.job_count() == count


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"model": ...}, ("`model`", "required")),
        ({"model": "MiniMax-Hailuo-02"}, ("`model`", "I2V-01-live", "video-01-live2d", "MiniMax-Hailuo-02")),
        ({"model": "I2V-01"}, ("`model`", "I2V-01-live")),
        ({"model": 1}, ("`model`", "string")),
        ({"prompt": "x" * 2001}, ("`prompt`", "2000", "2001")),
        ({"prompt": 5}, ("`prompt`", "string")),
        ({"prompt_optimizer": "yes"}, ("`prompt_optimizer`", "true or false")),
        ({"first_frame_image": ...}, ("`first_frame_image`", "required")),
        ({"first_frame_image": "not an image"}, ("`first_frame_image`",)),
        ({"first_frame_image": "data:image/png;base64," + b64(make_image(400, 290))}, ("`first_frame_image`", "300")),
        (
            {"first_frame_image": "data:image/png;base64," + b64(make_image(320, 900))},
            ("`first_frame_image`", "aspect"),
        ),
        ({"duration": 5}, ("`duration`", "6 or 10", "5")),
        ({"duration": "6"}, ("`duration`", "integer")),
        ({"duration": 6.5}, ("`duration`",)),
        ({"resolution": "4K"}, ("`resolution`", "512P", "1080P")),
        ({"resolution": "720p"}, ("`resolution`",)),
        ({"resolution": "1080P", "duration": 10}, ("`resolution`", "duration")),
        ({"callback_url": 5}, ("`callback_url`", "string")),
        ({"callback_url": "ftp://example.com/hook"}, ("`callback_url`",)),
        ({"fast_pretreatment": "no"}, ("`fast_pretreatment`",)),
        ({"aigc_watermark": 1}, ("`aigc_watermark`",)),
    ],
    ids=lambda value: str(value)[:40],
)
def test_each_bad_field_is_2013_naming_it(
    idle: Deployment, overrides: dict[str, Any], mentions: tuple[str, ...]
) -> None:
    count = idle.job_count()
    body = assert_base_resp(_create(idle.base, _body(**overrides)), 2013, mentions=("invalid params", *mentions))
    assert body["task_id"] == ""
    assert idle.job_count() == count


@pytest.mark.parametrize(
    ("content", "headers", "mentions"),
    [
        (b'{"model": "I2V-01-live"', {}, ("`body`", "JSON")),
        (b"[1, 2]", {}, ("`body`", "object")),
        (json.dumps(_body()).encode(), {"Idempotency-Key": "k" * 300}, ("Idempotency-Key",)),
    ],
    ids=["truncated JSON", "array", "long idempotency key"],
)
def test_a_bad_body_or_header_is_2013(
    idle: Deployment, content: bytes, headers: dict[str, str], mentions: tuple[str, ...]
) -> None:
    count = idle.job_count()
    response = httpx.post(idle.base + CREATE, content=content, headers={**AUTH, **headers}, timeout=10)
    assert assert_base_resp(response, 2013, mentions=mentions)["task_id"] == ""
    assert idle.job_count() == count


def test_query_and_retrieve_refusals(idle: Deployment) -> None:
    queued = assert_base_resp(_create(idle.base, _body()), 0)["task_id"]

    assert_base_resp(httpx.get(idle.base + QUERY, headers=AUTH, timeout=10), 2013, mentions=("`task_id`", "required"))
    unknown = assert_base_resp(_query(idle.base, "123456789012345678"), 2013, mentions=("task not found",))
    assert set(unknown) == {"base_resp"}
    # Another tenant's task reads exactly like an unknown one.
    assert _query(idle.base, queued, OTHER_AUTH).json() == unknown

    assert_base_resp(
        httpx.get(idle.base + RETRIEVE, headers=AUTH, timeout=10), 2013, mentions=("`file_id`", "required")
    )
    assert_base_resp(_retrieve(idle.base, {"file_id": "abc"}), 2013, mentions=("`file_id`", "integer"))
    missing = assert_base_resp(
        _retrieve(idle.base, {"file_id": "123456789012345678"}), 2013, mentions=("file not found",)
    )
    assert set(missing) == {"base_resp"}
    # A task that has not finished has no file yet; another tenant's has none either.
    assert _retrieve(idle.base, {"file_id": queued}).json() == missing
    assert _retrieve(idle.base, {"file_id": queued}, OTHER_AUTH).json() == missing

    other_method = httpx.delete(idle.base + CREATE, headers=AUTH, timeout=10)
    assert_base_resp(other_method, 2013, mentions=("Method Not Allowed",))


def test_render_error_maps_rate_limits_and_server_errors() -> None:
    request = Request({"type": "http", "method": "POST", "path": CREATE, "headers": [], "query_string": b""})
    limited = minimax.render_error(request, ApiError(429, "slow down", {"Retry-After": "7"}))
    assert limited.status_code == 200
    assert limited.headers["retry-after"] == "7"
    assert json.loads(limited.body) == {
        "task_id": "",
        "base_resp": {"status_code": 1002, "status_msg": "rate limit, slow down"},
    }

    busy = minimax.render_error(request, ApiError(503, "the service is busy", {"Retry-After": "5"}))
    assert (busy.status_code, busy.headers["retry-after"]) == (200, "5")
    assert json.loads(busy.body)["base_resp"]["status_code"] == 1000

    query = Request({"type": "http", "method": "GET", "path": QUERY, "headers": [], "query_string": b""})
    crashed = minimax.render_error(query, ApiError(500, "internal error"))
    assert json.loads(crashed.body) == {
        "base_resp": {"status_code": 1000, "status_msg": "unknown error, internal error"}
    }
    assert "retry-after" not in crashed.headers


def test_the_routes_are_documented(idle: Deployment) -> None:
    spec = httpx.get(idle.base + "/openapi.json", timeout=10).json()
    for path, method in ((CREATE, "post"), (QUERY, "get"), (RETRIEVE, "get")):
        operation = spec["paths"][path][method]
        assert "MiniMax" in operation["summary"]
        assert operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert (
        "first_frame_image"
        in spec["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    )


# --- callback_url: MiniMax's challenge handshake --------------------------------------------------------


class CallbackReceiver:
    """A loopback HTTP endpoint that records every POST and answers challenges as `mode` says."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                receiver.received.append((dict(self.headers.items()), payload))
                status, answer = receiver.answer(payload)
                if receiver.mode == "slow":
                    time.sleep(4.5)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the caller gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/minimax/callback"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if "challenge" not in payload:
            return 200, {"status": "success"}  # a status update
        if self.mode == "wrong":
            return 200, {"challenge": "something else"}
        if self.mode == "error":
            return 500, {"challenge": payload["challenge"]}
        return 200, {"challenge": payload["challenge"]}

    def challenges(self) -> list[tuple[dict[str, str], dict[str, Any]]]:
        return [(headers, body) for headers, body in self.received if "challenge" in body]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[CallbackReceiver]:
    served = CallbackReceiver(getattr(request, "param", "echo"))
    yield served
    served.close()


def test_a_callback_url_that_echoes_the_challenge_is_stored(live: Deployment, receiver: CallbackReceiver) -> None:
    started = time.monotonic()
    created = assert_base_resp(_create(live.base, _body(callback_url=receiver.url)), 0)
    assert time.monotonic() - started < 10
    [(headers, challenge)] = receiver.challenges()
    assert set(challenge) == {"challenge"}
    assert isinstance(challenge["challenge"], str) and len(challenge["challenge"]) >= 16
    assert headers["Content-Type"] == "application/json"
    assert live.store.get(created["task_id"]).callback_url == receiver.url

    # Status pushes follow: the last one says `success` and carries the query response's fields.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(body.get("status") == "success" for _, body in receiver.received):
        time.sleep(0.1)
    events = [body for _, body in receiver.received if "challenge" not in body]
    assert events and events[-1]["status"] == "success", events
    assert {event["status"] for event in events} <= {"processing", "success"}
    polled = assert_base_resp(_query(live.base, created["task_id"]), 0)
    assert events[-1] == {**polled, "status": "success"}


def test_a_retried_create_is_not_verified_twice(live: Deployment, receiver: CallbackReceiver) -> None:
    headers = {**AUTH, "Idempotency-Key": "mm-callback-once"}
    first = assert_base_resp(_create(live.base, _body(callback_url=receiver.url), headers), 0)["task_id"]
    again = assert_base_resp(_create(live.base, _body(callback_url=receiver.url), headers), 0)["task_id"]
    assert again == first
    assert len(receiver.challenges()) == 1


@pytest.mark.parametrize(
    ("receiver", "mentions"),
    [("wrong", ("different challenge",)), ("error", ("HTTP 500",)), ("slow", ("3 s",))],
    indirect=["receiver"],
)
def test_a_failed_handshake_refuses_the_create(
    live: Deployment, receiver: CallbackReceiver, mentions: tuple[str, ...]
) -> None:
    count = live.job_count()
    started = time.monotonic()
    body = assert_base_resp(
        _create(live.base, _body(callback_url=receiver.url)), 2013, mentions=("`callback_url`", *mentions)
    )
    assert time.monotonic() - started < 8  # the handshake waits 3 s at most
    assert body["task_id"] == ""
    assert len(receiver.challenges()) == 1
    assert live.job_count() == count


def test_a_create_refused_for_its_image_contacts_no_callback_url(live: Deployment, receiver: CallbackReceiver) -> None:
    # The handshake comes last: a request refused anyway (here for its image) must not make the service POST to
    # an address the caller chose.
    count = live.job_count()
    bad_image = "data:image/png;base64," + base64.b64encode(b"<html>not a picture</html>").decode()
    response = _create(live.base, _body(callback_url=receiver.url, first_frame_image=bad_image))
    assert assert_base_resp(response, 2013, mentions=("`first_frame_image`",))["task_id"] == ""
    assert receiver.received == []
    assert live.job_count() == count


def test_an_unreachable_callback_url_refuses_the_create(live: Deployment) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    count = live.job_count()
    response = _create(live.base, _body(callback_url=f"http://127.0.0.1:{port}/hook"))
    assert assert_base_resp(response, 2013, mentions=("`callback_url`", "reached"))["task_id"] == ""
    assert live.job_count() == count


def test_a_private_callback_url_is_refused_by_default(idle: Deployment, receiver: CallbackReceiver) -> None:
    count = idle.job_count()
    response = _create(idle.base, _body(callback_url=receiver.url))
    assert assert_base_resp(response, 2013, mentions=("`callback_url`",))["task_id"] == ""
    assert receiver.received == []
    assert idle.job_count() == count


# --- webhook bodies -------------------------------------------------------------------------------------


def _job(status: JobStatus, **fields: Any) -> Job:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "id": "123456789012345678",
        "tenant": "t",
        "model": "I2V-01-live",
        "engine": "live2d",
        "prompt": "p",
        "prompt_optimizer": True,
        "status": status,
        "progress": 0.0,
        "attempt": 1,
        "created_at": now,
        "updated_at": now,
        "dialect": "minimax",
    }
    values.update(fields)
    return Job(**values)


def test_callback_bodies_use_minimax_callback_words(services: Services) -> None:
    done = _job(JobStatus.SUCCEEDED, progress=1.0, media_key="videos/x.mp4", result={"width": 944, "height": 720})
    assert minimax_words.render_event(done, services) == {
        "task_id": "123456789012345678",
        "status": "success",
        "file_id": "123456789012345678",
        "video_width": 944,
        "video_height": 720,
        "base_resp": {"status_code": 0, "status_msg": "success"},
    }
    for running in (_job(JobStatus.QUEUED), _job(JobStatus.RUNNING, progress=0.5)):
        assert minimax_words.render_event(running, services) == {
            "task_id": "123456789012345678",
            "status": "processing",
            "base_resp": {"status_code": 0, "status_msg": "success"},
        }
    failed = minimax_words.render_event(
        _job(JobStatus.FAILED, error_code="render_failed", error_message="out of memory"), services
    )
    assert failed["status"] == "failed"
    assert failed["base_resp"]["status_code"] == 1000
    assert "out of memory" in failed["base_resp"]["status_msg"]
    assert "file_id" not in failed
