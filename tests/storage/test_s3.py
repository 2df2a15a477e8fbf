"""S3Storage against moto's S3-protocol server on loopback (the stand-in for a real S3 server)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError
from fastapi.testclient import TestClient

from stillmotion.api.app import build_services, create_app
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.domain import JobSpec, JobStatus
from stillmotion.jobs import JobStore
from stillmotion.media.video import probe_video
from stillmotion.storage import LinkSigner, LocalStorage, StorageError, open_storage
from stillmotion.storage.s3 import S3Location, S3Storage, parse_s3_url
from stillmotion.worker import Worker
from storage.moto_s3 import ACCESS_KEY, REGION, SECRET_KEY, MotoS3
from support import make_image

PAYLOAD = bytes(range(256)) * 1024 + b"tail"  # 256 KiB + 4 bytes: more than one read chunk


def _storage(moto: MotoS3, bucket: str, *, prefix: str = "clips", **options: Any) -> S3Storage:
    return S3Storage(
        S3Location(bucket=bucket, prefix=prefix),
        endpoint_url=moto.endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        **options,
    )


def _source(tmp_path: Path, data: bytes = PAYLOAD) -> Path:
    path = tmp_path / "render.mp4"
    path.write_bytes(data)
    return path


# ---- parsing and the factory ----


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [("s3://videos", "videos", ""), ("s3://my.videos-1/a/b/", "my.videos-1", "a/b"), ("s3://abc/x", "abc", "x")],
)
def test_storage_urls_are_parsed(url: str, bucket: str, prefix: str) -> None:
    assert parse_s3_url(url) == S3Location(bucket=bucket, prefix=prefix)


@pytest.mark.parametrize(
    ("url", "mentions"),
    [
        ("https://bucket/x", "s3://"),
        ("s3:///prefix", "bucket"),
        ("s3://Upper/x", "lower-case"),
        ("s3://ab", "3 to 63"),
        ("s3://bucket/../etc", "invalid storage key"),
        ("s3://bucket/x?versionId=1", "query"),
    ],
)
def test_bad_storage_urls_say_what_is_wrong(url: str, mentions: str) -> None:
    with pytest.raises(ValueError, match=mentions):
        parse_s3_url(url)


def test_the_factory_picks_local_or_s3(tmp_path: Path, moto: MotoS3) -> None:
    signer = LinkSigner(b"0123456789abcdef0123456789abcdef", base_url="http://example.test")
    local = open_storage(Settings(data_dir=tmp_path), signer)
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "media"

    bucket = moto.new_bucket()
    settings = Settings(
        data_dir=tmp_path,
        storage_url=f"s3://{bucket}/pre/fix",
        s3_endpoint_url=moto.endpoint,
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
    )
    remote = open_storage(settings, signer)
    assert isinstance(remote, S3Storage)
    remote.put_file("videos/1/1.mp4", _source(tmp_path))
    # The prefix from the URL is where the object lands in the bucket.
    listed = moto.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["pre/fix/videos/1/1.mp4"]


# ---- the object life cycle ----


def test_upload_read_link_and_delete(tmp_path: Path, moto: MotoS3) -> None:
    bucket = moto.new_bucket()
    storage = _storage(moto, bucket)
    source = _source(tmp_path)
    key = "videos/123/1.mp4"
    assert not storage.exists(key)

    storage.put_file(key, source)
    assert not source.exists()  # consumed, as LocalStorage moves it
    assert storage.exists(key)
    assert storage.size(key) == len(PAYLOAD)
    head = moto.client().head_object(Bucket=bucket, Key=f"clips/{key}")
    assert head["ContentType"] == "video/mp4"

    stored = storage.open(key)
    assert stored.size == len(PAYLOAD)
    assert b"".join(stored.chunks(chunk_bytes=100_000)) == PAYLOAD
    with storage.local_copy(key) as copy:
        assert copy.read_bytes() == PAYLOAD
    assert not copy.exists()  # the temporary copy is gone with the context

    url = storage.url(key, ttl_s=600)
    assert url.startswith(f"{moto.endpoint}/{bucket}/clips/{key}?")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["600"]
    downloaded = httpx.get(url)  # a plain client: no credentials, the signature in the URL is enough
    assert downloaded.status_code == 200
    assert downloaded.content == PAYLOAD

    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # already gone: still fine
    with pytest.raises(FileNotFoundError):
        storage.size(key)
    with pytest.raises(FileNotFoundError):
        storage.open(key)
    assert httpx.get(url).status_code == 404


def test_links_name_the_public_endpoint_when_one_is_set(tmp_path: Path, moto: MotoS3) -> None:
    """The service reaches the bucket at one address and its clients at another (inside and outside a container
    network): links carry the public one and are signed for it, so a client downloads through it."""
    bucket = moto.new_bucket()
    public = moto.endpoint.replace("127.0.0.1", "localhost")
    assert public != moto.endpoint
    settings = Settings(
        data_dir=tmp_path,
        storage_url=f"s3://{bucket}/clips",
        s3_endpoint_url=moto.endpoint,
        s3_public_endpoint_url=public,
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
    )
    storage = open_storage(settings, LinkSigner(b"0123456789abcdef0123456789abcdef", base_url="http://x.test"))
    storage.put_file("videos/7/1.mp4", _source(tmp_path))
    url = storage.url("videos/7/1.mp4", ttl_s=600)
    assert url.startswith(f"{public}/{bucket}/clips/videos/7/1.mp4?")
    downloaded = httpx.get(url)
    assert downloaded.status_code == 200
    assert downloaded.content == PAYLOAD


def test_a_link_never_outlives_not_after(moto: MotoS3) -> None:
    storage = _storage(moto, moto.new_bucket())
    url = storage.url("videos/1/1.mp4", ttl_s=3600, not_after=time.time() + 90.5)
    expires = int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])
    assert 85 <= expires <= 90


def test_keys_that_could_escape_the_prefix_are_refused(moto: MotoS3, tmp_path: Path) -> None:
    storage = _storage(moto, moto.new_bucket())
    for key in ("../other/1.mp4", "/abs.mp4", "videos/../../x.mp4", ""):
        with pytest.raises(ValueError, match="invalid storage key"):
            storage.put_file(key, _source(tmp_path))


def test_health_names_a_missing_bucket_or_an_unreachable_server(moto: MotoS3, tmp_path: Path) -> None:
    assert _storage(moto, moto.new_bucket()).health_problem() is None
    problem = _storage(moto, "no-such-bucket-here").health_problem()
    assert problem is not None and problem.startswith("storage:")

    gone = MotoS3(tmp_path)
    storage = _storage(gone, gone.new_bucket())
    gone.stop()
    started = time.monotonic()
    problem = storage.health_problem()
    assert problem is not None and "head_bucket" in problem
    assert time.monotonic() - started < 5  # one quick try, not the upload path's retries


# ---- retries ----


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


def _fail_first(storage: S3Storage, count: int, failure: str) -> list[str]:
    """Make the first `count` PutObject requests fail before they reach the server; returns a log of requests."""
    seen: list[str] = []

    def before_send(request: Any, **_: Any) -> AWSResponse | None:
        seen.append("failed" if len(seen) < count else "sent")
        if seen[-1] == "sent":
            return None
        if failure == "503":
            body = b"<Error><Code>ServiceUnavailable</Code><Message>try again</Message></Error>"
            return AWSResponse(request.url, 503, {}, _Body(body))
        raise EndpointConnectionError(endpoint_url=request.url)

    storage.client.meta.events.register("before-send.s3.PutObject", before_send)
    return seen


def test_botocore_retries_a_503_within_one_attempt(moto: MotoS3, tmp_path: Path) -> None:
    storage = _storage(moto, moto.new_bucket(), botocore_attempts=3, upload_attempts=1)
    seen = _fail_first(storage, 2, "503")
    storage.put_file("videos/1/1.mp4", _source(tmp_path))
    assert seen == ["failed", "failed", "sent"]
    assert storage.size("videos/1/1.mp4") == len(PAYLOAD)


def test_the_upload_loop_retries_past_botocores_own_retries(moto: MotoS3, tmp_path: Path) -> None:
    # Five connection failures outlast botocore's 2 tries per upload; the outer loop's 3rd upload gets through.
    storage = _storage(moto, moto.new_bucket(), botocore_attempts=2, upload_attempts=4, backoff_s=0.05)
    seen = _fail_first(storage, 5, "connection")
    storage.put_file("videos/1/1.mp4", _source(tmp_path))
    assert seen.count("failed") == 5 and seen[-1] == "sent"
    assert storage.size("videos/1/1.mp4") == len(PAYLOAD)


def test_an_upload_that_keeps_failing_raises_storage_error_and_keeps_the_file(moto: MotoS3, tmp_path: Path) -> None:
    storage = _storage(moto, moto.new_bucket(), botocore_attempts=2, upload_attempts=3, backoff_s=0.05)
    seen = _fail_first(storage, 1000, "503")
    source = _source(tmp_path)
    started = time.monotonic()
    with pytest.raises(StorageError, match="failed 3 times"):
        storage.put_file("videos/1/1.mp4", source)
    assert len(seen) == 6  # 3 uploads x 2 botocore tries, then it gives up
    assert time.monotonic() - started < 20
    assert source.read_bytes() == PAYLOAD  # nothing lost: the worker can retry the job


def test_an_upload_survives_a_server_outage(tmp_path: Path) -> None:
    server = MotoS3(tmp_path)
    try:
        bucket = server.new_bucket()
        storage = _storage(server, bucket, botocore_attempts=1, upload_attempts=8, backoff_s=0.25, timeout_s=2.0)
        server.stop()  # S3 goes away ...
        outcome: list[BaseException | None] = []

        def upload() -> None:
            try:
                storage.put_file("videos/1/1.mp4", _source(tmp_path))
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=upload)
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive()  # still retrying
        server.start()  # ... and comes back (empty: moto keeps buckets in memory)
        server.client().create_bucket(Bucket=bucket)
        thread.join(timeout=60)
        assert outcome == [None]
        assert storage.size("videos/1/1.mp4") == len(PAYLOAD)
    finally:
        server.stop()


# ---- wired into the worker and the API ----


def test_a_worker_gives_back_an_attempt_whose_upload_failed_and_the_retry_lands_in_s3(
    moto: MotoS3, tmp_path: Path
) -> None:
    bucket = moto.new_bucket()
    storage = _storage(moto, bucket, botocore_attempts=1, upload_attempts=1)
    seen = _fail_first(storage, 1, "connection")  # S3 refuses the first upload, then recovers
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}", max_attempts=3)
    store.create_schema()
    try:
        job = store.create(
            JobSpec(
                tenant="t", model="video-01-live2d", engine="live2d", prompt="breathing",
                image=make_image(400, 520), image_format="png", image_width=400, image_height=520,
                options={"duration": 1},
            )
        )
        worker = Worker(store, storage, work_dir=tmp_path / "work", lease_s=30)
        assert worker.run_burst() == 2  # the failed upload gave attempt 1 back; attempt 2 stored its video
        done = store.get(job.id)
        assert done.status is JobStatus.SUCCEEDED
        assert done.media_key == f"videos/{job.id}/2.mp4"
        assert seen == ["failed", "sent"]
        with storage.local_copy(done.media_key) as path:
            assert probe_video(path).frame_count == 25
        assert list((tmp_path / "work").iterdir()) == []  # no render left behind
    finally:
        store.close()


def test_the_api_on_s3_storage_is_healthy_and_serves_no_media_route(moto: MotoS3, tmp_path: Path) -> None:
    def app_for(bucket: str) -> tuple[Services, TestClient]:
        settings = Settings(
            data_dir=tmp_path / bucket, public_url="http://testserver", storage_url=f"s3://{bucket}/p",
            s3_endpoint_url=moto.endpoint, s3_access_key_id=ACCESS_KEY, s3_secret_access_key=SECRET_KEY,
        )
        services = build_services(settings)
        return services, TestClient(create_app(settings, services=services))

    services, client = app_for(moto.new_bucket())
    with client:
        assert client.get("/healthz").json() == {"status": "ok"}
        source = _source(tmp_path)
        services.storage.put_file("videos/1/1.mp4", source)
        # A validly signed /media link still finds nothing: with S3, links point at the bucket.
        local_link = services.signer.url("videos/1/1.mp4", ttl_s=600)
        assert client.get(local_link).status_code == 404
    services.store.close()

    services, client = app_for("bucket-that-is-missing")
    with client:
        unhealthy = client.get("/healthz")
        assert unhealthy.status_code == 503
        assert unhealthy.json()["problems"][0].startswith("storage:")
    services.store.close()
