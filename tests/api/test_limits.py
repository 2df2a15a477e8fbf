"""Per-key limits: the request rate (a token bucket per key and process) and the cap on unfinished jobs, each
refused with 429 and `Retry-After` in every dialect's own error shape."""

from __future__ import annotations

import asyncio
import base64
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stillmotion.api.app import build_services, create_app
from stillmotion.api.limits import RateLimiter
from stillmotion.api.services import CreateRequest
from stillmotion.config import Settings
from stillmotion.domain import JobSpec
from stillmotion.domain.errors import RateLimited
from stillmotion.jobs import JobStore, tenant_for_key
from support import OTHER_KEY, TEST_KEY, b64, make_image
from support_aiml import assert_aiml_error

SEED = "/v2/generate/video/minimax/generation"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_KEY}"}
IMAGE = b64(make_image(320, 400))
# Fetching this would fail with a 400 (a private address, refused by the URL guard): a 429 instead shows that
# the cap was checked before any image fetch.
UNFETCHABLE = "http://127.0.0.1:9/frame.png"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _app(tmp_path: Path, **overrides: Any) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data", api_keys=f"{TEST_KEY},{OTHER_KEY}", public_url="http://testserver", **overrides
    )
    services = build_services(settings)
    try:
        with TestClient(create_app(settings, services=services)) as client:
            yield client
    finally:
        services.store.close()


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[TestClient]:
    """Three requests a minute per key."""
    yield from _app(tmp_path, rate_limit_per_min=3)


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[TestClient]:
    """At most two unfinished jobs per key; no workers, so jobs stay queued."""
    yield from _app(tmp_path, max_unfinished_jobs=2)


# ---- the token bucket itself ----


def test_bucket_allows_a_burst_then_refills_at_the_steady_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(6, clock=clock)  # one token every 10 s
    for _ in range(6):
        limiter.check("a")
    with pytest.raises(RateLimited) as refused:
        limiter.check("a")
    assert refused.value.retry_after_s == 10
    assert "6 requests per minute" in str(refused.value)
    limiter.check("b")  # another key has a bucket of its own

    clock.now += 4.0
    with pytest.raises(RateLimited) as refused:
        limiter.check("a")
    assert refused.value.retry_after_s == 6  # whole seconds, rounded up from 6.0
    clock.now += 6.0
    limiter.check("a")  # one token came back
    with pytest.raises(RateLimited):
        limiter.check("a")

    clock.now += 3600.0
    for _ in range(6):  # a full bucket never holds more than one burst
        limiter.check("a")
    with pytest.raises(RateLimited):
        limiter.check("a")
    assert limiter.refused == 4


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    clock = FakeClock()
    limiter = RateLimiter(7, clock=clock)  # a token every 8.57 s
    for _ in range(7):
        limiter.check("a")
    with pytest.raises(RateLimited) as refused:
        limiter.check("a")
    assert refused.value.retry_after_s == math.ceil(60 / 7) == 9
    clock.now += 8.6
    limiter.check("a")  # 9 s was enough


def test_zero_means_no_limit() -> None:
    limiter = RateLimiter(0, clock=FakeClock())
    for _ in range(10_000):
        limiter.check("a")
    assert limiter.refused == 0


# ---- over HTTP, in each dialect's shape ----


def test_seed_dialect_answers_429_with_retry_after(limited: TestClient) -> None:
    for _ in range(3):
        assert limited.get(SEED, params={"generation_id": "1"}, headers=AUTH).status_code == 404
    refused = limited.get(SEED, params={"generation_id": "1"}, headers=AUTH)
    error = assert_aiml_error(refused, 429, mentions=("3 requests per minute",))
    assert refused.headers["Retry-After"] == "20"  # 60 s / 3 requests
    assert error["message"]
    # Creates are limited too, and another key still has its whole budget.
    assert limited.post(SEED, json={}, headers=AUTH).status_code == 429
    assert limited.get(SEED, params={"generation_id": "1"}, headers=OTHER_AUTH).status_code == 404


def test_minimax_dialect_answers_200_with_base_resp_1002(limited: TestClient) -> None:
    for _ in range(3):
        limited.get("/v1/query/video_generation", params={"task_id": "1"}, headers=AUTH)
    refused = limited.post(
        "/v1/video_generation",
        json={"model": "I2V-01-live", "prompt": "p", "first_frame_image": "data:image/png;base64," + IMAGE},
        headers=AUTH,
    )
    assert refused.status_code == 200  # MiniMax reports every refusal in the body
    body = refused.json()
    assert body["base_resp"]["status_code"] == 1002
    assert "rate limit" in body["base_resp"]["status_msg"]
    assert body["task_id"] == ""
    assert refused.headers["Retry-After"] == "20"


def test_openai_dialect_answers_429_rate_limit_error(limited: TestClient) -> None:
    for _ in range(3):
        limited.get("/v1/videos/video_1", headers=AUTH)
    refused = limited.get("/v1/videos", headers=AUTH)
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error"
    assert "3 requests per minute" in error["message"]
    assert refused.headers["Retry-After"] == "20"


def test_unauthenticated_and_operational_routes_are_not_limited(limited: TestClient) -> None:
    for _ in range(5):
        assert limited.get("/healthz").status_code == 200
        assert limited.get("/metrics").status_code == 200
        assert limited.get("/openapi.json").status_code == 200
        assert limited.get("/").status_code == 200
        # A request without a valid key is refused as such and spends nobody's budget.
        assert limited.get(SEED, params={"generation_id": "1"}).status_code == 401
        bad = {"Authorization": "Bearer not-a-key"}
        assert limited.get(SEED, params={"generation_id": "1"}, headers=bad).status_code == 401
    assert limited.get(SEED, params={"generation_id": "1"}, headers=AUTH).status_code == 404


def test_no_limit_by_default(client: TestClient, auth: dict[str, str]) -> None:
    for _ in range(50):
        assert client.get(SEED, params={"generation_id": "1"}, headers=auth).status_code == 404


# ---- the cap on unfinished jobs ----


def _seed_create(client: TestClient, image: str = IMAGE, **headers: str) -> Any:
    body = {"model": "video-01-live2d", "prompt": "a slow zoom", "first_frame_image": image}
    return client.post(SEED, json=body, headers={**AUTH, **headers})


def test_cap_refuses_a_create_beyond_it_before_fetching(capped: TestClient) -> None:
    first = _seed_create(capped, **{"Idempotency-Key": "first"})
    assert first.status_code == 200, first.text
    assert _seed_create(capped).status_code == 200

    refused = _seed_create(capped, UNFETCHABLE)
    error = assert_aiml_error(refused, 429, mentions=("unfinished", "the limit is 2"))
    assert refused.headers["Retry-After"] == "5"
    assert error["message"].startswith("this API key already has 2 unfinished")

    # Replaying an existing job with its Idempotency-Key is not a new job: it is answered, not refused.
    replay = _seed_create(capped, **{"Idempotency-Key": "first"})
    assert replay.status_code == 200
    assert replay.json()["generation_id"] == first.json()["generation_id"]

    # The cap is per key.
    other = capped.post(
        SEED, json={"model": "video-01-live2d", "prompt": "p", "first_frame_image": IMAGE}, headers=OTHER_AUTH
    )
    assert other.status_code == 200, other.text

    # A finished (here: cancelled) job no longer counts.
    cancelled = capped.delete(SEED, params={"generation_id": first.json()["generation_id"]}, headers=AUTH)
    assert cancelled.status_code == 200, cancelled.text
    assert _seed_create(capped).status_code == 200
    assert _seed_create(capped).status_code == 429


def test_cap_in_minimax_and_openai_shapes(capped: TestClient) -> None:
    for _ in range(2):
        assert _seed_create(capped).status_code == 200

    minimax = capped.post(
        "/v1/video_generation",
        json={"model": "I2V-01-live", "prompt": "p", "first_frame_image": UNFETCHABLE},
        headers=AUTH,
    )
    assert minimax.status_code == 200
    assert minimax.json()["base_resp"]["status_code"] == 1002
    assert "the limit is 2" in minimax.json()["base_resp"]["status_msg"]
    assert minimax.headers["Retry-After"] == "5"

    openai = capped.post(
        "/v1/videos",
        json={"prompt": "p", "input_reference": {"image_url": "data:image/png;base64," + IMAGE}},
        headers=AUTH,
    )
    assert openai.status_code == 429, openai.text
    assert openai.json()["error"]["type"] == "rate_limit_error"
    assert "the limit is 2" in openai.json()["error"]["message"]
    assert openai.headers["Retry-After"] == "5"


def test_a_new_idempotency_key_does_not_skip_the_cap_before_the_image_is_decoded(capped: TestClient) -> None:
    # At the cap, an OpenAI create with a key never used before is a new job: it is refused before its image is
    # decoded (a broken image would otherwise be what answers, after the work of decoding it).
    for _ in range(2):
        assert _seed_create(capped).status_code == 200
    broken = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"x" * 64).decode()
    answer = capped.post(
        "/v1/videos",
        json={"prompt": "p", "input_reference": {"image_url": broken}},
        headers={**AUTH, "Idempotency-Key": "never-used"},
    )
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"]["type"] == "rate_limit_error"


# ---- the store's count, on both back ends ----


def _spec(tenant: str) -> JobSpec:
    return JobSpec(
        tenant=tenant,
        model="video-01-live2d",
        engine="live2d",
        prompt="p",
        image=b"png",
        image_format="png",
        image_width=10,
        image_height=10,
    )


def test_count_unfinished_counts_queued_and_running_of_one_tenant(database_url: str) -> None:
    store = JobStore(database_url)
    store.create_schema()
    try:
        a_ids = {store.create(_spec("t_a")).id for _ in range(4)}
        store.create(_spec("t_b"))
        assert store.count_unfinished("t_a") == 4
        assert store.count_unfinished("t_b") == 1
        claim = store.claim(worker_id="w", lease_s=30)  # running still counts as unfinished
        assert claim is not None
        assert store.count_unfinished("t_a") + store.count_unfinished("t_b") == 5
        store.succeed(claim.job.id, attempt=claim.attempt, media_key="k", result={})
        store.cancel(sorted(a_ids - {claim.job.id})[0])
        finished_a = 2 if claim.job.id in a_ids else 1
        assert store.count_unfinished("t_a") == 4 - finished_a
        assert store.count_unfinished("t_b") == (1 if claim.job.id in a_ids else 0)
        assert store.count_unfinished("t_nobody") == 0
    finally:
        store.close()


def test_a_burst_of_creates_does_not_pass_the_cap(tmp_path: Path) -> None:
    # 30 creates at once through the service (the routes' path): each passes the early check while the others
    # are still decoding, and only the count taken with the insert holds the line.
    settings = Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY, max_unfinished_jobs=3)
    services = build_services(settings)
    tenant = tenant_for_key(TEST_KEY)

    async def burst() -> list[object]:
        def one() -> CreateRequest:
            return CreateRequest(
                tenant=tenant, dialect="aimlapi", model="video-01-live2d", prompt="p", first_frame_image=IMAGE
            )

        return await asyncio.gather(*(services.create_job(one()) for _ in range(30)), return_exceptions=True)

    try:
        outcomes = asyncio.run(burst())
        refused = [outcome for outcome in outcomes if isinstance(outcome, RateLimited)]
        assert len(outcomes) - len(refused) == 3, outcomes
        assert services.store.count_unfinished(tenant) == 3
    finally:
        services.store.close()
