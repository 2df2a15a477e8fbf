"""Contract of the OpenAI Videos dialect over real HTTP: wire shapes, pagination, delete, content, every error.

The app runs under uvicorn on a loopback port in a thread; jobs are rendered by a `Worker` in burst mode
(exact, no sleeps) or on a thread where a test needs a render in flight. The last tests drive the server
with the official `openai` SDK, the strongest proof that unmodified clients work.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from stillmotion.api.app import build_services, create_app
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.dialects import openai_videos
from stillmotion.media.video import probe_video
from stillmotion.worker import Worker
from support import OTHER_KEY, TEST_KEY, b64, make_image
from support_network import serving

VIDEO_KEYS = {
    "id", "object", "model", "status", "progress", "created_at", "completed_at", "expires_at", "prompt",
    "seconds", "size", "remixed_from_video_id", "error", "motion_plan", "seed",
}
PROMPT = "she smiles and the camera slowly zooms in"


@pytest.fixture
def base_url(settings: Settings, services: Services) -> Iterator[str]:
    with serving(create_app(settings, services=services)) as url:
        yield url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TEST_KEY}"}, timeout=60) as client:
        yield client


@pytest.fixture
def run_worker(services: Services, settings: Settings) -> Callable[[], int]:
    def run() -> int:
        worker = Worker(services.store, services.storage, work_dir=settings.work_dir, lease_s=settings.lease_s)
        return worker.run_burst()

    return run


def png(width: int, height: int, *, seed: int = 0) -> bytes:
    return make_image(width, height, seed=seed)


def create_multipart(
    http: httpx.Client, image: bytes, *, headers: dict[str, str] | None = None, **fields: str
) -> httpx.Response:
    data = {"prompt": PROMPT, **fields}
    return http.post(
        "/v1/videos", data=data, files={"input_reference": ("frame.png", image, "image/png")}, headers=headers
    )


def create_json(http: httpx.Client, **body: Any) -> httpx.Response:
    payload: dict[str, Any] = {
        "prompt": PROMPT,
        "input_reference": {"image_url": "data:image/png;base64," + b64(png(400, 520))},
    }
    payload.update(body)
    return http.post("/v1/videos", json={k: v for k, v in payload.items() if v is not ...})


def assert_openai_error(response: httpx.Response, status: int, *, param: str | None, mentions: tuple[str, ...] = ()
                        ) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")
    assert error["param"] == param, error
    for word in mentions:
        assert word in error["message"], error["message"]
    return error


def job_count(services: Services) -> int:
    return sum(services.store.counts_by_status().values())


# ---- create, retrieve, content ----


def test_multipart_create_renders_to_a_completed_video_with_its_content(
    http: httpx.Client, run_worker: Callable[[], int], tmp_path: Path
) -> None:
    created = create_multipart(http, png(500, 400), model="sora-2-pro", seconds="4", size="1280x720")
    assert created.status_code == 200, created.text
    video = created.json()
    assert set(video) == VIDEO_KEYS
    assert video["id"].startswith("video_")
    assert (video["object"], video["model"], video["status"], video["progress"]) == ("video", "sora-2-pro", "queued", 0)
    assert (video["seconds"], video["size"], video["prompt"]) == ("4", "1280x720", PROMPT)
    assert video["completed_at"] is None and video["error"] is None and video["remixed_from_video_id"] is None
    assert video["motion_plan"] is None and video["seed"] is None  # the engine has not run yet
    assert abs(video["created_at"] - time.time()) < 60

    early = http.get(f"/v1/videos/{video['id']}/content")
    assert_openai_error(early, 404, param="video_id", mentions=("queued", "not ready"))

    assert run_worker() == 1
    done = http.get(f"/v1/videos/{video['id']}").json()
    assert done["status"] == "completed", done
    assert done["progress"] == 100
    assert done["completed_at"] >= done["created_at"]
    assert done["error"] is None
    drawn = {(track["part"], track["action"]) for track in done["motion_plan"]["tracks"]}
    assert ("camera", "zoom") in drawn

    content = http.get(f"/v1/videos/{video['id']}/content")
    assert content.status_code == 200
    assert content.headers["content-type"] == "video/mp4"
    local = tmp_path / "video.mp4"
    local.write_bytes(content.content)
    info = probe_video(local)
    # Exactly the requested size, 4 s at the default 25 fps.
    assert (info.codec, info.width, info.height, info.frame_count) == ("h264", 1280, 720, 100)
    assert info.faststart

    thumbnail = http.get(f"/v1/videos/{video['id']}/content", params={"variant": "thumbnail"})
    assert thumbnail.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumbnail.content)) as image:
        assert (image.format, image.size) == ("WEBP", (1280, 720))

    sheet = http.get(f"/v1/videos/{video['id']}/content", params={"variant": "spritesheet"})
    assert sheet.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(sheet.content)) as image:
        assert (image.format, image.size) == ("JPEG", (3 * 256, 3 * 144))  # 3x3 tiles of 256x144


def test_json_create_with_a_data_uri_crops_to_the_chosen_size(http: httpx.Client, services: Services) -> None:
    # A 400x520 portrait with no `size`: 720x1280 is chosen, and the image is centre-cropped to 9:16.
    created = create_json(http)
    assert created.status_code == 200, created.text
    video = created.json()
    assert (video["model"], video["seconds"], video["size"], video["status"]) == ("sora-2", "4", "720x1280", "queued")
    job = services.store.get(openai_videos.job_id_from_wire(video["id"]))
    assert job.options == {"duration": 4.0, "width": 720, "height": 1280}
    with Image.open(io.BytesIO(services.store.load_input(job.id))) as stored:
        assert stored.size == (292, 520)  # 520 * 9 / 16 = 292.5 -> 292 wide, full height


def test_json_accepts_a_bare_url_string_and_numeric_seconds(http: httpx.Client) -> None:
    data_uri = "data:image/png;base64," + b64(png(640, 400))
    created = create_json(http, input_reference=data_uri, seconds=8)
    assert created.status_code == 200, created.text
    assert (created.json()["seconds"], created.json()["size"]) == ("8", "1280x720")  # landscape image


def test_twelve_seconds_is_accepted(http: httpx.Client, services: Services) -> None:
    created = create_multipart(http, png(400, 520), seconds="12", size="1024x1792")
    assert created.status_code == 200, created.text
    job = services.store.get(openai_videos.job_id_from_wire(created.json()["id"]))
    assert job.options == {"duration": 12.0, "width": 1024, "height": 1792}


def test_the_same_idempotency_key_gives_the_same_video(http: httpx.Client, services: Services) -> None:
    image = png(400, 520)
    first = create_multipart(http, image, headers={"Idempotency-Key": "abc-1"})
    again = create_multipart(http, image, headers={"Idempotency-Key": "abc-1"})
    other = create_multipart(http, image, headers={"Idempotency-Key": "abc-2"})
    assert first.status_code == again.status_code == other.status_code == 200
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert job_count(services) == 2


def test_an_idempotency_key_reused_with_another_request_is_a_409(http: httpx.Client, services: Services) -> None:
    image = png(400, 520)
    assert create_multipart(http, image, headers={"Idempotency-Key": "abc-9"}).status_code == 200
    clash = create_multipart(http, image, headers={"Idempotency-Key": "abc-9"}, seconds="8")
    assert_openai_error(clash, 409, param="Idempotency-Key", mentions=("different request",))
    assert job_count(services) == 1


def test_jobs_of_other_dialects_are_visible_by_bare_and_prefixed_id(http: httpx.Client) -> None:
    seed = http.post(
        "/v2/generate/video/minimax/generation",
        json={"model": "video-01-live2d", "prompt": "she nods", "first_frame_image": b64(png(400, 520))},
    )
    generation_id = seed.json()["generation_id"]
    for video_id in (generation_id, f"video_{generation_id}"):
        video = http.get(f"/v1/videos/{video_id}").json()
        assert video["id"] == f"video_{generation_id}"
        assert (video["model"], video["seconds"], video["status"]) == ("video-01-live2d", "6", "queued")
        assert video["size"] is None  # decided by the engine at render time


# ---- list ----


def test_list_pages_through_every_video_in_both_orders(http: httpx.Client) -> None:
    ids = [create_json(http, prompt=f"video {n}").json()["id"] for n in range(5)]

    def walk(order: str) -> list[str]:
        seen: list[str] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2, "order": order, **({"after": after} if after else {})}
            page = http.get("/v1/videos", params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            assert set(body) == {"object", "data", "first_id", "last_id", "has_more"}
            assert body["object"] == "list"
            page_ids = [video["id"] for video in body["data"]]
            assert all(set(video) == VIDEO_KEYS for video in body["data"])
            assert (body["first_id"], body["last_id"]) == (page_ids[0], page_ids[-1])
            seen += page_ids
            if not body["has_more"]:
                assert len(page_ids) == 1  # 5 videos in pages of 2: 2, 2, 1
                return seen
            assert len(page_ids) == 2
            after = body["last_id"]

    assert walk("desc") == ids[::-1]
    assert walk("asc") == ids
    default = http.get("/v1/videos").json()  # newest first, up to 20
    assert [video["id"] for video in default["data"]] == ids[::-1]
    assert default["has_more"] is False
    # A bare job id works as a cursor too.
    bare = openai_videos.job_id_from_wire(ids[2])
    assert [v["id"] for v in http.get("/v1/videos", params={"after": bare, "order": "asc"}).json()["data"]] == ids[3:]


def test_an_empty_list(http: httpx.Client) -> None:
    body = http.get("/v1/videos").json()
    assert body == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


@pytest.mark.parametrize(
    ("params", "param", "mentions"),
    [
        ({"limit": "0"}, "limit", ("1 to 100", "0")),
        ({"limit": "101"}, "limit", ("101",)),
        ({"limit": "ten"}, "limit", ("integer",)),
        ({"order": "newest"}, "order", ("asc or desc",)),
        ({"after": "video_999"}, "after", ("video_999",)),
    ],
)
def test_bad_list_parameters_are_400s_naming_them(
    http: httpx.Client, params: dict[str, str], param: str, mentions: tuple[str, ...]
) -> None:
    assert_openai_error(http.get("/v1/videos", params=params), 400, param=param, mentions=mentions)


# ---- delete ----


def test_delete_answers_the_deleted_object_then_404(http: httpx.Client, services: Services) -> None:
    video_id = create_json(http).json()["id"]
    deleted = http.delete(f"/v1/videos/{video_id}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": video_id, "object": "video.deleted", "deleted": True}
    assert_openai_error(http.get(f"/v1/videos/{video_id}"), 404, param=None, mentions=(video_id,))
    assert_openai_error(http.delete(f"/v1/videos/{video_id}"), 404, param=None)
    assert http.get("/v1/videos").json()["data"] == []
    assert job_count(services) == 0


def test_delete_during_rendering_stops_the_render(
    http: httpx.Client, services: Services, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stillmotion.worker")
    video_id = create_multipart(http, png(500, 400), seconds="12", size="1280x720").json()["id"]
    job_id = openai_videos.job_id_from_wire(video_id)
    worker = Worker(services.store, services.storage, work_dir=settings.work_dir, lease_s=settings.lease_s)
    thread = threading.Thread(target=worker.run_burst, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while True:
        video = http.get(f"/v1/videos/{video_id}").json()
        if video["status"] == "in_progress" and video["progress"] > 0:
            break
        assert video["status"] in ("queued", "in_progress") and time.monotonic() < deadline, video
        time.sleep(0.05)
    assert video["progress"] < 100

    assert http.delete(f"/v1/videos/{video_id}").json()["deleted"] is True
    thread.join(timeout=60)
    assert not thread.is_alive()
    # The worker saw the job vanish at a heartbeat and abandoned the render: no video was ever stored.
    assert f"job {job_id} attempt 1: no longer ours, abandoned" in caplog.text
    assert not (settings.media_dir / "videos" / job_id).exists()
    assert list(settings.work_dir.glob("*.mp4")) == []
    assert http.get(f"/v1/videos/{video_id}").status_code == 404


# ---- errors ----


def test_a_missing_or_wrong_key_is_401(base_url: str) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        for method, path in (("GET", "/v1/videos"), ("POST", "/v1/videos"), ("GET", "/v1/videos/video_1/content")):
            response = httpx.request(method, base_url + path, headers=headers, timeout=10)
            error = assert_openai_error(response, 401, param=None)
            assert error["code"] == "invalid_api_key"


def test_an_unknown_id_is_404(http: httpx.Client) -> None:
    for path in ("/v1/videos/video_123", "/v1/videos/123/content"):
        assert_openai_error(http.get(path), 404, param=None, mentions=("video ",))
    assert_openai_error(http.delete("/v1/videos/video_123"), 404, param=None, mentions=("video 'video_123' not found",))


def test_another_tenants_videos_are_404_and_not_listed(http: httpx.Client, base_url: str) -> None:
    video_id = create_json(http).json()["id"]
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {OTHER_KEY}"}, timeout=10) as other:
        assert_openai_error(other.get(f"/v1/videos/{video_id}"), 404, param=None)
        assert_openai_error(other.get(f"/v1/videos/{video_id}/content"), 404, param=None)
        assert_openai_error(other.delete(f"/v1/videos/{video_id}"), 404, param=None)
        assert other.get("/v1/videos").json()["data"] == []
        assert_openai_error(other.get("/v1/videos", params={"after": video_id}), 400, param="after")
    assert http.get(f"/v1/videos/{video_id}").status_code == 200  # untouched


@pytest.mark.parametrize(
    ("fields", "param", "mentions"),
    [
        ({"seconds": "5"}, "seconds", ("4, 8, 12", "'5'")),
        ({"seconds": "4.0"}, "seconds", ("4, 8, 12",)),
        ({"size": "640x480"}, "size", ("720x1280", "640x480")),
        ({"model": "gpt-4o"}, "model", ("sora-2", "gpt-4o")),
        ({"prompt": ""}, "prompt", ("blank",)),
        ({"prompt": "x" * 10_001}, "prompt", ("10000", "10001")),
        ({"duration": "4"}, "duration", ("unknown parameter",)),
        ({"input_reference[file_id]": "file-abc"}, "input_reference[file_id]", ("Files API",)),
    ],
    ids=lambda value: str(value)[:30],
)
def test_each_bad_form_field_is_a_400_naming_it(
    http: httpx.Client, services: Services, fields: dict[str, str], param: str, mentions: tuple[str, ...]
) -> None:
    assert_openai_error(create_multipart(http, png(400, 520), **fields), 400, param=param, mentions=mentions)
    assert job_count(services) == 0


@pytest.mark.parametrize(
    ("image", "mentions"),
    [
        (b"hello, not an image", ("JPG/JPEG or PNG",)),
        (b"", ("empty",)),
        (make_image(400, 520, fmt="GIF"), ("GIF",)),
        (make_image(300, 400), ("300",)),
        (make_image(1300, 500), ("aspect",)),
        (make_image(400, 520)[:300], ("PNG",)),
    ],
    ids=["text", "empty", "gif", "small", "aspect", "truncated"],
)
def test_a_bad_uploaded_image_is_a_400_on_input_reference(
    http: httpx.Client, services: Services, image: bytes, mentions: tuple[str, ...]
) -> None:
    assert_openai_error(create_multipart(http, image), 400, param="input_reference", mentions=mentions)
    assert job_count(services) == 0


@pytest.mark.parametrize(
    ("body", "param", "mentions"),
    [
        ({"prompt": ...}, "prompt", ("required",)),
        ({"prompt": 7}, "prompt", ("string",)),
        ({"input_reference": ...}, "input_reference", ("required", "first frame")),
        ({"input_reference": {"file_id": "file-1"}}, "input_reference.file_id", ("Files API",)),
        ({"input_reference": {"url": "x"}}, "input_reference.url", ("unknown parameter",)),
        ({"input_reference": {"image_url": "ftp://example.com/a.png"}}, "input_reference.image_url", ("ftp",)),
        ({"input_reference": {"image_url": "http://127.0.0.1/a.png"}}, "input_reference.image_url", ("127.0.0.1",)),
        ({"seconds": 5}, "seconds", ("4, 8, 12",)),
        ({"seconds": True}, "seconds", ("string",)),
        ({"size": "1x1"}, "size", ("1x1",)),
        ({"n": 2}, "n", ("unknown parameter",)),
    ],
    ids=lambda value: str(value)[:30],
)
def test_each_bad_json_field_is_a_400_naming_it(
    http: httpx.Client, services: Services, body: dict[str, Any], param: str, mentions: tuple[str, ...]
) -> None:
    assert_openai_error(create_json(http, **body), 400, param=param, mentions=mentions)
    assert job_count(services) == 0


def test_bad_bodies_and_headers_are_400s(http: httpx.Client) -> None:
    not_json = http.post("/v1/videos", content=b"{oops", headers={"Content-Type": "application/json"})
    assert_openai_error(not_json, 400, param="body", mentions=("JSON",))
    text = http.post("/v1/videos", content=b"prompt=x", headers={"Content-Type": "text/plain"})
    assert_openai_error(text, 400, param="Content-Type", mentions=("multipart/form-data",))
    long_key = create_multipart(http, png(400, 520), headers={"Idempotency-Key": "k" * 256})
    assert_openai_error(long_key, 400, param="Idempotency-Key", mentions=("255",))
    video_id = create_json(http).json()["id"]
    bad_variant = http.get(f"/v1/videos/{video_id}/content", params={"variant": "poster"})
    assert_openai_error(bad_variant, 400, param="variant", mentions=("thumbnail", "poster"))


def test_an_oversized_upload_is_413(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "small", api_keys=TEST_KEY, max_request_bytes=64 * 1024)
    services = build_services(settings)
    big = png(900, 700, seed=3) + b"\0" * 80 * 1024  # the padding alone is over the cap
    try:
        with serving(create_app(settings, services=services)) as url, httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {TEST_KEY}"}, timeout=30
        ) as client:
            declared = create_multipart(client, big)
            assert_openai_error(declared, 413, param="body", mentions=(str(64 * 1024),))
            # Without a Content-Length (chunked), the cap still holds while the body streams in.
            request = client.build_request(
                "POST", "/v1/videos", files={"input_reference": ("f.png", big, "image/png")}, data={"prompt": "x"}
            )
            body = request.read()
            chunked = client.post(
                "/v1/videos",
                content=iter([body[i : i + 8192] for i in range(0, len(body), 8192)]),
                headers={"Content-Type": request.headers["Content-Type"]},
            )
            assert_openai_error(chunked, 413, param="body", mentions=(str(64 * 1024),))
            json_body = client.post("/v1/videos", json={"prompt": "x", "input_reference": b64(big)})
            assert_openai_error(json_body, 413, param="body")
        assert sum(services.store.counts_by_status().values()) == 0
    finally:
        services.store.close()


# ---- webhooks and documentation ----


def test_render_event_is_an_openai_style_event(http: httpx.Client, services: Services) -> None:
    video_id = create_json(http).json()["id"]
    job_id = openai_videos.job_id_from_wire(video_id)
    queued = openai_videos.render_event(services.store.get(job_id), services)
    assert (queued["object"], queued["type"], queued["data"]["id"]) == ("event", "video.queued", video_id)
    cancelled = services.store.cancel(job_id)
    event = openai_videos.render_event(cancelled, services)
    assert event["type"] == "video.failed"
    assert event["id"].startswith("evt_") and event["id"] != queued["id"]
    assert event["data"]["status"] == "failed"
    assert event["data"]["error"]["code"] == "cancelled"
    assert isinstance(event["created_at"], int)


def test_openapi_documents_every_route_with_examples(http: httpx.Client) -> None:
    assert http.get("/docs").status_code == 200
    spec = http.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/v1/videos"])
    assert {"get", "delete"} <= set(paths["/v1/videos/{video_id}"])
    assert "get" in paths["/v1/videos/{video_id}/content"]
    create = paths["/v1/videos"]["post"]
    assert {"multipart/form-data", "application/json"} <= set(create["requestBody"]["content"])
    assert "example" in str(create["requestBody"])
    for path in ("/v1/videos", "/v1/videos/{video_id}", "/v1/videos/{video_id}/content"):
        for operation in paths[path].values():
            assert operation["summary"]
            assert "400" in operation["responses"] and "401" in operation["responses"]


# ---- the official SDK ----

@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks its Sora methods as deprecated
def test_the_official_openai_sdk_round_trip(
    base_url: str, run_worker: Callable[[], int], tmp_path: Path
) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=TEST_KEY, max_retries=0, timeout=60)
    created = client.videos.create(
        prompt=PROMPT, input_reference=("frame.png", png(400, 520), "image/png"), seconds="4", size="720x1280"
    )
    assert (created.object, created.status, created.size, created.seconds) == ("video", "queued", "720x1280", "4")
    # This SDK version refuses a dict for `input_reference` on the client side (it always sends multipart and
    # expects a file there); through `extra_body` it sends the documented form field `input_reference[image_url]`.
    by_url = client.videos.create(
        prompt="she waves", extra_body={"input_reference": {"image_url": "data:image/png;base64," + b64(png(640, 400))}}
    )
    assert (by_url.model, by_url.size) == ("sora-2", "1280x720")
    client.videos.delete(by_url.id)

    with pytest.raises(openai.NotFoundError):
        client.videos.download_content(created.id)
    assert run_worker() == 1
    done = client.videos.retrieve(created.id)
    assert (done.status, done.progress) == ("completed", 100)

    more = [client.videos.create(prompt=f"n{n}", input_reference=("f.png", png(400, 520), "image/png")).id
            for n in range(2)]
    # Auto-pagination follows `has_more` / `last_id` page by page.
    assert [video.id for video in client.videos.list(limit=1, order="asc")] == [created.id, *more]

    target = tmp_path / "sdk.mp4"
    client.videos.download_content(created.id).write_to_file(target)
    info = probe_video(target)
    assert (info.width, info.height, info.frame_count) == (720, 1280, 100)
    thumbnail = client.videos.download_content(created.id, variant="thumbnail").content
    assert thumbnail[:4] == b"RIFF" and thumbnail[8:12] == b"WEBP"

    with pytest.raises(openai.BadRequestError) as refused:
        client.videos.create(prompt="x", input_reference=("f.png", png(400, 520), "image/png"), seconds="5")  # type: ignore[arg-type]
    assert refused.value.param == "seconds"  # type: ignore[attr-defined]

    deleted = client.videos.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "video.deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(created.id)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{base_url}/v1", api_key="wrong", max_retries=0).videos.list()
