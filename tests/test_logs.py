"""Structured logs: one JSON object per line, a request id from the HTTP request through the job into its worker,
an access line per request; the text format stays as it was."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from stillmotion.api.app import build_services, create_app
from stillmotion.config import Settings
from stillmotion.logs import (
    TEXT_FORMAT,
    JsonFormatter,
    configure_logging,
    current_request_id,
    log_context,
    sane_request_id,
)
from stillmotion.worker import Worker
from support import TEST_KEY, b64, make_image

SEED = "/v2/generate/video/minimax/generation"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
IMAGE = b64(make_image(320, 400))


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger's records as JSON lines in a buffer, at INFO, for the duration of a test."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(old_level)


def _parsed(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


# ---- the formatter and the context ----


def test_json_line_has_the_fields_and_the_context(json_lines: io.StringIO) -> None:
    log = logging.getLogger("stillmotion.test")
    log.info("outside %s", "any context")
    with log_context(request_id="req-1"):
        log.warning("in a request", extra={"attempt": 2, "path": Path("/tmp/x")})
        with log_context(job_id="42"):
            log.info("in a job")
        assert current_request_id() == "req-1"
    assert current_request_id() is None
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")

    outside, request, job, failed = _parsed(json_lines)
    assert set(outside) == {"ts", "level", "logger", "message"}
    assert ISO_UTC.match(outside["ts"])
    assert (outside["level"], outside["logger"]) == ("INFO", "stillmotion.test")
    assert outside["message"] == "outside any context"
    assert request["level"] == "WARNING"
    assert request["request_id"] == "req-1" and "job_id" not in request
    assert (request["attempt"], request["path"]) == (2, "/tmp/x")  # extras, JSON-safe
    assert (job["request_id"], job["job_id"]) == ("req-1", "42")
    assert failed["level"] == "ERROR"
    assert "ValueError: boom" in failed["exception"]
    assert len(json_lines.getvalue().splitlines()) == 4  # a traceback stays inside its one line


def test_sane_request_ids() -> None:
    assert sane_request_id("3f2b-aa_01.x:9") == "3f2b-aa_01.x:9"
    assert sane_request_id("a" * 64) == "a" * 64
    for bad in (None, "", "a" * 65, "-leading-dash", "has space", "new\nline", "quote\"", "ünïcode", "a/b"):
        assert sane_request_id(bad) is None, bad


def test_configure_logging_replaces_its_handler(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging(Settings(data_dir=tmp_path, log_format="json"))
        configure_logging(Settings(data_dir=tmp_path, log_format="text"))
        ours = [h for h in root.handlers if h.get_name() == "stillmotion"]
        assert len(ours) == 1
        assert ours[0].formatter is not None and ours[0].formatter._fmt == TEXT_FORMAT
        configure_logging(Settings(data_dir=tmp_path, log_format="json"))
        ours = [h for h in root.handlers if h.get_name() == "stillmotion"]
        assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)


# ---- in process: the id of a request reaches the job and its worker ----


def test_request_id_is_returned_stored_and_carried_by_the_worker(tmp_path: Path, json_lines: io.StringIO) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", api_keys=TEST_KEY, public_url="http://testserver", log_format="json"
    )
    services = build_services(settings)
    try:
        with TestClient(create_app(settings, services=services)) as client:
            body = {"model": "video-01-live2d", "prompt": "a slow zoom", "first_frame_image": IMAGE, "duration": 1}
            created = client.post(SEED, json=body, headers={**AUTH, "X-Request-Id": "trace-123"})
            assert created.status_code == 200, created.text
            assert created.headers["X-Request-Id"] == "trace-123"
            job_id = created.json()["generation_id"]
            assert services.store.get(job_id).request_id == "trace-123"

            # An unusable incoming id is replaced, and a request without one gets one; so do errors.
            replaced = client.get(SEED, params={"generation_id": "1"}, headers={**AUTH, "X-Request-Id": "a b"})
            assert replaced.status_code == 404
            assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-Id"])
            fresh = client.get("/healthz")
            assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Request-Id"])
            assert fresh.headers["X-Request-Id"] != replaced.headers["X-Request-Id"]

        worker = Worker(services.store, services.storage, work_dir=settings.work_dir, lease_s=5)
        assert worker.run_burst() == 1
    finally:
        services.store.close()

    lines = _parsed(json_lines)
    access = [line for line in lines if line["logger"] == "stillmotion.access"]
    post = next(line for line in access if line["method"] == "POST")
    assert (post["path"], post["status"], post["request_id"]) == (SEED, 200, "trace-123")
    assert post["duration_ms"] >= 0
    assert "generation_id" not in post["path"]  # the path only: query strings can hold signatures
    created_line = next(line for line in lines if line["message"].startswith(f"job {job_id} created"))
    assert created_line["request_id"] == "trace-123"

    worker_lines = [line for line in lines if line["logger"] == "stillmotion.worker"]
    assert len(worker_lines) >= 2  # started, succeeded
    for line in worker_lines:
        assert (line["request_id"], line["job_id"]) == ("trace-123", job_id), line
    assert any("succeeded" in line["message"] for line in worker_lines)


def test_text_mode_has_no_access_lines(client: TestClient, json_lines: io.StringIO) -> None:
    assert client.get("/healthz").status_code == 200
    assert not [line for line in _parsed(json_lines) if line["logger"] == "stillmotion.access"]


# ---- a real `stillmotion serve` process in JSON mode ----


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_writes_json_lines_that_follow_the_request_into_the_worker(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "STILLMOTION_API_KEYS": TEST_KEY,
        "STILLMOTION_LOG_FORMAT": "json",
        "STILLMOTION_POLL_INTERVAL_S": "0.1",
    }
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "stillmotion", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"),
             "--workers", "1", "--print-dev-key"],
            env=env,
            stdout=stderr,
            stderr=stderr,
        )
        try:
            with httpx.Client(base_url=base, timeout=10) as http:
                deadline = time.monotonic() + 30
                while True:
                    assert process.poll() is None, stderr_path.read_text()
                    assert time.monotonic() < deadline, "server did not start"
                    try:
                        if http.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                body = {"model": "video-01-live2d", "prompt": "she smiles", "first_frame_image": IMAGE, "duration": 1}
                created = http.post(SEED, json=body, headers={**AUTH, "X-Request-Id": "serve-trace-7"})
                assert created.status_code == 200, created.text
                assert created.headers["x-request-id"] == "serve-trace-7"
                job_id = created.json()["generation_id"]
                deadline = time.monotonic() + 60
                status = "queued"
                while status not in ("completed", "error"):
                    assert time.monotonic() < deadline, "the job did not finish"
                    time.sleep(0.2)
                    status = http.get(SEED, params={"generation_id": job_id}, headers=AUTH).json()["status"]
                assert status == "completed"
        finally:
            process.terminate()
            process.wait(timeout=30)

    output = stderr_path.read_text()
    records: list[dict[str, Any]] = [json.loads(line) for line in output.splitlines()]  # every line, banner too
    assert all({"ts", "level", "logger", "message"} <= set(record) for record in records)
    banner = next(r for r in records if r.get("url") == base)
    assert banner["docs"] == f"{base}/docs" and banner["dev_key_file"].endswith("dev-key")
    dev_key = (tmp_path / "data" / "dev-key").read_text().strip()
    assert dev_key.startswith("sm-") and dev_key not in output  # the key is in its file, never in the logs
    uvicorn_lines = [r for r in records if r["logger"].startswith("uvicorn")]
    assert uvicorn_lines, "the server's own lines go through the same handler"
    assert not any("color_message" in r for r in uvicorn_lines)

    post = next(r for r in records if r["logger"] == "stillmotion.access" and r["method"] == "POST")
    assert (post["status"], post["request_id"]) == (200, "serve-trace-7")
    about_job = [r for r in records if r.get("job_id") == job_id]
    loggers = {r["logger"] for r in about_job}
    assert {"stillmotion.api", "stillmotion.worker"} <= loggers, about_job
    assert all(r["request_id"] == "serve-trace-7" for r in about_job)
    assert any(r["logger"] == "stillmotion.worker" and "succeeded" in r["message"] for r in about_job)


def test_an_unhandled_error_is_logged_with_its_request_id(tmp_path: Path, json_lines: io.StringIO) -> None:
    settings = Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY, log_format="json")
    services = build_services(settings)
    app = create_app(settings, services=services)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/boom", headers={"X-Request-Id": "bug-1"}).status_code == 500
            scraped = client.get("/metrics").text
    finally:
        services.store.close()
    lines = _parsed(json_lines)
    error = next(line for line in lines if line["message"] == "unhandled error")
    assert error["request_id"] == "bug-1"
    assert "RuntimeError: a bug" in error["exception"]
    access = next(line for line in lines if line["logger"] == "stillmotion.access" and line["path"] == "/boom")
    assert (access["status"], access["request_id"]) == (500, "bug-1")
    assert 'stillmotion_http_requests_total{code="500",method="GET",route="/boom"} 1.0' in scraped
