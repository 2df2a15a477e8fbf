"""Real processes for the fault tests: `stillmotion serve` API processes and `stillmotion worker` processes
sharing one database and one data directory, plus the checks every fault test makes on the outcome."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from stillmotion.domain import Job, JobStatus
from stillmotion.jobs import JobStore
from support import TEST_KEY, Server, b64, make_image

PATH = "/v2/generate/video/minimax/generation"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}

# Short leases keep re-claims fast; a render of `RENDER_S` seconds of video at this size takes 1-3 s of CPU,
# long enough to be caught mid-generation, short enough for the whole fault suite to stay within minutes.
LEASE_S = 2
RENDER_S = 8.0
_IMAGE = b64(make_image(480, 720, fmt="JPEG"))
_SMALL_IMAGE = b64(make_image(320, 480, fmt="JPEG"))


def base_env(database_url: str | None) -> dict[str, str]:
    env = {"STILLMOTION_LEASE_S": str(LEASE_S), "STILLMOTION_POLL_INTERVAL_S": "0.1", "STILLMOTION_API_KEYS": TEST_KEY}
    if database_url is not None:
        env["STILLMOTION_DATABASE_URL"] = database_url
    return env


class WorkerProcess:
    """`stillmotion worker` (no HTTP), logging to a file of its own."""

    def __init__(self, data_dir: Path, env: dict[str, str], *, name: str, concurrency: int = 1) -> None:
        self.log_path = data_dir.parent / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stillmotion", "worker", "--data-dir", str(data_dir),
             "--concurrency", str(concurrency)],
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self._log.close()


class Cluster:
    """Everything one fault test started; `close()` kills what is still running."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.env = base_env(database_url)
        self.apis: list[Server] = []
        self.workers: list[WorkerProcess] = []
        url = database_url or f"sqlite:///{(data_dir / 'stillmotion.db').resolve()}"
        self._store_url = url
        self._store: JobStore | None = None

    @property
    def store(self) -> JobStore:
        """A direct view of the database (opened after the first process has migrated it)."""
        if self._store is None:
            self._store = JobStore(self._store_url)
        return self._store

    def api(self, *, workers: int = 0) -> Server:
        server = Server(self.data_dir, workers=workers, env=self.env)
        self.apis.append(server)
        return server

    def worker(self) -> WorkerProcess:
        process = WorkerProcess(self.data_dir, self.env, name=f"worker-{len(self.workers)}")
        self.workers.append(process)
        return process

    def worker_with_pid(self, pid: int) -> WorkerProcess:
        return next(worker for worker in self.workers if worker.pid == pid)

    def logs(self) -> str:
        """Every process's log so far (the API logs include their in-process workers)."""
        paths = [worker.log_path for worker in self.workers]
        paths += sorted(self.data_dir.parent.glob("server-*.log"))
        return "\n".join(path.read_text(errors="replace") for path in paths if path.exists())

    def close(self) -> None:
        for process in [*self.workers, *self.apis]:
            process.stop(signal.SIGKILL)  # a process already gone only has its log closed
        if self._store is not None:
            self._store.close()

    # ---- the API, over HTTP ----

    @staticmethod
    def create(server: Server, *, duration: float = RENDER_S, small: bool = False) -> str:
        body = {
            "model": "video-01-live2d",
            "prompt": "gentle breathing, slow push in",
            "first_frame_image": _SMALL_IMAGE if small else _IMAGE,
            "duration": duration,
        }
        response = httpx.post(server.base + PATH, json=body, headers=AUTH, timeout=30)
        assert response.status_code == 200, response.text
        generation_id: str = response.json()["generation_id"]
        return generation_id

    @staticmethod
    def poll(server: Server, generation_id: str) -> dict[str, Any]:
        response = httpx.get(server.base + PATH, params={"generation_id": generation_id}, headers=AUTH, timeout=10)
        assert response.status_code == 200, f"{generation_id}: {response.status_code} {response.text}"
        body: dict[str, Any] = response.json()
        return body

    # ---- the database ----

    def wait_for(self, job_id: str, done: Callable[[Job], bool], *, timeout_s: float, what: str) -> Job:
        deadline = time.monotonic() + timeout_s
        job = self.store.get(job_id)
        while time.monotonic() < deadline:
            job = self.store.get(job_id)
            if done(job):
                return job
            time.sleep(0.02)
        raise AssertionError(f"job {job_id} never {what} within {timeout_s} s; last: {job}\n{self.logs()[-4000:]}")

    def wait_mid_generation(self, job_id: str, *, timeout_s: float = 60) -> Job:
        """The job once its worker is rendering it (progress reported, far from the end)."""
        job = self.wait_for(
            job_id,
            lambda j: j.status is JobStatus.RUNNING and j.progress >= 0.02,
            timeout_s=timeout_s,
            what="reported progress",
        )
        assert job.progress < 0.9, f"the render was nearly done when caught ({job.progress}); make it longer"
        return job

    def wait_succeeded(self, job_id: str, *, timeout_s: float = 60) -> Job:
        job = self.wait_for(job_id, lambda j: j.status.is_terminal(), timeout_s=timeout_s, what="finished")
        assert job.status is JobStatus.SUCCEEDED, job
        return job

    def holder_pid(self, job: Job) -> int:
        """The pid of the worker process holding `job` (worker ids are `host:pid:random`)."""
        holder = self.store_worker_id(job.id)
        assert holder is not None, job
        return int(holder.split(":")[1])

    def store_worker_id(self, job_id: str) -> str | None:
        import sqlalchemy as sa

        from stillmotion.jobs.schema import jobs

        with self.store._engine.connect() as conn:  # the worker id is not part of `Job`
            value: str | None = conn.execute(sa.select(jobs.c.worker_id).where(jobs.c.id == job_id)).scalar()
        return value

    def lease_of(self, job_id: str) -> tuple[str, str | None, float | None]:
        """(status, worker id, lease expiry) straight from the row."""
        import sqlalchemy as sa

        from stillmotion.jobs.schema import jobs

        with self.store._engine.connect() as conn:
            row = conn.execute(
                sa.select(jobs.c.status, jobs.c.worker_id, jobs.c.lease_expires_at).where(jobs.c.id == job_id)
            ).one()
        return row[0], row[1], row[2]

    def media_files(self, job_id: str) -> list[str]:
        """Every stored object of the job, as storage keys."""
        folder = self.data_dir / "media" / "videos" / job_id
        return sorted(f"videos/{job_id}/{path.name}" for path in folder.iterdir()) if folder.is_dir() else []

    def assert_completed_once(self, job_id: str, *, attempt: int) -> Job:
        """Succeeded by attempt `attempt`, one video stored, and one success logged by all processes together."""
        job = self.store.get(job_id)
        assert job.status is JobStatus.SUCCEEDED, job
        assert job.attempt == attempt, job
        assert job.media_key == f"videos/{job_id}/{attempt}.mp4"
        assert self.media_files(job_id) == [job.media_key]
        successes = re.findall(rf"job {job_id} attempt (\d+): succeeded", self.logs())
        assert successes == [str(attempt)], successes
        return job


def burst_of_creates(
    server: Server, *, threads: int, stop_after: threading.Event
) -> tuple[list[str], list[str], list[threading.Thread]]:
    """Threads that send creates to `server` until it stops answering; returns (accepted ids, errors, threads)."""
    accepted: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop_after.is_set():
                body = {
                    "model": "video-01-live2d",
                    "prompt": "a slow smile",
                    "first_frame_image": _SMALL_IMAGE,
                    "duration": 1.0,
                }
                try:
                    response = client.post(server.base + PATH, json=body, headers=AUTH)
                except httpx.TransportError as exc:
                    with lock:
                        errors.append(type(exc).__name__)
                    return  # the process is gone
                if 200 <= response.status_code < 300:
                    with lock:
                        accepted.append(response.json()["generation_id"])
                else:
                    with lock:
                        errors.append(f"{response.status_code} {response.text[:200]}")

    started = [threading.Thread(target=send, daemon=True) for _ in range(threads)]
    for thread in started:
        thread.start()
    return accepted, errors, started
