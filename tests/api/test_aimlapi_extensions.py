"""The AI/ML dialect beyond the seed route: the unified route, cancellation, idempotency, callback URLs, progress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from stillmotion.api.app import build_services, create_app
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.domain import JobStatus
from stillmotion.media.video import probe_video
from stillmotion.worker import Worker
from support import TEST_KEY, Server, b64, make_image
from support_aiml import assert_aiml_error

SEED = "/v2/generate/video/minimax/generation"
UNIFIED = "/v2/video/generations"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "video-01-live2d",
        "prompt": "she smiles",
        "first_frame_image": b64(make_image(400, 320)),
        "duration": 1,
    }
    body.update(overrides)
    return body


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = build_services(settings)
    yield svc
    svc.store.close()


@pytest.fixture
def client(settings: Settings, services: Services) -> TestClient:
    return TestClient(create_app(settings, services=services))


AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


def _job_count(services: Services) -> int:
    return sum(services.store.counts_by_status().values())


def test_unified_route_creates_with_id_and_polls_like_the_seed_route(
    client: TestClient, services: Services, settings: Settings
) -> None:
    created = client.post(UNIFIED, json=_body(), headers=AUTH)
    assert created.status_code == 200, created.text
    assert set(created.json()) == {"id", "status"}
    generation_id = created.json()["id"]
    assert created.json()["status"] == "queued"
    # One job system: the seed route sees a job made on the unified route and the other way round.
    assert client.get(SEED, params={"generation_id": generation_id}, headers=AUTH).json()["status"] == "queued"

    Worker(services.store, services.storage, work_dir=settings.work_dir).run_burst()
    done = client.get(UNIFIED, params={"generation_id": generation_id}, headers=AUTH).json()
    assert done["status"] == "completed" and done["progress"] == 100
    assert done["video"]["duration"] == 1.0
    assert client.get(done["video"]["url"]).status_code == 200


def test_unified_route_errors_use_the_aiml_shape(client: TestClient) -> None:
    assert_aiml_error(client.post(UNIFIED, json=_body(), headers={}), 401)
    assert_aiml_error(client.post(UNIFIED, json=_body(fps=99), headers=AUTH), 400, mentions=("`fps`", "at most 30"))
    assert_aiml_error(client.get(UNIFIED, params={"generation_id": "404"}, headers=AUTH), 404)
    assert_aiml_error(client.delete(UNIFIED, params={"generation_id": "404"}, headers=AUTH), 404)
    assert_aiml_error(client.get(UNIFIED, headers=AUTH), 400, mentions=("generation_id",))


def test_cancelling_a_queued_generation_ends_it_and_no_worker_runs_it(
    client: TestClient, services: Services, settings: Settings
) -> None:
    generation_id = client.post(SEED, json=_body(), headers=AUTH).json()["generation_id"]
    cancelled = client.delete(SEED, params={"generation_id": generation_id}, headers=AUTH)
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "error"
    assert body["error"]["name"] == "cancelled"
    assert "progress" not in body
    assert Worker(services.store, services.storage, work_dir=settings.work_dir).run_burst() == 0
    # Cancelling again, or a finished job, changes nothing.
    again = client.delete(UNIFIED, params={"generation_id": generation_id}, headers=AUTH)
    assert again.json() == body


def test_cancelling_a_finished_generation_leaves_it_completed(
    client: TestClient, services: Services, settings: Settings
) -> None:
    generation_id = client.post(SEED, json=_body(), headers=AUTH).json()["generation_id"]
    Worker(services.store, services.storage, work_dir=settings.work_dir).run_burst()
    after = client.delete(SEED, params={"generation_id": generation_id}, headers=AUTH).json()
    assert after["status"] == "completed"
    assert after["video"]["url"]


def test_the_same_idempotency_key_and_body_give_the_same_generation(client: TestClient, services: Services) -> None:
    body = _body()
    headers = {**AUTH, "Idempotency-Key": "order-42"}
    first = client.post(SEED, json=body, headers=headers)
    second = client.post(UNIFIED, json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["generation_id"] == second.json()["id"]
    assert _job_count(services) == 1
    # Another key is another generation.
    third = client.post(SEED, json=body, headers={**AUTH, "Idempotency-Key": "order-43"})
    assert third.json()["generation_id"] != first.json()["generation_id"]
    assert _job_count(services) == 2


def test_an_idempotency_key_reused_with_another_body_is_a_409(client: TestClient, services: Services) -> None:
    headers = {**AUTH, "Idempotency-Key": "order-7"}
    assert client.post(SEED, json=_body(prompt="she smiles"), headers=headers).status_code == 200
    clash = client.post(SEED, json=_body(prompt="he waves"), headers=headers)
    assert_aiml_error(clash, 409, mentions=("Idempotency-Key", "different request"))
    assert _job_count(services) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9".encode("latin-1"), "tab\there"])
def test_a_malformed_idempotency_key_is_a_400(client: TestClient, services: Services, key: str | bytes) -> None:
    response = client.post(SEED, json=_body(), headers={**AUTH, "Idempotency-Key": key})
    assert_aiml_error(response, 400, mentions=("Idempotency-Key", "printable ASCII"))
    assert _job_count(services) == 0


@pytest.mark.parametrize(
    ("url", "mentions"),
    [
        ("http://127.0.0.1:9/hook", ("`callback_url`", "loopback")),
        ("http://10.1.2.3/hook", ("`callback_url`", "private")),
        ("http://169.254.169.254/latest", ("`callback_url`",)),
        ("file:///etc/passwd", ("`callback_url`", "scheme")),
        ("gopher://example.com/", ("`callback_url`", "scheme")),
        ("not a url", ("`callback_url`",)),
    ],
)
def test_a_callback_url_the_guard_refuses_is_a_400_and_nothing_is_stored(
    client: TestClient, services: Services, url: str, mentions: tuple[str, ...]
) -> None:
    response = client.post(SEED, json=_body(callback_url=url), headers=AUTH)
    assert_aiml_error(response, 400, mentions=mentions)
    assert _job_count(services) == 0


@pytest.mark.slow
def test_over_http_a_running_generation_reports_rising_progress_and_cancels_within_a_second(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", workers=1)
    try:
        with httpx.Client(base_url=server.base, headers=AUTH, timeout=10) as http:
            # A long render so that it is still running when cancelled: the subject itself moves (a camera
            # move alone is a cheap resample of one canvas, over before the poller sees it climb).
            body = _body(
                first_frame_image=b64(make_image(900, 720)),
                prompt="it sways from side to side while the camera slowly zooms in",
                duration=12,
                fps=30,
            )
            generation_id = http.post(UNIFIED, json=body).json()["id"]
            seen: list[int] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                polled = http.get(UNIFIED, params={"generation_id": generation_id}).json()
                if polled["status"] == "generating":
                    seen.append(polled["progress"])
                    if polled["progress"] >= 50:
                        break
                time.sleep(0.05)
            assert seen and seen[-1] >= 50, seen
            assert seen == sorted(seen), f"progress went backwards: {seen}"
            assert len(set(seen)) >= 4, f"progress moved in too few steps: {seen}"

            engine_pids = [pid for pid in server.children() if b"spawn_main" in _cmdline(pid)]
            assert len(engine_pids) == 1, "expected one engine process"
            work_dir = tmp_path / "data" / "work"
            assert any(work_dir.iterdir()), "no scratch video while rendering"
            cancelled_at = time.monotonic()
            assert http.delete(UNIFIED, params={"generation_id": generation_id}).json()["error"]["name"] == "cancelled"
            # The worker stops the render between frames (its scratch video is deleted) and keeps the engine
            # process, with whatever it has loaded, for the next job.
            while any(work_dir.iterdir()) and time.monotonic() - cancelled_at < 10:
                time.sleep(0.02)
            stopped_after_s = time.monotonic() - cancelled_at
            assert not any(work_dir.iterdir()), "the engine kept rendering"
            assert stopped_after_s < 3.0, f"the render stopped only after {stopped_after_s:.2f} s"
            assert all(Path(f"/proc/{pid}").exists() for pid in engine_pids), "the engine process was killed"

            next_id = http.post(UNIFIED, json=_body()).json()["id"]
            deadline = time.monotonic() + 60
            while http.get(UNIFIED, params={"generation_id": next_id}).json()["status"] != "completed":
                assert time.monotonic() < deadline, "the worker did not take the next job after a cancel"
                time.sleep(0.2)
            video = http.get(http.get(UNIFIED, params={"generation_id": next_id}).json()["video"]["url"])
            (tmp_path / "next.mp4").write_bytes(video.content)
            assert probe_video(tmp_path / "next.mp4").frame_count == 25
            assert [pid for pid in server.children() if b"spawn_main" in _cmdline(pid)] == engine_pids
            assert http.get(UNIFIED, params={"generation_id": generation_id}).json()["status"] == "error"
    finally:
        server.stop()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_store_cancel_of_a_running_job_makes_the_next_heartbeat_fail(services: Services) -> None:
    from stillmotion.domain import JobSpec

    job = services.store.create(
        JobSpec(tenant="t", model="video-01-live2d", engine="live2d", prompt="p", image=b"x", image_format="png",
                image_width=1, image_height=1)
    )
    claim = services.store.claim(worker_id="w", lease_s=30)
    assert claim is not None and claim.job.id == job.id
    assert services.store.cancel(job.id).status is JobStatus.CANCELLED
    assert services.store.heartbeat(job.id, attempt=claim.attempt, lease_s=30) is False
    assert services.store.succeed(job.id, attempt=claim.attempt, media_key="k", result={}) is False
