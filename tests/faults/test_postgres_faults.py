"""Scale-out on PostgreSQL under real crashes: API processes (`serve --workers 0`) and `stillmotion worker`
processes on one database and one data directory, killed, stopped and terminated mid-flight."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from faults.cluster import Cluster, burst_of_creates
from stillmotion.domain import JobStatus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_a_worker_killed_mid_generation_its_job_completes_exactly_once(pg_cluster: Cluster) -> None:
    first_api, second_api = pg_cluster.api(), pg_cluster.api()
    for _ in range(3):
        pg_cluster.worker()
    job_id = pg_cluster.create(first_api)
    job = pg_cluster.wait_mid_generation(job_id)
    victim = pg_cluster.worker_with_pid(pg_cluster.holder_pid(job))
    victim.stop(signal.SIGKILL)
    assert victim.process.returncode == -signal.SIGKILL

    pg_cluster.wait_succeeded(job_id, timeout_s=90)
    assert pg_cluster.poll(second_api, job_id)["status"] == "completed"  # seen through the other API process
    pg_cluster.assert_completed_once(job_id, attempt=2)
    assert f"job {job_id} attempt 1: started" in victim.log()
    assert pg_cluster.holder_pid(pg_cluster.store.get(job_id)) != victim.pid


def test_every_create_acknowledged_before_an_api_process_was_killed_exists(pg_cluster: Cluster) -> None:
    victim, survivor = pg_cluster.api(), pg_cluster.api()
    stop = threading.Event()
    accepted, errors, threads = burst_of_creates(victim, threads=6, stop_after=stop)
    deadline = time.monotonic() + 60
    while len(accepted) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.stop(signal.SIGKILL)  # mid-burst: requests are in flight in every thread
    for thread in threads:
        thread.join(timeout=20)
    stop.set()
    assert len(accepted) >= 20
    assert not [error for error in errors if error[0].isdigit()], errors  # no HTTP error answers, only the cut
    assert errors, "the burst was still running when the process was killed"
    for generation_id in accepted:
        assert pg_cluster.poll(survivor, generation_id)["id"] == generation_id
    assert sum(pg_cluster.store.counts_by_status().values()) >= len(accepted)


def test_sigterm_drains_a_worker_which_exits_0_and_leaves_no_job_claimed(pg_cluster: Cluster) -> None:
    api = pg_cluster.api()
    pg_cluster.worker()
    pg_cluster.worker()
    job_id = pg_cluster.create(api)
    job = pg_cluster.wait_mid_generation(job_id)
    holder = pg_cluster.worker_with_pid(pg_cluster.holder_pid(job))
    holder_id = pg_cluster.store_worker_id(job_id)
    holder.process.send_signal(signal.SIGTERM)
    assert holder.process.wait(timeout=30) == 0

    status, worker_id, lease = pg_cluster.lease_of(job_id)
    assert not (status == JobStatus.RUNNING.value and worker_id == holder_id), (status, worker_id, lease)
    released = f"job {job_id} attempt 1: released (worker stopping)" in holder.log()
    finished = f"job {job_id} attempt 1: succeeded" in holder.log()
    assert released or finished, holder.log()[-3000:]
    # The other worker takes the released job: it still completes, once.
    pg_cluster.wait_succeeded(job_id, timeout_s=90)
    pg_cluster.assert_completed_once(job_id, attempt=2 if released else 1)


def test_a_worker_back_from_a_stop_past_its_lease_cannot_overwrite_the_newer_attempt(pg_cluster: Cluster) -> None:
    api = pg_cluster.api()
    pg_cluster.worker()
    pg_cluster.worker()
    job_id = pg_cluster.create(api)
    job = pg_cluster.wait_mid_generation(job_id)
    frozen = pg_cluster.worker_with_pid(pg_cluster.holder_pid(job))
    os.kill(frozen.pid, signal.SIGSTOP)  # it holds attempt 1 and goes silent: its lease runs out
    try:
        done = pg_cluster.wait_succeeded(job_id, timeout_s=90)
        assert done.attempt == 2
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    # Back, it heartbeats or finishes with attempt 1: refused, so it drops its work.
    deadline = time.monotonic() + 30
    late = (f"job {job_id} attempt 1: no longer ours, abandoned", f"job {job_id} attempt 1: finished late")
    while not any(line in frozen.log() for line in late):
        assert time.monotonic() < deadline, frozen.log()[-3000:]
        time.sleep(0.05)
    assert pg_cluster.store.get(job_id) == done  # not a field changed
    pg_cluster.assert_completed_once(job_id, attempt=2)
    assert frozen.process.poll() is None  # and it carries on working
