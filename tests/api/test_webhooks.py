"""Webhooks: signed status events, delivered at least once, retried with backoff, never past the URL guard."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest
import standardwebhooks
from fastapi.testclient import TestClient

from stillmotion.api.app import build_services, create_app
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.dialects import aimlapi
from stillmotion.domain import JobStatus
from stillmotion.media.fetch import UrlFetcher
from stillmotion.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    WebhookDispatcher,
    key_from_secret,
    load_or_create_webhook_key,
    secret_text,
    sign,
    verify,
    verify_standard,
)
from stillmotion.worker import Worker
from support import TEST_KEY, b64, make_image

SECRET = b"webhook-test-secret-0123456789"
SEED = "/v2/generate/video/minimax/generation"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


@dataclass
class Receiver:
    """A loopback HTTP server that records what it is sent and answers with `status`."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/video"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The receiver is on loopback, which the URL guard refuses unless the operator allows private addresses.
    return Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY, allow_private_urls=True)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = build_services(settings)
    yield svc
    svc.store.close()


@pytest.fixture
def client(settings: Settings, services: Services) -> TestClient:
    return TestClient(create_app(settings, services=services))


def _dispatcher(services: Services, **overrides: Any) -> WebhookDispatcher:
    options: dict[str, Any] = {"secret": SECRET, "max_attempts": 3, "first_retry_s": 0.0, "timeout_s": 3.0}
    options.update(overrides)
    return WebhookDispatcher(services, {aimlapi.DIALECT: aimlapi.render_event}, **options)


def _create(client: TestClient, callback_url: str) -> str:
    body = {
        "model": "video-01-live2d",
        "prompt": "she smiles",
        "first_frame_image": b64(make_image(400, 320)),
        "duration": 1,
        "callback_url": callback_url,
    }
    response = client.post(SEED, json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    generation_id: str = response.json()["generation_id"]
    return generation_id


def test_a_finished_job_sends_one_signed_event_with_the_poll_body(
    client: TestClient, services: Services, settings: Settings, receiver: Receiver
) -> None:
    generation_id = _create(client, receiver.url)
    dispatcher = _dispatcher(services)
    assert dispatcher.run_once() == 0  # queued jobs owe nothing yet

    Worker(services.store, services.storage, work_dir=settings.work_dir).run_burst()
    assert dispatcher.run_once() == 1  # `running` first: the job's events go out in order
    assert dispatcher.run_once() == 1
    assert dispatcher.run_once() == 0  # each delivered once, not again

    [(_, running), (headers, body)] = receiver.received
    assert json.loads(running)["type"] == "generation.generating"
    assert json.loads(running)["generation"].get("video") is None  # the body describes the job at that status
    assert headers["content-type"] == "application/json"
    assert headers[EVENT_ID_HEADER.lower()] == f"{generation_id}:succeeded"
    assert verify(SECRET, body, headers[SIGNATURE_HEADER.lower()])
    assert not verify(SECRET, body + b" ", headers[SIGNATURE_HEADER.lower()])
    assert not verify(b"another-secret-0123456789", body, headers[SIGNATURE_HEADER.lower()])
    # Standard Webhooks: what its own package and the OpenAI SDK verify, with the secret in whsec_ form.
    assert headers["webhook-id"] == f"{generation_id}:succeeded"
    secret = secret_text(SECRET)
    assert verify_standard(secret, body, headers)
    assert not verify_standard(secret, body + b" ", headers)
    assert standardwebhooks.Webhook(secret).verify(body, headers)["type"] == "generation.completed"
    openai.OpenAI(api_key="unused").webhooks.verify_signature(body, headers, secret=secret)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret_text(b"another-secret-0123456789")).verify(body, headers)
    event = json.loads(body)
    assert event["type"] == "generation.completed"
    polled = client.get(SEED, params={"generation_id": generation_id}, headers=AUTH).json()
    assert event["generation"]["id"] == generation_id
    assert event["generation"]["status"] == polled["status"] == "completed"
    assert event["generation"]["video"]["url"].split("?")[0] == polled["video"]["url"].split("?")[0]


def test_each_status_change_is_an_event(client: TestClient, services: Services, receiver: Receiver) -> None:
    generation_id = _create(client, receiver.url)
    dispatcher = _dispatcher(services)
    claim = services.store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    assert dispatcher.run_once() == 1
    services.store.fail(generation_id, attempt=claim.attempt, code="engine_error", message="boom")
    assert dispatcher.run_once() == 1
    types = [json.loads(body)["type"] for _, body in receiver.received]
    assert types == ["generation.generating", "generation.error"]
    assert json.loads(receiver.received[1][1])["generation"]["error"] == {"name": "engine_error", "message": "boom"}


def test_a_failing_receiver_is_retried_then_given_up(
    client: TestClient, services: Services, receiver: Receiver
) -> None:
    receiver.status = 500
    _create(client, receiver.url)
    services.store.claim(worker_id="w", lease_s=30)
    dispatcher = _dispatcher(services, max_attempts=3)
    sent = [dispatcher.run_once() for _ in range(5)]
    assert sent == [1, 1, 1, 0, 0]  # three attempts, then no more for this status
    assert len(receiver.received) == 3
    # All attempts carry the same event id, so a receiver that got one can drop the repeats.
    assert len({headers[EVENT_ID_HEADER.lower()] for headers, _ in receiver.received}) == 1


def test_a_retry_waits_for_its_backoff(client: TestClient, services: Services, receiver: Receiver) -> None:
    receiver.status = 503
    _create(client, receiver.url)
    services.store.claim(worker_id="w", lease_s=30)
    dispatcher = _dispatcher(services, first_retry_s=60.0)
    assert dispatcher.run_once() == 1
    assert dispatcher.run_once() == 0  # the next try is a minute away
    assert services.store.webhooks.due() == []


def test_a_recovering_receiver_gets_the_event(client: TestClient, services: Services, receiver: Receiver) -> None:
    receiver.status = 502
    _create(client, receiver.url)
    services.store.claim(worker_id="w", lease_s=30)
    dispatcher = _dispatcher(services)
    assert dispatcher.run_once() == 1
    receiver.status = 204
    assert dispatcher.run_once() == 1
    assert dispatcher.run_once() == 0
    assert len(receiver.received) == 2


def test_delivery_rechecks_the_url_guard(client: TestClient, services: Services, receiver: Receiver) -> None:
    _create(client, receiver.url)  # accepted while private addresses were allowed
    services.store.claim(worker_id="w", lease_s=30)
    services.fetcher = UrlFetcher(allow_private=False)  # the operator turned that off
    dispatcher = _dispatcher(services, max_attempts=1)
    assert dispatcher.run_once() == 1
    assert receiver.received == []  # refused before connecting
    assert services.store.webhooks.due() == []


def _running_event_claimed(client: TestClient, services: Services, receiver: Receiver) -> int:
    """A job whose `running` event is due, with that event claimed by one dispatcher; the event's id."""
    _create(client, receiver.url)
    services.store.claim(worker_id="w", lease_s=30)
    [due] = services.store.webhooks.due()
    assert due.status is JobStatus.RUNNING
    assert services.store.webhooks.claim(due.event_id, hold_s=30)
    return due.event_id


def test_only_one_dispatcher_holds_an_event_at_a_time(
    client: TestClient, services: Services, receiver: Receiver
) -> None:
    event_id = _running_event_claimed(client, services, receiver)
    assert not services.store.webhooks.claim(event_id, hold_s=30)
    assert _dispatcher(services).run_once() == 0


def test_a_status_already_delivered_is_not_claimed_again(
    client: TestClient, services: Services, receiver: Receiver
) -> None:
    # A dispatcher that listed the job as due before another one delivered its status must not send it twice.
    event_id = _running_event_claimed(client, services, receiver)
    services.store.webhooks.delivered(event_id)
    assert not services.store.webhooks.claim(event_id, hold_s=30)


def _statuses(receiver: Receiver) -> list[str]:
    return [json.loads(body)["generation"]["status"] for _, body in receiver.received]


def test_every_status_change_is_delivered_in_order(
    client: TestClient, services: Services, settings: Settings, receiver: Receiver
) -> None:
    # The job runs and finishes before any dispatcher looks: its `running` event is still owed, and goes first.
    generation_id = _create(client, receiver.url)
    Worker(services.store, services.storage, work_dir=settings.work_dir).run_burst()
    dispatcher = _dispatcher(services)
    while dispatcher.run_once():
        pass
    assert _statuses(receiver) == ["generating", "completed"]
    assert [status for status, _state, _tries in services.store.webhooks.events(generation_id)] == [
        JobStatus.RUNNING,
        JobStatus.SUCCEEDED,
    ]


def test_each_status_event_has_its_own_retry_budget(client: TestClient, services: Services, receiver: Receiver) -> None:
    # The receiver is down while the job runs and when it finishes; the final event still gets all its tries and
    # reaches the receiver once it is back.
    receiver.status = 503
    generation_id = _create(client, receiver.url)
    claim = services.store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    dispatcher = _dispatcher(services, max_attempts=3)
    assert dispatcher.run_once() == 1  # `running`, first failure
    services.store.fail(generation_id, attempt=claim.attempt, code="engine_error", message="boom")
    assert [dispatcher.run_once() for _ in range(4)] == [1, 1, 1, 1]  # `running` twice more, then `failed` once
    receiver.status = 200
    assert dispatcher.run_once() == 1
    assert dispatcher.run_once() == 0
    assert [(status, state, tries) for status, state, tries in services.store.webhooks.events(generation_id)] == [
        (JobStatus.RUNNING, "abandoned", 3),
        (JobStatus.FAILED, "sent", 2),
    ]
    assert _statuses(receiver)[-1] == "error"


def test_a_job_handed_back_and_run_again_is_running_once(
    client: TestClient, services: Services, receiver: Receiver
) -> None:
    generation_id = _create(client, receiver.url)
    for _ in range(3):  # three workers shutting down in turn hand the job back
        claim = services.store.claim(worker_id="w", lease_s=30)
        assert claim is not None
        services.store.release(generation_id, attempt=claim.attempt)
    dispatcher = _dispatcher(services)
    while dispatcher.run_once():
        pass
    assert _statuses(receiver) == ["generating"]


def test_jobs_without_a_callback_owe_nothing(client: TestClient, services: Services, settings: Settings) -> None:
    body = {"model": "video-01-live2d", "prompt": "p", "first_frame_image": b64(make_image(400, 320)), "duration": 1}
    assert client.post(SEED, json=body, headers=AUTH).status_code == 200
    Worker(services.store, services.storage, work_dir=settings.work_dir).run_burst()
    assert services.store.webhooks.due() == []


def test_a_webhook_secret_in_whsec_form_is_its_base64_key_and_the_earlier_form_still_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert key_from_secret(secret_text(SECRET)) == SECRET
    with pytest.raises(ValueError, match="base64"):
        key_from_secret("whsec_not base64!")
    with caplog.at_level(logging.WARNING, logger="stillmotion.webhooks"):
        assert key_from_secret("my-old-plain-secret-text") == b"my-old-plain-secret-text"
    assert "whsec_" in caplog.text


def test_the_generated_webhook_key_is_kept_in_whsec_form_and_an_earlier_one_is_converted(tmp_path: Path) -> None:
    fresh = tmp_path / "webhook.key"
    key = load_or_create_webhook_key(fresh)
    assert fresh.read_text() == secret_text(key) and len(key) == 32
    assert fresh.stat().st_mode & 0o777 == 0o600
    assert load_or_create_webhook_key(fresh) == key
    # A key file from an earlier release (hex text, used as its own bytes): the same key, now in whsec_ form, so
    # that the earlier signature header does not change for receivers that keep the earlier secret.
    earlier = tmp_path / "old" / "webhook.key"
    earlier.parent.mkdir()
    earlier.write_text("ab" * 32 + "\n")
    assert load_or_create_webhook_key(earlier) == b"ab" * 32
    assert earlier.read_text() == secret_text(b"ab" * 32)
    assert earlier.stat().st_mode & 0o777 == 0o600
    assert load_or_create_webhook_key(earlier) == b"ab" * 32


def test_signature_format_and_tolerance() -> None:
    header = sign(SECRET, b"{}", timestamp=1_000_000)
    assert header.startswith("t=1000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify(SECRET, b"{}", header, now=1_000_100)
    assert not verify(SECRET, b"{}", header, now=1_000_000 + 301)  # too old: a replay
    assert not verify(SECRET, b"{}", "garbage")


def test_an_openai_create_with_a_callback_gets_openai_events(
    client: TestClient, services: Services, settings: Settings, receiver: Receiver
) -> None:
    from stillmotion.dialects import openai_videos

    response = client.post(
        "/v1/videos",
        data={"prompt": "she smiles", "seconds": "4", "callback_url": receiver.url},
        files={"input_reference": ("frame.png", make_image(400, 320), "image/png")},
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    Worker(services.store, services.storage, work_dir=settings.work_dir).run_burst()
    dispatcher = WebhookDispatcher(
        services, {openai_videos.DIALECT: openai_videos.render_event}, secret=SECRET, first_retry_s=0.0
    )
    assert dispatcher.run_once() == 1
    assert dispatcher.run_once() == 1
    [(_, running), (headers, body)] = receiver.received
    assert json.loads(running)["type"] == "video.in_progress"
    event = json.loads(body)
    assert (event["object"], event["type"]) == ("event", "video.completed")
    assert event["data"]["id"] == response.json()["id"]
    assert verify(SECRET, body, headers[SIGNATURE_HEADER.lower()])


def test_an_openai_callback_url_the_guard_refuses_is_a_400(tmp_path: Path) -> None:
    strict = Settings(data_dir=tmp_path / "strict", api_keys=TEST_KEY)
    svc = build_services(strict)
    http = TestClient(create_app(strict, services=svc))
    response = http.post(
        "/v1/videos",
        json={
            "prompt": "p",
            "callback_url": "http://127.0.0.1:9/x",
            "input_reference": {"image_url": "data:image/png;base64," + b64(make_image(400, 320))},
        },
        headers=AUTH,
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "callback_url"
    assert sum(svc.store.counts_by_status().values()) == 0
