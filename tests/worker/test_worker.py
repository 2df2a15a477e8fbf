"""The worker loop with a real engine child process: success, a killed child, fencing, shutdown."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stillmotion.domain import JobSpec, JobStatus
from stillmotion.jobs import JobStore
from stillmotion.media.video import probe_video
from stillmotion.storage import LocalStorage
from stillmotion.worker import Worker
from support import make_image


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    job_store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}", max_attempts=3)
    job_store.create_schema()
    return job_store


@pytest.fixture
def worker(store: JobStore, tmp_path: Path) -> Worker:
    return Worker(store, LocalStorage(tmp_path / "media"), work_dir=tmp_path / "work", lease_s=5.0)


def _submit(store: JobStore, *, duration_s: float = 1.0, image: bytes | None = None) -> str:
    spec = JobSpec(
        tenant="t",
        model="video-01-live2d",
        engine="live2d",
        prompt="breathing",
        image=image if image is not None else make_image(400, 520),
        image_format="png",
        image_width=400,
        image_height=520,
        options={"duration": duration_s},
    )
    return store.create(spec).id


def _wait(predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_a_job_runs_to_a_stored_video(store: JobStore, worker: Worker) -> None:
    job_id = _submit(store)
    assert worker.run_burst() == 1
    job = store.get(job_id)
    assert job.status is JobStatus.SUCCEEDED
    assert job.progress == 1.0
    assert job.result["frame_count"] == 25
    assert job.media_key is not None
    info = probe_video(worker.storage.path_for(job.media_key))
    assert info.frame_count == 25
    assert not list(worker.work_dir.iterdir())  # no scratch files left behind


def test_an_undecodable_image_fails_with_its_reason(store: JobStore, worker: Worker) -> None:
    job_id = _submit(store, image=b"\x89PNG\r\n\x1a\n but not really")
    worker.run_burst()
    job = store.get(job_id)
    assert job.status is JobStatus.FAILED
    assert job.error_code in ("invalid_input", "engine_error")
    assert job.error_message


def test_a_killed_engine_process_is_retried(store: JobStore, worker: Worker) -> None:
    job_id = _submit(store, duration_s=6.0)
    runner = threading.Thread(target=worker.run_once)
    runner.start()
    _wait(lambda: store.get(job_id).progress > 0 and worker.host.pid() is not None)
    child = worker.host.pid()
    assert child is not None
    os.kill(child, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    runner.join(timeout=30)
    lost = store.get(job_id)
    assert (lost.status, lost.lost_runs) == (JobStatus.QUEUED, 1)  # not failed: it goes back for another attempt
    assert worker.run_burst() == 1
    job = store.get(job_id)
    assert job.status is JobStatus.SUCCEEDED
    assert (job.attempt, job.lost_runs) == (2, 1)
    assert job.error_message is None


def test_a_worker_that_lost_its_job_abandons_it(store: JobStore, worker: Worker, tmp_path: Path) -> None:
    job_id = _submit(store, duration_s=6.0)
    runner = threading.Thread(target=worker.run_once)
    runner.start()
    _wait(lambda: store.get(job_id).progress > 0)
    # Another worker takes the job over (as after a lease that ran out): the first must stop writing.
    with store._write() as conn:  # simulate the lease running out without waiting for it
        conn.exec_driver_sql("UPDATE jobs SET lease_expires_at = 0 WHERE id = ?", (job_id,))
    usurper = store.claim(worker_id="other", lease_s=60)
    assert usurper is not None
    runner.join(timeout=30)
    job = store.get(job_id)
    assert job.status is JobStatus.RUNNING
    assert job.attempt == usurper.attempt == 2
    assert job.media_key is None
    assert not (tmp_path / "media" / "videos" / job_id).exists()


def test_stopping_a_worker_releases_its_job(store: JobStore, worker: Worker) -> None:
    job_id = _submit(store, duration_s=6.0)
    stop = threading.Event()
    runner = threading.Thread(target=worker.run, args=(stop,))
    runner.start()
    _wait(lambda: store.get(job_id).progress > 0)
    stop.set()
    runner.join(timeout=30)
    assert not runner.is_alive()
    job = store.get(job_id)
    assert job.status is JobStatus.QUEUED
    assert worker.host.pid() is None
