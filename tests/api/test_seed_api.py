"""Contract of the seed's routes: wire shapes, every validation rule, auth and tenancy, signed links."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from stillmotion.api.app import build_services, create_app
from stillmotion.api.auth import Authenticator
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.domain import JobStatus
from stillmotion.media.video import probe_video
from stillmotion.worker import Worker
from support import OTHER_KEY, TEST_KEY, b64, make_image
from support_aiml import assert_aiml_error

PATH = "/v2/generate/video/minimax/generation"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "video-01-live2d",
        "prompt": "she smiles and the camera slowly zooms in",
        "prompt_optimizer": True,
        "first_frame_image": b64(make_image(400, 520)),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def _no_jobs(services: Services) -> bool:
    return sum(services.store.counts_by_status().values()) == 0


def test_create_poll_complete_and_download(
    client: TestClient, services: Services, settings: Settings, auth: dict[str, str]
) -> None:
    created = client.post(PATH, json=_body(), headers=auth)
    assert created.status_code == 200, created.text
    assert set(created.json()) == {"generation_id", "status"}
    assert created.json()["status"] == "queued"
    generation_id = created.json()["generation_id"]

    polled = client.get(PATH, params={"generation_id": generation_id}, headers=auth)
    # The hosted API's four fields, plus the `progress` extension (clients ignore fields they do not know).
    assert polled.json() == {"id": generation_id, "status": "queued", "video": None, "error": None, "progress": 0}

    worker = Worker(services.store, services.storage, work_dir=settings.work_dir, lease_s=settings.lease_s)
    assert worker.run_burst() == 1

    done = client.get(PATH, params={"generation_id": generation_id}, headers=auth).json()
    assert done["status"] == "completed", done
    assert done["error"] is None
    assert done["progress"] == 100
    assert done["video"]["duration"] == 6.0
    # The plan the engine drew: the prompt's zoom. The picture (gradients and a disc) has no face, so
    # neither the smile nor the optimizer's breathing and blinks are drawn, and the plan does not claim them.
    tracks = done["motion_plan"]["tracks"]
    assert [(t["part"], t["action"], t["direction"]) for t in tracks] == [("camera", "zoom", "in")]
    assert "zoom" in done["optimized_prompt"] and "smile" not in done["optimized_prompt"]
    url = done["video"]["url"]
    assert url.startswith("http://testserver/media/")
    assert "Expires=" in url and "Signature=" in url

    video = client.get(url)  # no Authorization: the signature is the credential, as with the hosted CDN
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.headers["content-disposition"].startswith("inline")  # plays in a browser tab
    local = settings.data_dir / "downloaded.mp4"
    local.write_bytes(video.content)
    info = probe_video(local)
    assert (info.codec, info.pix_fmt, info.frame_count) == ("h264", "yuv420p", 150)
    assert min(info.width, info.height) == 720
    assert info.faststart


def test_the_alias_model_id_is_accepted(client: TestClient, auth: dict[str, str]) -> None:
    created = client.post(PATH, json=_body(model="I2V-01-live"), headers=auth)
    assert created.status_code == 200, created.text


def test_a_data_uri_and_a_jpeg_are_accepted(client: TestClient, auth: dict[str, str]) -> None:
    data_uri = "data:image/jpeg;base64," + b64(make_image(720, 1072, fmt="JPEG"))
    created = client.post(PATH, json=_body(first_frame_image=data_uri), headers=auth)
    assert created.status_code == 200, created.text


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"model": ...}, ("`model`", "required")),
        ({"model": "video-01"}, ("`model`", "video-01-live2d", "video-01")),
        ({"model": 7}, ("`model`", "string")),
        ({"prompt": ...}, ("`prompt`", "required")),
        ({"prompt": ""}, ("`prompt`", "at least 1")),
        ({"prompt": "   "}, ("`prompt`", "blank")),
        ({"prompt": "x" * 2001}, ("`prompt`", "at most 2000", "2001")),
        ({"prompt": ["a"]}, ("`prompt`", "string")),
        ({"prompt_optimizer": "yes"}, ("`prompt_optimizer`", "true or false")),
        ({"first_frame_image": ...}, ("`first_frame_image`", "required")),
        ({"first_frame_image": ""}, ("`first_frame_image`",)),
        ({"first_frame_image": "not base64 at all!"}, ("`first_frame_image`",)),
        ({"first_frame_image": "file:///etc/passwd"}, ("`first_frame_image`", "file")),
        ({"first_frame_image": b64(make_image(400, 520, fmt="GIF"))}, ("`first_frame_image`", "PNG")),
        ({"first_frame_image": b64(make_image(300, 400))}, ("`first_frame_image`", "300")),
        ({"first_frame_image": b64(make_image(320, 800))}, ("`first_frame_image`", "aspect")),
        ({"first_frame_image": b64(make_image(1300, 500))}, ("`first_frame_image`", "aspect")),
        ({"first_frame_image": b64(make_image(400, 520)[:300])}, ("`first_frame_image`",)),
    ],
    ids=lambda value: str(value)[:40],
)
def test_each_rule_is_a_400_naming_the_field(
    client: TestClient, services: Services, auth: dict[str, str], overrides: dict[str, Any],
    mentions: tuple[str, ...],
) -> None:
    response = client.post(PATH, json=_body(**overrides), headers=auth)
    assert_aiml_error(response, 400, mentions=mentions)
    assert _no_jobs(services)


def test_an_image_over_20_mb_is_refused(client: TestClient, services: Services, auth: dict[str, str]) -> None:
    png = make_image(400, 520)
    # A valid PNG followed by padding: the size rule must trip before anything else.
    oversized = png + b"\0" * (20 * 1024 * 1024 + 1 - len(png))
    response = client.post(PATH, json=_body(first_frame_image=b64(oversized)), headers=auth)
    error = assert_aiml_error(response, response.status_code, mentions=("`first_frame_image`", "20 MB"))
    assert response.status_code in (400, 413)
    assert error
    assert _no_jobs(services)


@pytest.mark.parametrize(
    ("content", "mentions"),
    [
        (b"{not json", ("`body`", "JSON")),
        (b"[1, 2]", ("`body`", "object")),
        (b'{"prompt": "\xff\xfe"}', ("`body`", "UTF-8")),
        (b"[" * 100_000 + b"]" * 100_000, ("`body`",)),
    ],
    ids=["malformed", "array", "invalid-utf8", "deep"],
)
def test_bodies_that_are_not_a_json_object_are_400(
    client: TestClient, services: Services, auth: dict[str, str], content: bytes, mentions: tuple[str, ...]
) -> None:
    response = client.post(PATH, content=content, headers={**auth, "Content-Type": "application/json"})
    assert_aiml_error(response, 400, mentions=mentions)
    assert _no_jobs(services)


def test_a_body_over_the_cap_is_413(settings: Settings, auth: dict[str, str]) -> None:
    small = settings.model_copy(update={"max_request_bytes": 4096})
    services = build_services(small)
    with TestClient(create_app(small, services=services)) as client:
        response = client.post(PATH, json=_body(note="x" * 5000), headers=auth)
    assert_aiml_error(response, 413, mentions=("`body`", "4096"))
    assert _no_jobs(services)


def test_a_streamed_body_over_the_cap_is_cut_off(settings: Settings, auth: dict[str, str]) -> None:
    small = settings.model_copy(update={"max_request_bytes": 4096})
    services = build_services(small)
    chunks = iter([b'{"model": "video-01-live2d", "prompt": "', b"x" * 3000, b"y" * 3000, b'"}'])
    with TestClient(create_app(small, services=services)) as client:  # no Content-Length: chunked
        response = client.post(PATH, content=chunks, headers={**auth, "Content-Type": "application/json"})
    assert_aiml_error(response, 413, mentions=("`body`", "4096"))
    assert _no_jobs(services)


def test_poll_without_generation_id_is_400(client: TestClient, auth: dict[str, str]) -> None:
    assert_aiml_error(client.get(PATH, headers=auth), 400, mentions=("`generation_id`", "required"))


# ---- auth and tenancy ----


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TEST_KEY}, {"Authorization": "Basic abc"}],
    ids=["missing", "wrong", "no-scheme", "basic"],
)
def test_missing_or_wrong_key_is_401(client: TestClient, services: Services, headers: dict[str, str]) -> None:
    assert_aiml_error(client.post(PATH, json=_body(), headers=headers), 401)
    assert_aiml_error(client.get(PATH, params={"generation_id": "1"}, headers=headers), 401)
    assert _no_jobs(services)


def test_another_tenant_gets_the_same_404_as_an_unknown_id(client: TestClient, auth: dict[str, str]) -> None:
    generation_id = client.post(PATH, json=_body(), headers=auth).json()["generation_id"]
    other = {"Authorization": f"Bearer {OTHER_KEY}"}
    theirs = client.get(PATH, params={"generation_id": generation_id}, headers=other)
    unknown = client.get(PATH, params={"generation_id": "999999999999999"}, headers=other)
    assert_aiml_error(theirs, 404)
    assert_aiml_error(unknown, 404)
    assert theirs.json()["message"].replace(generation_id, "ID") == unknown.json()["message"].replace(
        "999999999999999", "ID"
    )
    assert client.get(PATH, params={"generation_id": generation_id}, headers=auth).status_code == 200


def test_stored_keys_work_until_revoked(client: TestClient, services: Services) -> None:
    # Revocation is immediate when valid keys are not remembered; tests/api/test_auth_trust.py covers the
    # default window of a few seconds.
    client.app.state.authenticator = Authenticator(services.store, env_keys=[], trust_s=0)
    key, record = services.store.create_key("someone")
    headers = {"Authorization": f"Bearer {key}"}
    generation_id = client.post(PATH, json=_body(), headers=headers).json()["generation_id"]
    assert client.get(PATH, params={"generation_id": generation_id}, headers=headers).status_code == 200
    services.store.revoke_key(record.id)
    assert_aiml_error(client.get(PATH, params={"generation_id": generation_id}, headers=headers), 401)


# ---- first_frame_image by URL, fetched from a real server on loopback ----


class _ImageHandler(BaseHTTPRequestHandler):
    payload = make_image(400, 520)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def image_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/frame.png"
    server.shutdown()
    server.server_close()


def test_a_loopback_url_is_refused_by_default(
    client: TestClient, services: Services, auth: dict[str, str], image_server: str
) -> None:
    response = client.post(PATH, json=_body(first_frame_image=image_server), headers=auth)
    assert_aiml_error(response, 400, mentions=("`first_frame_image`", "127.0.0.1"))
    assert _no_jobs(services)


def test_a_loopback_url_is_fetched_when_private_addresses_are_allowed(
    settings: Settings, auth: dict[str, str], image_server: str
) -> None:
    intranet = settings.model_copy(update={"allow_private_urls": True})
    services = build_services(intranet)
    with TestClient(create_app(intranet, services=services)) as client:
        response = client.post(PATH, json=_body(first_frame_image=image_server), headers=auth)
    assert response.status_code == 200, response.text
    job = services.store.get(response.json()["generation_id"])
    assert job.status is JobStatus.QUEUED
    assert services.store.load_input(job.id) == _ImageHandler.payload


# ---- signed links ----


def _finished_video_url(client: TestClient, services: Services, settings: Settings, auth: dict[str, str]) -> str:
    tiny = settings.data_dir / "tiny.mp4"
    generation_id = client.post(PATH, json=_body(), headers=auth).json()["generation_id"]
    claim = services.store.claim(worker_id="test", lease_s=30)
    assert claim is not None
    # A finished job without running the engine: put a file in storage and record success.
    tiny.write_bytes(b"\0\0\0\x18ftypmp42")
    services.storage.put_file(f"videos/{generation_id}/1.mp4", tiny)
    services.store.succeed(generation_id, attempt=claim.attempt, media_key=f"videos/{generation_id}/1.mp4", result={})
    url: str = client.get(PATH, params={"generation_id": generation_id}, headers=auth).json()["video"]["url"]
    return url


def test_tampered_and_expired_links_are_403(
    client: TestClient, services: Services, settings: Settings, auth: dict[str, str]
) -> None:
    url = _finished_video_url(client, services, settings, auth)
    assert client.get(url).status_code == 200
    tampered = re.sub(r"Signature=[^&]+", "Signature=AAAA", url)
    assert_aiml_error(client.get(tampered), 403, mentions=("signature",))
    expired = re.sub(r"Expires=\d+", "Expires=1000", url)
    assert client.get(expired).status_code == 403
    other_file = url.replace("/1.mp4", "/2.mp4")
    assert client.get(other_file).status_code == 403


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_healthz_is_degraded_when_the_disk_is_short(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from stillmotion.api import health

    def usage(free_mb: int) -> object:
        return lambda path: SimpleNamespace(total=10_000 * 2**20, used=(10_000 - free_mb) * 2**20, free=free_mb * 2**20)

    monkeypatch.setattr(health.shutil, "disk_usage", usage(100))  # under the default 512 MB floor
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "degraded"
    assert answer.json()["problems"] == ["disk: 100 MB free under the data directory, under the 512 MB floor"]
    monkeypatch.setattr(health.shutil, "disk_usage", usage(4096))
    assert client.get("/healthz").json() == {"status": "ok"}


def test_openapi_documents_the_seed_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"get", "post"} <= set(spec["paths"][PATH])
    assert "examples" in str(spec["paths"][PATH]["post"]["requestBody"])


def test_png_with_alpha_is_accepted(client: TestClient, auth: dict[str, str], tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (500, 400), (10, 200, 30, 128)).save(buffer, format="PNG")
    response = client.post(PATH, json=_body(first_frame_image=b64(buffer.getvalue())), headers=auth)
    assert response.status_code == 200, response.text


# ---- options beyond the seed API ----


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"duration": 0.5}, ("`duration`", "at least 1", "0.5")),
        ({"duration": 12.5}, ("`duration`", "at most 12", "12.5")),
        ({"duration": "6"}, ("`duration`", "number")),
        ({"fps": 11}, ("`fps`", "at least 12")),
        ({"fps": 31}, ("`fps`", "at most 30")),
        ({"fps": 24.5}, ("`fps`", "integer")),
        ({"seed": -1}, ("`seed`", "at least 0")),
        ({"seed": 2**40}, ("`seed`", "at most")),
        ({"seed": "abc"}, ("`seed`", "integer")),
        ({"loop": "yes"}, ("`loop`", "true or false")),
    ],
    ids=lambda value: str(value)[:30],
)
def test_option_rules_are_400s_naming_the_field(
    client: TestClient, services: Services, auth: dict[str, str], overrides: dict[str, Any],
    mentions: tuple[str, ...],
) -> None:
    assert_aiml_error(client.post(PATH, json=_body(**overrides), headers=auth), 400, mentions=mentions)
    assert _no_jobs(services)


def test_options_reach_the_job_and_shape_the_video(
    client: TestClient, services: Services, settings: Settings, auth: dict[str, str]
) -> None:
    body = _body(duration=2, fps=12, seed=7, loop=True)
    generation_id = client.post(PATH, json=body, headers=auth).json()["generation_id"]
    assert services.store.get(generation_id).options == {"duration": 2.0, "fps": 12, "seed": 7, "loop": True}
    worker = Worker(services.store, services.storage, work_dir=settings.work_dir, lease_s=settings.lease_s)
    assert worker.run_burst() == 1
    done = client.get(PATH, params={"generation_id": generation_id}, headers=auth).json()
    assert done["status"] == "completed", done
    local = settings.data_dir / "options.mp4"
    local.write_bytes(client.get(done["video"]["url"]).content)
    info = probe_video(local)
    assert (info.frame_count, round(info.fps)) == (24, 12)
