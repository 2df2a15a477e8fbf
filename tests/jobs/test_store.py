from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from stillmotion.domain import JobNotFound, JobSpec, JobStatus, UnfinishedCapReached
from stillmotion.jobs import JobStore, tenant_for_key
from stillmotion.jobs.schema import api_keys, jobs


def _spec(tenant: str = "t_a", prompt: str = "she smiles") -> JobSpec:
    return JobSpec(
        tenant=tenant,
        model="video-01-live2d",
        engine="live2d",
        prompt=prompt,
        image=b"\x89PNG fake bytes",
        image_format="png",
        image_width=400,
        image_height=600,
    )


class FakeClock:
    """The store's clock in these tests: it moves a microsecond per reading (so rows keep their order) and
    otherwise only when a test advances it, so leases run out without sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 1e-6
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(database_url: str, clock: FakeClock) -> Iterator[JobStore]:
    """The store on SQLite and on PostgreSQL (`database_url` runs each test on both), on a clock tests move."""
    job_store = JobStore(database_url, max_attempts=2, clock=clock)
    job_store.create_schema()
    yield job_store
    job_store.close()


def test_create_then_get_round_trips_and_keeps_the_input(store: JobStore) -> None:
    job = store.create(_spec())
    assert job.status is JobStatus.QUEUED
    assert job.id.isdigit()
    assert store.get(job.id).prompt == "she smiles"
    assert store.load_input(job.id) == b"\x89PNG fake bytes"


def test_another_tenant_cannot_see_a_job(store: JobStore) -> None:
    job = store.create(_spec(tenant="t_a"))
    assert store.get(job.id, tenant="t_a").id == job.id
    with pytest.raises(JobNotFound):
        store.get(job.id, tenant="t_b")
    with pytest.raises(JobNotFound):
        store.get("123", tenant="t_a")


def test_claims_take_the_oldest_job_first(store: JobStore) -> None:
    first = store.create(_spec(prompt="first"))
    store.create(_spec(prompt="second"))
    claim = store.claim(worker_id="w1", lease_s=30)
    assert claim is not None
    assert claim.job.id == first.id
    assert claim.attempt == 1
    assert claim.job.status is JobStatus.RUNNING


def test_concurrent_claimers_never_share_a_job(database_url: str) -> None:
    url = database_url
    setup = JobStore(url)
    setup.create_schema()
    job_ids = {setup.create(_spec(prompt=str(i))).id for i in range(40)}
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        store = JobStore(url)  # its own engine and connections, as another process would have
        while (claim := store.claim(worker_id=name, lease_s=60)) is not None:
            with lock:
                claimed.append(claim.job.id)
        store.close()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(job_ids)  # every job once, none twice


def test_an_expired_lease_is_claimed_again_and_the_old_attempt_is_fenced_off(
    store: JobStore, clock: FakeClock
) -> None:
    job = store.create(_spec())
    old = store.claim(worker_id="w-old", lease_s=30)
    assert old is not None
    clock.advance(29)
    assert store.claim(worker_id="w-new", lease_s=30) is None  # lease still valid
    clock.advance(2)
    new = store.claim(worker_id="w-new", lease_s=30)
    assert new is not None
    assert new.job.id == job.id
    assert new.attempt == 2
    # The worker that lost its lease comes back: none of its writes land.
    assert not store.heartbeat(job.id, attempt=old.attempt, lease_s=30, progress=0.9)
    assert not store.succeed(job.id, attempt=old.attempt, media_key="videos/x/1.mp4", result={})
    assert not store.fail(job.id, attempt=old.attempt, code="boom", message="late")
    assert not store.give_up_attempt(job.id, attempt=old.attempt, reason="late")
    assert not store.release(job.id, attempt=old.attempt)
    untouched = store.get(job.id)
    assert (untouched.status, untouched.attempt, untouched.progress) == (JobStatus.RUNNING, 2, 0.0)
    assert store.succeed(job.id, attempt=new.attempt, media_key="videos/x/2.mp4", result={"frame_count": 150})
    done = store.get(job.id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.media_key == "videos/x/2.mp4"
    assert done.progress == 1.0


def test_a_job_whose_workers_keep_vanishing_fails_with_the_reason(store: JobStore, clock: FakeClock) -> None:
    job = store.create(_spec())
    for _ in range(2):  # max_attempts=2
        assert store.claim(worker_id="w", lease_s=30) is not None
        clock.advance(31)
    assert store.claim(worker_id="w", lease_s=30) is None
    failed = store.get(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.error_code == "worker_lost"
    assert "2 times" in (failed.error_message or "")
    assert "vanished" in (failed.error_message or "")


def test_a_job_handed_back_by_shutting_down_workers_is_not_a_lost_run(store: JobStore) -> None:
    # Graceful drains (a rolling deploy restarting workers) do not use up the job's retries; `attempt` still grows
    # with every claim, as the fencing token.
    job = store.create(_spec())
    for attempt in range(1, 6):  # max_attempts=2
        claim = store.claim(worker_id="w", lease_s=30)
        assert claim is not None and claim.attempt == attempt
        assert store.release(job.id, attempt=claim.attempt)
    queued = store.get(job.id)
    assert (queued.status, queued.attempt, queued.lost_runs) == (JobStatus.QUEUED, 5, 0)
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    assert store.succeed(job.id, attempt=claim.attempt, media_key="videos/j/6.mp4", result={})


def test_lost_runs_and_drains_are_counted_apart(store: JobStore, clock: FakeClock) -> None:
    job = store.create(_spec())
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    clock.advance(31)  # the worker vanished: one lost run
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None and claim.job.lost_runs == 1
    assert store.release(job.id, attempt=claim.attempt)  # a drain: not counted
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None and claim.job.lost_runs == 1
    assert store.give_up_attempt(job.id, attempt=claim.attempt, reason="the engine process died")
    assert store.claim(worker_id="w", lease_s=30) is None  # the second lost run of two: it fails
    assert store.get(job.id).error_code == "worker_lost"


def test_a_job_released_to_wait_is_not_claimed_before_its_time(store: JobStore, clock: FakeClock) -> None:
    job = store.create(_spec())
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    assert store.release(job.id, attempt=claim.attempt, wait_s=60, reason="no space left on the device")
    waiting = store.get(job.id)
    assert (waiting.status, waiting.lost_runs, waiting.error_message) == (
        JobStatus.QUEUED, 0, "no space left on the device"
    )
    later = store.create(_spec(prompt="later"))
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None and claim.job.id == later.id  # the waiting job is passed over
    clock.advance(61)
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None and claim.job.id == job.id


def test_a_job_that_keeps_crashing_its_engine_fails_with_the_last_error(store: JobStore) -> None:
    job = store.create(_spec())
    for _ in range(2):  # max_attempts=2
        claim = store.claim(worker_id="w", lease_s=30)
        assert claim is not None
        assert store.give_up_attempt(job.id, attempt=claim.attempt, reason="the engine process died (exit code -9)")
    assert store.claim(worker_id="w", lease_s=30) is None
    failed = store.get(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.error_message == (
        "the job's run was lost 2 times and never finished; last error: the engine process died (exit code -9)"
    )


def test_progress_heartbeat_and_release(store: JobStore) -> None:
    job = store.create(_spec())
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    assert store.heartbeat(job.id, attempt=claim.attempt, lease_s=30, progress=0.4)
    assert store.get(job.id).progress == pytest.approx(0.4)
    assert store.release(job.id, attempt=claim.attempt)
    released = store.get(job.id)
    assert released.status is JobStatus.QUEUED
    assert released.progress == 0.0
    assert store.claim(worker_id="w2", lease_s=30) is not None


def test_finished_jobs_cannot_be_overwritten(store: JobStore) -> None:
    job = store.create(_spec())
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    assert store.fail(job.id, attempt=claim.attempt, code="invalid_input", message="cannot decode")
    assert not store.succeed(job.id, attempt=claim.attempt, media_key="videos/a/1.mp4", result={})
    assert store.get(job.id).status is JobStatus.FAILED
    assert store.counts_by_status()[JobStatus.FAILED] == 1


def test_keys_are_stored_hashed_and_revocable(store: JobStore, database_url: str, tmp_path: Path) -> None:
    key, record = store.create_key("ci")
    assert store.tenant_for_stored_key(key) == tenant_for_key(key)
    assert store.tenant_for_stored_key(key + "x") is None
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(api_keys)).all()
    engine.dispose()
    assert len(stored) == 1 and key not in repr(stored)  # only the hash is kept
    if database_url.startswith("sqlite"):
        assert key.encode() not in (tmp_path / "jobs.db").read_bytes()
    assert [k.id for k in store.list_keys()] == [record.id]
    assert store.revoke_key(record.id)
    assert not store.revoke_key(record.id)
    assert store.tenant_for_stored_key(key) is None
    assert not store.list_keys()[0].active


def _keyed(key: str, request_hash: str, tenant: str = "t_a") -> JobSpec:
    from dataclasses import replace

    return replace(_spec(tenant=tenant), idempotency_key=key, request_hash=request_hash)


def test_list_pages_through_a_tenants_jobs_in_both_orders(store: JobStore) -> None:
    made = [store.create(_spec(prompt=str(i))).id for i in range(5)]
    store.create(_spec(tenant="t_other"))
    newest_first: list[str] = []
    after = None
    while True:
        page = store.list_jobs("t_a", limit=2, after=after)
        newest_first += [job.id for job in page.jobs]
        if not page.has_more:
            break
        after = page.jobs[-1].id
    assert newest_first == made[::-1]
    oldest_first = store.list_jobs("t_a", limit=10, newest_first=False)
    assert [job.id for job in oldest_first.jobs] == made and not oldest_first.has_more
    assert [job.id for job in store.list_jobs("t_a", limit=2, after=made[1], newest_first=False).jobs] == made[2:4]
    with pytest.raises(JobNotFound):
        store.list_jobs("t_other", after=made[0])  # a cursor must be the tenant's own job


def test_cancel_queued_and_running_jobs_but_not_finished_ones(store: JobStore) -> None:
    queued = store.create(_spec())
    assert store.cancel(queued.id).status is JobStatus.CANCELLED
    assert store.claim(worker_id="w", lease_s=30) is None  # a cancelled job is never run

    running = store.create(_spec())
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    cancelled = store.cancel(running.id, tenant="t_a")
    assert cancelled.status is JobStatus.CANCELLED and cancelled.error_code == "cancelled"
    assert not store.heartbeat(running.id, attempt=claim.attempt, lease_s=30)  # the worker learns to stop

    done = store.create(_spec())
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    store.succeed(done.id, attempt=claim.attempt, media_key="k", result={})
    assert store.cancel(done.id).status is JobStatus.SUCCEEDED
    with pytest.raises(JobNotFound):
        store.cancel(done.id, tenant="t_other")


def test_delete_removes_the_job_and_its_input(store: JobStore) -> None:
    job = store.create(_spec())
    with pytest.raises(JobNotFound):
        store.delete(job.id, tenant="t_other")
    assert store.delete(job.id, tenant="t_a").id == job.id
    with pytest.raises(JobNotFound):
        store.get(job.id)
    with pytest.raises(JobNotFound):
        store.load_input(job.id)


def test_an_idempotency_key_returns_the_first_job_and_refuses_another_request(store: JobStore) -> None:
    from stillmotion.domain import Conflict

    first = store.create(_keyed("k1", "hash-a"))
    assert store.create(_keyed("k1", "hash-a")).id == first.id
    assert store.find_idempotent("t_a", "k1", "hash-a") == first
    with pytest.raises(Conflict):
        store.create(_keyed("k1", "hash-b"))
    assert store.create(_keyed("k1", "hash-a", tenant="t_b")).id != first.id  # keys are per tenant
    assert sum(store.counts_by_status().values()) == 2


def test_racing_creates_with_one_idempotency_key_make_one_job(database_url: str) -> None:
    store = JobStore(database_url)
    store.create_schema()
    ids: list[str] = []
    barrier = threading.Barrier(6)

    def create() -> None:
        barrier.wait()
        ids.append(store.create(_keyed("same", "hash")).id)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 6 and len(set(ids)) == 1
    assert sum(store.counts_by_status().values()) == 1
    store.close()


def test_heartbeats_keep_the_lease_and_a_late_worker_cannot_touch_a_finished_job(
    store: JobStore, clock: FakeClock
) -> None:
    job = store.create(_spec())
    first = store.claim(worker_id="w1", lease_s=30)
    assert first is not None
    for _ in range(4):  # 80 s in all: longer than the lease, but each heartbeat renews it
        clock.advance(20)
        assert store.heartbeat(job.id, attempt=first.attempt, lease_s=30, progress=0.5)
    assert store.claim(worker_id="w2", lease_s=30) is None
    clock.advance(31)  # silence: the lease runs out and the job is runnable again
    second = store.claim(worker_id="w2", lease_s=30)
    assert second is not None and second.attempt == 2 and second.job.id == job.id
    assert store.succeed(job.id, attempt=second.attempt, media_key="videos/j/2.mp4", result={"n": 2})
    # Neither the old attempt nor the finished one can write again.
    for attempt in (first.attempt, second.attempt):
        assert not store.heartbeat(job.id, attempt=attempt, lease_s=30)
        assert not store.succeed(job.id, attempt=attempt, media_key="videos/j/x.mp4", result={})
        assert not store.fail(job.id, attempt=attempt, code="late", message="late")
        assert not store.give_up_attempt(job.id, attempt=attempt, reason="late")
        assert not store.release(job.id, attempt=attempt)
    done = store.get(job.id)
    assert (done.status, done.media_key, done.result, done.attempt) == (
        JobStatus.SUCCEEDED,
        "videos/j/2.mp4",
        {"n": 2},
        2,
    )


def test_a_claim_skips_a_row_another_transaction_has_locked(postgres_url: str) -> None:
    """PostgreSQL: `FOR UPDATE SKIP LOCKED` passes over a job being claimed elsewhere instead of waiting."""
    store = JobStore(postgres_url)
    store.create_schema()
    first = store.create(_spec(prompt="first"))
    second = store.create(_spec(prompt="second"))
    other = sa.create_engine(postgres_url)
    claimed: list[str | None] = []
    try:
        with other.connect() as conn:
            conn.execute(sa.select(jobs.c.id).where(jobs.c.id == first.id).with_for_update())  # held until rollback
            claimer = threading.Thread(
                target=lambda: claimed.append(c.job.id if (c := store.claim(worker_id="w", lease_s=30)) else None)
            )
            claimer.start()
            claimer.join(timeout=3)
            blocked = claimer.is_alive()
            conn.rollback()  # lets a claimer that did wait go on, so the test ends either way
            claimer.join(timeout=10)
        assert not blocked, "the claim waited for the locked row instead of skipping it"
        assert claimed == [second.id]
        later = store.claim(worker_id="w", lease_s=30)
        assert later is not None and later.job.id == first.id
    finally:
        other.dispose()
        store.close()


def test_a_worker_limited_to_some_engines_claims_only_their_jobs(store: JobStore) -> None:
    live2d_job = store.create(_spec(prompt="older, live2d"))
    diffusion_job = store.create(replace(_spec(prompt="newer, diffusion"), model="wan", engine="diffusion"))
    assert store.claim(worker_id="gpu", lease_s=30, engines={"nothing-here"}) is None
    gpu = store.claim(worker_id="gpu", lease_s=30, engines={"diffusion"})
    assert gpu is not None and gpu.job.id == diffusion_job.id  # the older live2d job is left alone
    assert store.claim(worker_id="gpu", lease_s=30, engines={"diffusion"}) is None
    cpu = store.claim(worker_id="cpu", lease_s=30)  # no filter: any engine
    assert cpu is not None and cpu.job.id == live2d_job.id
    assert store.claim(worker_id="cpu", lease_s=30) is None


def test_a_worker_limited_to_some_models_claims_only_their_jobs(store: JobStore) -> None:
    older = store.create(replace(_spec(prompt="older"), model="wan-a", engine="diffusion"))
    newer = store.create(replace(_spec(prompt="newer"), model="wan-b", engine="diffusion"))
    only_b = store.claim(worker_id="gpu-b", lease_s=30, models={"wan-b"})
    assert only_b is not None and only_b.job.id == newer.id
    assert store.claim(worker_id="gpu-b", lease_s=30, models={"wan-b"}) is None
    assert store.claim(worker_id="gpu", lease_s=30, engines={"diffusion"}, models={"wan-c"}) is None
    either = store.claim(worker_id="gpu", lease_s=30, engines={"diffusion"}, models={"wan-a", "wan-b"})
    assert either is not None and either.job.id == older.id


def test_a_burst_of_creates_never_passes_the_unfinished_cap(database_url: str) -> None:
    # 30 creates of one tenant at once with a cap of 3: the count and the insert are one step, so exactly 3 are
    # taken (counting first and inserting after let every racer see 0 and pass).
    store = JobStore(database_url)
    store.create_schema()
    taken: list[str] = []
    refused: list[int] = []
    start = threading.Barrier(30)

    def create() -> None:
        start.wait()
        try:
            taken.append(store.create(_spec("t_burst"), cap=3).id)
        except UnfinishedCapReached as exc:
            refused.append(exc.unfinished)

    threads = [threading.Thread(target=create) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(taken) == 3, (len(taken), len(refused))
        assert refused and all(count >= 3 for count in refused)
        assert store.count_unfinished("t_burst") == 3
        store.create(_spec("t_other"), cap=3)  # the cap is per tenant
    finally:
        store.close()
