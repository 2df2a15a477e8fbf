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
from stillmotion.api.connections import OVER_CAPACITY
from stillmotion.api.hot import HotRoutes
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.domain import JobSpec
from stillmotion.jobs import tenant_for_key
from support import OTHER_KEY, TEST_KEY, job_spec

_VOLATILE = ("requestId", "timestamp")


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[tuple[Settings, Services, str]]:
    yield from _world(tmp_path, rate_limit_per_min=4)


@pytest.fixture
def unlimited(tmp_path: Path) -> Iterator[tuple[Settings, Services, str]]:
    yield from _world(tmp_path, rate_limit_per_min=0)


def _world(tmp_path: Path, *, rate_limit_per_min: int) -> Iterator[tuple[Settings, Services, str]]:
    """Settings, services and the id of one finished job (with a video) of TEST_KEY's tenant."""
    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys=f"{TEST_KEY},{OTHER_KEY}",
        public_url="http://testserver",
        rate_limit_per_min=rate_limit_per_min,
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
    return job_spec(tenant_for_key(TEST_KEY))


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


def _both_ways(
    settings: Settings, services: Services, cases: list[tuple[str, dict[str, str], dict[str, str]]]
) -> tuple[dict[bool, list[tuple[int, dict[str, str], Any]]], dict[bool, str]]:
    """Each case's answer with the hot layer and without it, and /metrics after each run."""
    answers, metrics = {}, {}
    for hot in (True, False):
        with TestClient(create_app(settings, services=services, hot_polls=hot)) as client:
            answers[hot] = [
                _answer(client.get(path, params=params, headers=headers)) for path, params, headers in cases
            ]
            metrics[hot] = client.get("/metrics").text
            assert _hot_answers(client.app) == (len(cases) if hot else None)
    return answers, metrics


def test_other_dialects_status_reads_answer_the_same_both_ways(unlimited: tuple[Settings, Services, str]) -> None:
    settings, services, job_id = unlimited
    queued_id = services.store.create(_spec()).id
    mine = {"Authorization": f"Bearer {TEST_KEY}"}
    theirs = {"Authorization": f"Bearer {OTHER_KEY}"}
    cases = [
        ("/v1/query/video_generation", {"task_id": job_id}, mine),  # Success, with file_id and size
        ("/v1/query/video_generation", {"task_id": queued_id}, mine),
        ("/v1/query/video_generation", {"task_id": "404"}, mine),
        ("/v1/query/video_generation", {"task_id": job_id}, theirs),
        ("/v1/query/video_generation", {}, mine),  # task_id missing
        ("/v1/query/video_generation", {"task_id": job_id}, {}),  # no key
        (f"/v1/videos/video_{job_id}", {}, mine),  # completed
        (f"/v1/videos/{queued_id}", {}, mine),  # the bare id works too
        ("/v1/videos/video_404", {}, mine),
        (f"/v1/videos/video_{job_id}", {}, theirs),
        (f"/v1/videos/video_{job_id}", {}, {"Authorization": "Bearer sk-unknown"}),
    ]
    answers, metrics = _both_ways(settings, services, cases)
    assert answers[True] == answers[False]
    minimax_codes = [body["base_resp"]["status_code"] for _status, _headers, body in answers[True][:6]]
    assert minimax_codes == [0, 0, 2013, 2013, 2013, 1004]
    assert answers[True][0][2]["status"] == "Success" and answers[True][0][2]["file_id"] == job_id
    assert [status for status, _headers, _body in answers[True][6:]] == [200, 200, 404, 404, 401]
    assert answers[True][6][2]["status"] == "completed"
    for text in metrics.values():
        assert 'code="200",method="GET",route="/v1/videos/{video_id}"' in text
        assert 'code="200",method="GET",route="/v1/query/video_generation"' in text


def test_hot_and_routed_polls_answer_the_same(shared: tuple[Settings, Services, str]) -> None:
    settings, services, job_id = shared
    queued_id = services.store.create(_spec()).id
    answers, metrics = _both_ways(settings, services, _cases(job_id, queued_id))
    for text in metrics.values():  # metrics label the polls by their route either way
        assert f'code="200",method="GET",route="{GENERATION_PATH}"' in text
        assert f'code="404",method="GET",route="{GENERATION_PATH}"' in text
    assert answers[True] == answers[False]
    statuses = [status for status, _headers, _body in answers[True]]
    assert statuses == [200, 200, 404, 404, 400, 404, 401, 401, 401, 429]
    first = answers[True][0]
    assert first[1]["x-request-id"] == "poll-1"
    assert first[2]["status"] == "completed" and first[2]["video"]["url"].startswith("http://testserver/")


def _hot_answers(app: Any) -> int | None:
    """How many requests the app's `HotRoutes` answered; None when it has none."""
    routes = getattr(app, "hot_routes", None)
    return routes.answered if isinstance(routes, HotRoutes) else None


def test_other_methods_on_the_poll_paths_still_go_through_the_routes(shared: tuple[Settings, Services, str]) -> None:
    settings, services, job_id = shared
    queued_id = services.store.create(_spec()).id
    with TestClient(create_app(settings, services=services)) as client:
        auth = {"Authorization": f"Bearer {TEST_KEY}"}
        cancelled = client.delete(GENERATION_PATH, params={"generation_id": queued_id}, headers=auth)
        assert cancelled.status_code == 200 and cancelled.json()["error"]["name"] == "cancelled"
        assert client.put(GENERATION_PATH, params={"generation_id": job_id}, headers=auth).status_code == 405


def test_an_unexpected_error_in_a_hot_poll_is_the_dialects_500_both_ways(
    unlimited: tuple[Settings, Services, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, services, job_id = unlimited

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the read broke")

    monkeypatch.setattr(services, "read_job", broken)
    for hot in (True, False):
        app = create_app(settings, services=services, hot_polls=hot)
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.get(
                GENERATION_PATH,
                params={"generation_id": job_id},
                headers={"Authorization": f"Bearer {TEST_KEY}", "X-Request-Id": "poll-500"},
            )
            assert answer.status_code == 500, hot
            assert answer.json()["statusCode"] == 500  # the AI/ML error shape, not a bare "Internal Server Error"
            assert _hot_answers(client.app) == (1 if hot else None)
            scraped = client.get("/metrics").text
            assert 'code="500",method="GET",route="/v2/generate/video/minimax/generation"' in scraped


def test_a_hot_poll_on_a_connection_past_the_cap_is_shed(shared: tuple[Settings, Services, str]) -> None:
    """The hot path keeps the connection cap's answer: a 503 in the dialect's shape, with Retry-After."""
    settings, services, job_id = shared
    with TestClient(create_app(settings, services=services)) as client:
        client.app_state[OVER_CAPACITY] = True  # what `serve`'s protocol sets on a connection past the cap
        answer = client.get(
            GENERATION_PATH, params={"generation_id": job_id}, headers={"Authorization": f"Bearer {TEST_KEY}"}
        )
        assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
        assert answer.json()["statusCode"] == 503
        assert _hot_answers(client.app) == 0
