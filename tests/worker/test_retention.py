"""Retention: finished jobs past `retention_s` turn `expired` first and lose their video second; links handed out
before that never outlive the deadline; several cleaners at once expire each job exactly once."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from stillmotion.api.app import build_services, create_app
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.domain import Job, JobNotFound, JobSpec, JobStatus
from stillmotion.jobs import JobStore, tenant_for_key
from stillmotion.storage import LinkSigner, LocalStorage, StorageError
from stillmotion.worker.retention import cleanup_once, start_cleaner
from support import TEST_KEY, make_image

RETENTION_S = 3600
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
TENANT = tenant_for_key(TEST_KEY)
POSTGRES_URL = os.environ.get("STILLMOTION_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _spec(dialect: str = "aimlapi", callback_url: str | None = None) -> JobSpec:
    return JobSpec(
        tenant=TENANT,
        model="video-01-live2d",
        engine="live2d",
        prompt="a slow zoom",
        image=make_image(64, 64),
        image_format="png",
        image_width=64,
        image_height=64,
        options={"duration": 1},
        dialect=dialect,
        callback_url=callback_url,
    )


def _finish(store: JobStore, storage: LocalStorage | None, outcome: JobStatus, *, dialect: str = "aimlapi") -> Job:
    """A job taken to `outcome` the way a worker takes it there (a small fake video for a success)."""
    job = store.create(_spec(dialect))
    if outcome is JobStatus.CANCELLED:
        return store.cancel(job.id)
    claim = store.claim(worker_id="test", lease_s=30)
    assert claim is not None and claim.job.id == job.id
    if outcome is JobStatus.FAILED:
        assert store.fail(job.id, attempt=claim.attempt, code="render_failed", message="boom")
    else:
        key = f"videos/{job.id}/{claim.attempt}.mp4"
        if storage is not None:
            source = storage.root.parent / f"{job.id}.mp4"
            source.write_bytes(b"not really a video, but bytes to delete")
            storage.put_file(key, source)
        assert store.succeed(job.id, attempt=claim.attempt, media_key=key, result={"duration_s": 1.0})
    return store.get(job.id)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    job_store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    job_store.create_schema()
    yield job_store
    job_store.close()


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media", signer=LinkSigner(b"s" * 32, base_url="http://testserver"))


def _later() -> float:
    return time.time() + RETENTION_S + 5


# ---- one cleanup pass ----


def test_finished_jobs_past_retention_expire_and_lose_their_video(store: JobStore, storage: LocalStorage) -> None:
    done = _finish(store, storage, JobStatus.SUCCEEDED)
    failed = _finish(store, storage, JobStatus.FAILED)
    cancelled = _finish(store, storage, JobStatus.CANCELLED)
    queued = store.create(_spec())
    assert done.media_key is not None and storage.exists(done.media_key)

    # Within the retention period nothing happens.
    report = cleanup_once(store, storage, retention_s=RETENTION_S)
    assert (report.expired, report.media_deleted) == (0, 0)
    assert store.get(done.id).status is JobStatus.SUCCEEDED and storage.exists(done.media_key)

    report = cleanup_once(store, storage, retention_s=RETENTION_S, now=_later())
    assert (report.expired, report.media_deleted, report.media_failed) == (3, 1, 0)
    for job in (done, failed, cancelled):
        after = store.get(job.id)
        assert after.status is JobStatus.EXPIRED
        assert after.media_key is None
        with pytest.raises(JobNotFound):
            store.load_input(job.id)  # the input image goes with the expiry
    assert not storage.exists(done.media_key)
    assert store.get(queued.id).status is JobStatus.QUEUED  # unfinished jobs are never expired

    again = cleanup_once(store, storage, retention_s=RETENTION_S, now=_later())
    assert (again.expired, again.media_deleted) == (0, 0)


def test_a_cleaner_that_died_between_the_two_steps_is_finished_by_the_next_pass(
    store: JobStore, storage: LocalStorage
) -> None:
    done = _finish(store, storage, JobStatus.SUCCEEDED)
    assert done.media_key is not None
    assert store.expire(done.id, from_status=JobStatus.SUCCEEDED)  # step one only, then "crash"
    assert store.get(done.id).media_key == done.media_key and storage.exists(done.media_key)
    report = cleanup_once(store, storage, retention_s=RETENTION_S)  # nothing new to expire, one video to delete
    assert (report.expired, report.media_deleted) == (0, 1)
    assert not storage.exists(done.media_key)
    assert store.get(done.id).media_key is None


class _FlakyStorage(LocalStorage):
    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures

    def delete(self, key: str) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise StorageError("S3 delete_object failed: SlowDown")
        super().delete(key)


def test_a_failed_deletion_is_retried_by_the_next_pass(store: JobStore, tmp_path: Path) -> None:
    flaky = _FlakyStorage(tmp_path / "media", failures=1)
    done = _finish(store, flaky, JobStatus.SUCCEEDED)
    assert done.media_key is not None
    first = cleanup_once(store, flaky, retention_s=RETENTION_S, now=_later())
    assert (first.expired, first.media_deleted, first.media_failed) == (1, 0, 1)
    assert store.get(done.id).status is JobStatus.EXPIRED  # expired all the same: no link is handed out
    second = cleanup_once(store, flaky, retention_s=RETENTION_S, now=_later())
    assert (second.expired, second.media_deleted, second.media_failed) == (0, 1, 0)
    assert not flaky.exists(done.media_key)


def test_an_expired_job_owes_its_webhook_nothing(store: JobStore, storage: LocalStorage) -> None:
    job = store.create(_spec(callback_url="https://hooks.example.com/x"))
    store.cancel(job.id)
    [owed] = store.webhooks.due()
    store.webhooks.delivered(owed.event_id)
    cleanup_once(store, storage, retention_s=RETENTION_S, now=_later())
    assert store.get(job.id).status is JobStatus.EXPIRED
    assert [due.job.id for due in store.webhooks.due()] == []


def test_retention_zero_runs_no_cleaner(store: JobStore, storage: LocalStorage) -> None:
    assert start_cleaner(store, storage, retention_s=0, interval_s=1, stop=threading.Event()) is None
    with pytest.raises(ValueError, match="retention_s"):
        cleanup_once(store, storage, retention_s=0)


def test_the_cleaner_thread_runs_every_interval(store: JobStore, storage: LocalStorage) -> None:
    stop = threading.Event()
    thread = start_cleaner(store, storage, retention_s=1, interval_s=0.1, stop=stop)
    assert thread is not None
    try:
        done = _finish(store, storage, JobStatus.SUCCEEDED)  # made after the first pass ran
        deadline = time.monotonic() + 20
        while store.get(done.id).status is not JobStatus.EXPIRED:
            assert time.monotonic() < deadline, "the cleaner did not expire the job"
            time.sleep(0.05)
        assert done.media_key is not None
        while storage.exists(done.media_key):
            assert time.monotonic() < deadline, "the cleaner did not delete the video"
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


# ---- several cleaners at once ----


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"sm_retention_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} (set STILLMOTION_TEST_DATABASE_URL): {exc}")
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_concurrent_cleaners_expire_each_job_exactly_once(shared_db_url: str, tmp_path: Path) -> None:
    # One store per cleaner, as separate processes would have, all sharing the database and the media directory.
    stores = [JobStore(shared_db_url) for _ in range(4)]
    stores[0].create_schema()
    storage = LocalStorage(tmp_path / "media")
    try:
        jobs = [_finish(stores[0], storage, JobStatus.SUCCEEDED) for _ in range(24)]
        jobs += [_finish(stores[0], None, JobStatus.FAILED) for _ in range(6)]
        now = _later()
        start = threading.Barrier(len(stores))
        reports = []
        errors: list[BaseException] = []

        def clean(own: JobStore) -> None:
            try:
                start.wait(timeout=10)
                reports.append(cleanup_once(own, storage, retention_s=RETENTION_S, now=now))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=clean, args=(own,)) for own in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert sum(report.expired for report in reports) == len(jobs)  # each job expired by exactly one cleaner
        assert sum(report.media_deleted for report in reports) == 24  # each video recorded as deleted once
        assert sum(report.media_failed for report in reports) == 0
        for job in jobs:
            after = stores[0].get(job.id)
            assert after.status is JobStatus.EXPIRED and after.media_key is None
        assert list((tmp_path / "media").rglob("*.mp4")) == []
    finally:
        for own in stores:
            own.close()


# ---- what clients see ----


@pytest.fixture
def retained(tmp_path: Path) -> Iterator[tuple[Settings, Services, TestClient]]:
    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys=TEST_KEY,
        public_url="http://testserver",
        retention_s=RETENTION_S,
        link_ttl_s=6 * 3600,
    )
    services = build_services(settings)
    with TestClient(create_app(settings, services=services)) as client:
        yield settings, services, client
    services.store.close()


def _links(client: TestClient, job_id: str) -> dict[str, object]:
    """What each dialect's poll says about one job: its status word and link (or None)."""
    aiml = client.get("/v2/generate/video/minimax/generation", params={"generation_id": job_id}, headers=AUTH).json()
    unified = client.get("/v2/video/generations", params={"generation_id": job_id}, headers=AUTH).json()
    minimax = client.get("/v1/query/video_generation", params={"task_id": job_id}, headers=AUTH).json()
    retrieved = client.get("/v1/files/retrieve", params={"file_id": job_id}, headers=AUTH).json()
    openai = client.get(f"/v1/videos/video_{job_id}", headers=AUTH).json()
    content = client.get(f"/v1/videos/video_{job_id}/content", headers=AUTH)
    return {
        "aiml": (aiml["status"], (aiml.get("video") or {}).get("url")),
        "unified": (unified["status"], (unified.get("video") or {}).get("url")),
        "minimax": (minimax["status"], minimax.get("file_id")),
        "retrieve": (retrieved.get("file") or {}).get("download_url"),
        "openai": (openai["status"], (openai.get("error") or {}).get("code")),
        "content": content.status_code,
    }


# What every dialect's poll says about an expired job: no link anywhere.
EXPIRED_EVERYWHERE: dict[str, object] = {
    "aiml": ("error", None),
    "unified": ("error", None),
    "minimax": ("Fail", None),
    "retrieve": None,
    "openai": ("failed", "expired"),
    "content": 404,
}


def test_after_expiry_no_dialect_hands_out_a_link(retained: tuple[Settings, Services, TestClient]) -> None:
    _settings, services, client = retained
    storage = services.storage
    assert isinstance(storage, LocalStorage)
    job = _finish(services.store, storage, JobStatus.SUCCEEDED)
    assert job.media_key is not None

    before = _links(client, job.id)
    assert before["aiml"][0] == "completed" and before["aiml"][1]  # type: ignore[index]
    assert before["minimax"] == ("Success", job.id)
    assert before["retrieve"] and before["content"] == 200
    link = str(before["aiml"][1])  # type: ignore[index]
    assert client.get(link).status_code == 200

    cleanup_once(services.store, storage, retention_s=RETENTION_S, now=_later())
    assert not storage.exists(job.media_key)
    after = _links(client, job.id)
    assert after == EXPIRED_EVERYWHERE
    assert client.get(link).status_code == 404  # the old link finds nothing (and had expired anyway)


def test_links_never_outlive_the_retention_deadline(retained: tuple[Settings, Services, TestClient]) -> None:
    _settings, services, client = retained
    job = _finish(services.store, services.storage if isinstance(services.storage, LocalStorage) else None,
                  JobStatus.SUCCEEDED)
    assert job.finished_at is not None
    deadline = job.finished_at.timestamp() + RETENTION_S
    polled = client.get("/v2/generate/video/minimax/generation", params={"generation_id": job.id}, headers=AUTH)
    expires = int(parse_qs(urlsplit(polled.json()["video"]["url"]).query)["Expires"][0])
    assert expires <= deadline  # not the 6 hours of link_ttl_s
    assert expires >= deadline - 60

    # Close to the deadline the link shrinks with it; past the deadline (before a cleaner ran) there is none.
    almost = services.video_url(job, now=deadline - 100)
    assert almost is not None
    assert int(parse_qs(urlsplit(almost).query)["Expires"][0]) <= deadline
    assert services.video_url(job, now=deadline + 1) is None

    # Without retention the link gets its full lifetime.
    forever = dataclasses.replace(services, settings=services.settings.model_copy(update={"retention_s": 0}))
    url = forever.video_url(job)
    assert url is not None
    assert int(parse_qs(urlsplit(url).query)["Expires"][0]) >= time.time() + 6 * 3600 - 5


def test_past_the_deadline_a_job_reads_as_expired_before_any_cleaner_ran(
    retained: tuple[Settings, Services, TestClient],
) -> None:
    _settings, services, client = retained
    storage = services.storage
    assert isinstance(storage, LocalStorage)
    job = _finish(services.store, storage, JobStatus.SUCCEEDED)
    assert job.media_key is not None
    with services.store._engine.begin() as conn:  # finished a retention period (and 5 s) ago
        conn.execute(
            sa.text("UPDATE jobs SET finished_at = finished_at - :shift WHERE id = :id"),
            {"shift": RETENTION_S + 5, "id": job.id},
        )

    assert _links(client, job.id) == EXPIRED_EVERYWHERE
    listed = client.get("/v1/videos", headers=AUTH).json()["data"]
    assert [(video["status"], video["error"]["code"]) for video in listed] == [("failed", "expired")]
    assert storage.exists(job.media_key)  # no cleaner has run: the file is there, but nobody is handed it
    assert services.store.get(job.id).status is JobStatus.SUCCEEDED


def test_a_starting_worker_removes_the_render_files_of_dead_attempts(tmp_path: Path) -> None:
    from stillmotion.worker.loop import Worker

    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    store.create_schema()
    try:
        job = store.create(JobSpec(tenant="t", model="video-01-live2d", engine="live2d", prompt="p",
                                   image=b"png", image_format="png", image_width=10, image_height=10))
        assert store.claim(worker_id="died", lease_s=0.3) is not None
        time.sleep(0.4)  # the first worker died: its lease ran out
        second = store.claim(worker_id="alive", lease_s=60)
        assert second is not None and second.attempt == 2
        work = tmp_path / "work"
        work.mkdir()
        dead = [work / f"{job.id}-1.mp4", work / f".{job.id}-1.mp4.0123456789ab.part", work / "99-1.mp4"]
        live = work / f"{job.id}-2.mp4"  # the attempt running now, perhaps in another process
        other = work / "notes.txt"
        for path in [*dead, live, other]:
            path.write_bytes(b"x")
        storage = LocalStorage(tmp_path / "media", signer=LinkSigner(b"k" * 32, base_url="http://testserver"))
        Worker(store, storage, work_dir=work).host.close()
        assert [path for path in dead if path.exists()] == []
        assert live.exists() and other.exists()
    finally:
        store.close()
