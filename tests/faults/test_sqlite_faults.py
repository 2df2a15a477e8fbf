"""The kill tests on SQLite: one `stillmotion serve` process with in-process workers, killed or terminated
mid-flight and started again on the same data directory."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from faults.cluster import Cluster, burst_of_creates
from stillmotion.domain import JobStatus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_serve_killed_mid_generation_its_job_completes_exactly_once(sqlite_cluster: Cluster) -> None:
    first = sqlite_cluster.api(workers=1)
    job_id = sqlite_cluster.create(first)
    sqlite_cluster.wait_mid_generation(job_id)
    first.stop(signal.SIGKILL)
    assert first.process.returncode == -signal.SIGKILL

    second = sqlite_cluster.api(workers=1)
    sqlite_cluster.wait_succeeded(job_id, timeout_s=90)
    assert sqlite_cluster.poll(second, job_id)["status"] == "completed"
    sqlite_cluster.assert_completed_once(job_id, attempt=2)


def test_every_create_acknowledged_before_serve_was_killed_exists_after_restart(sqlite_cluster: Cluster) -> None:
    first = sqlite_cluster.api(workers=1)
    stop = threading.Event()
    accepted, errors, threads = burst_of_creates(first, threads=6, stop_after=stop)
    deadline = time.monotonic() + 60
    while len(accepted) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.stop(signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=20)
    stop.set()
    assert len(accepted) >= 20
    assert not [error for error in errors if error[0].isdigit()], errors
    assert errors, "the burst was still running when the process was killed"

    second = sqlite_cluster.api(workers=0)
    for generation_id in accepted:
        assert sqlite_cluster.poll(second, generation_id)["id"] == generation_id


def test_sigterm_drains_serve_which_exits_0_and_leaves_no_job_claimed(sqlite_cluster: Cluster) -> None:
    first = sqlite_cluster.api(workers=1)
    job_id = sqlite_cluster.create(first)
    sqlite_cluster.wait_mid_generation(job_id)
    first.stop(signal.SIGTERM)
    assert first.process.returncode == 0

    status, worker_id, lease = sqlite_cluster.lease_of(job_id)
    released = status == JobStatus.QUEUED.value
    assert released or status == JobStatus.SUCCEEDED.value, (status, worker_id, lease)
    if released:
        assert (worker_id, lease) == (None, None)
    second = sqlite_cluster.api(workers=1)
    sqlite_cluster.wait_succeeded(job_id, timeout_s=90)
    assert sqlite_cluster.poll(second, job_id)["status"] == "completed"
    sqlite_cluster.assert_completed_once(job_id, attempt=2 if released else 1)


def test_a_serve_back_from_a_stop_past_its_lease_cannot_overwrite_the_newer_attempt(
    sqlite_cluster: Cluster,
) -> None:
    # Two serve processes on one SQLite file (WAL lets processes share it): one is frozen holding the job.
    first = sqlite_cluster.api(workers=1)
    job_id = sqlite_cluster.create(first)
    sqlite_cluster.wait_mid_generation(job_id)
    os.kill(first.process.pid, signal.SIGSTOP)
    try:
        sqlite_cluster.api(workers=1)
        done = sqlite_cluster.wait_succeeded(job_id, timeout_s=90)
        assert done.attempt == 2
    finally:
        os.kill(first.process.pid, signal.SIGCONT)
    deadline = time.monotonic() + 30
    late = (f"job {job_id} attempt 1: no longer ours, abandoned", f"job {job_id} attempt 1: finished late")
    while not any(line in sqlite_cluster.logs() for line in late):
        assert time.monotonic() < deadline, sqlite_cluster.logs()[-3000:]
        time.sleep(0.05)
    assert sqlite_cluster.store.get(job_id) == done
    sqlite_cluster.assert_completed_once(job_id, attempt=2)
