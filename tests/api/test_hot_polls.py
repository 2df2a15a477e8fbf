"""Status polls answered through `api.hot` (no FastAPI routing) are the same as through the routes: status,
body, headers, request ids, metrics and error shapes, for every outcome a poll can have."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stillmotion.api.aimlapi import GENERATION_PATH, UNIFIED_PATH
from stillmotion.api.app import build_services, create_app
from stillmotion.api.hot import HotRoutes
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.domain import JobSpec
from stillmotion.jobs import tenant_for_key
from support import OTHER_KEY, TEST_KEY

_VOLATILE = ("requestId", "timestamp")


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[tuple[Settings, Services, str]]:
    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys=f"{TEST_KEY},{OTHER_KEY}",
        public_url="http://testserver",
        rate_limit_per_min=4,
    )
    services = build_services(settings)
    finished = services.store.create(_spec())
    claim = services.store.claim(worker_id="w", lease_s=30)
    assert claim is not None and claim.job.id == finished.id
    services.store.succeed(
        finished.id, attempt=claim.attempt, media_key="videos/x.mp4", result={"duration_s": 2.0, "width": 8}
    )
    yield settings, services, finished.id
    services.store.close()


def _spec() -> JobSpec:
    return JobSpec(
        tenant=tenant_for_key(TEST_KEY),
        model="video-01-live2d",
        engine="live2d",
        prompt="she smiles",
        image=b"\x89PNG fake bytes",
        image_format="png",
        image_width=400,
        image_height=600,
    )


def _answer(response: Any) -> tuple[int, dict[str, str], Any]:
    headers = {
        name: response.headers[name]
        for name in ("content-type", "retry-after", "www-authenticate", "x-request-id")
        if name in response.headers
    }
    if headers.get("x-request-id") != "poll-1":  # one the server made up: present, its value differs each time
        headers["x-request-id"] = "<generated>"
    body = response.json()
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key not in _VOLATILE}
    return response.status_code, headers, body


def _cases(job_id: str, queued_id: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    mine = {"Authorization": f"Bearer {TEST_KEY}", "X-Request-Id": "poll-1"}
    return [
        (GENERATION_PATH, {"generation_id": job_id}, mine),  # completed, with a signed link
        (UNIFIED_PATH, {"generation_id": queued_id}, mine),  # queued
        (GENERATION_PATH, {"generation_id": "404"}, mine),
        (GENERATION_PATH, {"generation_id": job_id}, {"Authorization": f"Bearer {OTHER_KEY}"}),  # not theirs
        (GENERATION_PATH, {}, mine),  # generation_id missing
        (UNIFIED_PATH, {"generation_id": ""}, mine),
        (GENERATION_PATH, {"generation_id": job_id}, {}),  # no key
        (GENERATION_PATH, {"generation_id": job_id}, {"Authorization": "Bearer sk-unknown"}),
        (GENERATION_PATH, {"generation_id": job_id}, {"Authorization": "Basic abc"}),
        # The key's 4 requests a minute are spent by now (the one without an id was refused before the key
        # was looked at): refused with Retry-After, in the AI/ML shape.
        (GENERATION_PATH, {"generation_id": job_id}, mine),
    ]


def test_hot_and_routed_polls_answer_the_same(shared: tuple[Settings, Services, str]) -> None:
    settings, services, job_id = shared
    queued_id = services.store.create(_spec()).id
    answers = {}
    for hot in (True, False):
        with TestClient(create_app(settings, services=services, hot_polls=hot)) as client:
            answers[hot] = [
                _answer(client.get(path, params=params, headers=headers))
                for path, params, headers in _cases(job_id, queued_id)
            ]
            metrics = client.get("/metrics").text
            assert _hot_answers(client.app) == (len(_cases(job_id, queued_id)) if hot else None)
        # Metrics label the polls by their route either way.
        assert f'method="GET",route="{GENERATION_PATH}",code="200"' in metrics
        assert f'method="GET",route="{GENERATION_PATH}",code="404"' in metrics
    assert answers[True] == answers[False]
    statuses = [status for status, _headers, _body in answers[True]]
    assert statuses == [200, 200, 404, 404, 400, 404, 401, 401, 401, 429]
    first = answers[True][0]
    assert first[1]["x-request-id"] == "poll-1"
    assert first[2]["status"] == "completed" and first[2]["video"]["url"].startswith("http://testserver/")


def _hot_answers(app: Any) -> int | None:
    """How many requests the app's `HotRoutes` layer answered; None when it has none."""
    layer = app.middleware_stack
    while layer is not None:
        if isinstance(layer, HotRoutes):
            return layer.answered
        layer = getattr(layer, "app", None)
    return None


def test_other_methods_on_the_poll_paths_still_go_through_the_routes(shared: tuple[Settings, Services, str]) -> None:
    settings, services, job_id = shared
    queued_id = services.store.create(_spec()).id
    with TestClient(create_app(settings, services=services)) as client:
        auth = {"Authorization": f"Bearer {TEST_KEY}"}
        cancelled = client.delete(GENERATION_PATH, params={"generation_id": queued_id}, headers=auth)
        assert cancelled.status_code == 200 and cancelled.json()["error"]["name"] == "cancelled"
        assert client.put(GENERATION_PATH, params={"generation_id": job_id}, headers=auth).status_code == 405
