"""The engine host supervises its child: answers are matched to the render they belong to, a render nobody
follows any more is stopped, a silent render is killed, stop signals are the parent's to act on, the engine's
logs reach the parent's logging, and a full disk makes a job wait instead of failing it."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from stillmotion.domain import JobSpec, JobStatus, ModelRegistry, ModelSpec
from stillmotion.engines import RenderRequest
from stillmotion.jobs import JobStore
from stillmotion.logs import JsonFormatter, log_context
from stillmotion.storage import LocalStorage
from stillmotion.worker import EngineHost, Worker
from stillmotion.worker.host import EngineStalled
from support import make_image
from support_engines import FACTORIES


def _spec(model_id: str = "fake-a", **options: object) -> ModelSpec:
    return ModelSpec(id=model_id, engine="fake", options=dict(options))


def _request(**options: object) -> RenderRequest:
    return RenderRequest(image=b"", prompt="p", options=dict(options))


@pytest.fixture
def host() -> Iterator[EngineHost]:
    engine_host = EngineHost(cancel_grace_s=10.0, stall_s=0.0, engine_factories=FACTORIES)
    yield engine_host
    engine_host.close()


def test_a_render_whose_follower_fails_is_stopped_and_never_answers_for_the_next(
    host: EngineHost, tmp_path: Path
) -> None:
    # The worker's heartbeat raised (its database was away) while X rendered: X must not go on in the child and
    # its late answer must never be taken for Y's.
    seen: list[float] = []

    def failing_tick() -> bool:
        if seen:
            raise OperationalError("UPDATE jobs", {}, Exception("server closed the connection"))
        return True

    with pytest.raises(OperationalError):
        host.render(
            _spec(), _request(steps=100, step_s=0.02), tmp_path / "x.mp4", on_progress=seen.append,
            tick=failing_tick, job_id="X", attempt=1,
        )
    result = host.render(
        _spec(), _request(steps=2), tmp_path / "y.mp4", on_progress=lambda f: None, tick=lambda: True,
        job_id="Y", attempt=1,
    )
    assert result.frame_count == 2  # Y's own answer (X's had 100)
    assert (tmp_path / "y.mp4").exists()
    time.sleep(0.3)
    assert not (tmp_path / "x.mp4").exists()  # X was stopped, not left to finish


def test_a_stopped_engine_process_is_killed_by_the_watchdog(tmp_path: Path) -> None:
    host = EngineHost(stall_s=1.0, engine_factories=FACTORIES)
    try:
        def stop_it(fraction: float) -> None:
            pid = host.pid()
            if pid is not None and fraction < 0.01:
                os.kill(pid, signal.SIGSTOP)  # frozen mid-render, as a hung driver call would leave it

        with pytest.raises(EngineStalled, match="no progress for 1 s"):
            host.render(
                _spec(), _request(steps=1000, step_s=0.01), tmp_path / "1.mp4", on_progress=stop_it,
                tick=lambda: True,
            )
        assert host.pid() is None
        after = host.render(_spec(), _request(steps=1), tmp_path / "2.mp4", on_progress=lambda f: None,
                            tick=lambda: True)
        assert after.frame_count == 1  # a fresh child
    finally:
        host.close()


def test_loading_a_model_is_not_a_stall(tmp_path: Path) -> None:
    host = EngineHost(stall_s=0.5, engine_factories=FACTORIES)
    try:
        # Loading takes 1.5 s, three times the stall limit; the render itself reports progress often.
        result = host.render(_spec(load_s=1.5), _request(steps=3, step_s=0.05), tmp_path / "1.mp4",
                             on_progress=lambda f: None, tick=lambda: True)
        assert result.frame_count == 3
    finally:
        host.close()


def test_a_stop_signal_to_the_engine_process_is_left_to_its_parent(host: EngineHost, tmp_path: Path) -> None:
    # Ctrl-C or systemd's stop reaches the whole process group; the child must not die of it mid-render.
    signalled: list[int] = []

    def signal_child(fraction: float) -> None:
        pid = host.pid()
        if pid is not None and not signalled:
            signalled.append(pid)
            os.kill(pid, signal.SIGTERM)
            os.kill(pid, signal.SIGINT)

    result = host.render(_spec(), _request(steps=20, step_s=0.02), tmp_path / "1.mp4", on_progress=signal_child,
                         tick=lambda: True)
    assert result.frame_count == 20
    assert host.pid() == signalled[0]


def test_the_engines_log_records_reach_the_parents_logging_with_the_job_id(
    host: EngineHost, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with log_context(request_id="req-7", job_id="J"):
        host.render(_spec(), _request(steps=2, log=True), tmp_path / "1.mp4", on_progress=lambda f: None,
                    tick=lambda: True, job_id="J", attempt=3)
    records = [record for record in caplog.records if record.name == "support_engines"]
    assert [record.getMessage() for record in records] == ["step 1 of 2", "step 2 of 2"]
    assert all(record.levelno == logging.WARNING for record in records)
    with log_context(request_id="req-7"):
        line = json.loads(JsonFormatter().format(records[0]))
    assert (line["logger"], line["message"], line["job_id"], line["request_id"]) == (
        "support_engines", "step 1 of 2", "J", "req-7"
    )


# ---- the worker ----


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    job_store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}", max_attempts=2)
    job_store.create_schema()
    yield job_store
    job_store.close()


def _worker(store: JobStore, tmp_path: Path, **options: object) -> Worker:
    models = ModelRegistry({"fake-a": _spec()})
    worker = Worker(store, LocalStorage(tmp_path / "media"), work_dir=tmp_path / "work", models=models,
                    lease_s=5.0, **options)  # type: ignore[arg-type]
    worker.host = EngineHost(engine_factories=FACTORIES, stall_s=worker.host.stall_s)
    return worker


def _submit(store: JobStore, **options: object) -> str:
    spec = JobSpec(
        tenant="t", model="fake-a", engine="fake", prompt="p", image=make_image(64, 64), image_format="png",
        image_width=64, image_height=64, options=dict(options),
    )
    return store.create(spec).id


def _wait(predicate: object, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_drains_during_a_long_render_do_not_use_up_its_retries(store: JobStore, tmp_path: Path) -> None:
    # Three rolling restarts while one long job renders (max_attempts=2), then a worker that stays: it finishes.
    job_id = _submit(store, steps=400, step_s=0.01)
    for _ in range(3):
        worker = _worker(store, tmp_path)
        stop = threading.Event()
        runner = threading.Thread(target=worker.run, args=(stop,))
        runner.start()
        _wait(lambda: store.get(job_id).progress > 0)
        stop.set()
        runner.join(timeout=30)
        released = store.get(job_id)
        assert (released.status, released.lost_runs) == (JobStatus.QUEUED, 0)
    finisher = _worker(store, tmp_path)
    assert finisher.run_burst() == 1
    done = store.get(job_id)
    assert (done.status, done.attempt, done.lost_runs) == (JobStatus.SUCCEEDED, 4, 0)


def test_a_stalled_render_is_retried(store: JobStore, tmp_path: Path) -> None:
    job_id = _submit(store, steps=2, step_s=30.0)  # silent for 30 s after loading
    worker = _worker(store, tmp_path, stall_s=0.5)
    assert worker.run_once()
    stalled = store.get(job_id)
    assert (stalled.status, stalled.lost_runs) == (JobStatus.QUEUED, 1)
    assert "no progress for 0.5 s" in (stalled.error_message or "")
    assert not list((tmp_path / "work").glob(f"{job_id}-*"))


def test_a_render_that_finds_the_disk_full_waits_in_the_queue(store: JobStore, tmp_path: Path) -> None:
    job_id = _submit(store, no_space=True)
    worker = _worker(store, tmp_path, disk_retry_s=60.0)
    assert worker.run_once()
    waiting = store.get(job_id)
    assert (waiting.status, waiting.lost_runs) == (JobStatus.QUEUED, 0)
    assert "no space left on the device" in (waiting.error_message or "")
    assert not worker.run_once()  # not claimed again before its wait is over


def test_a_short_database_outage_during_a_render_does_not_lose_the_job(
    store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _submit(store, steps=60, step_s=0.02)
    worker = _worker(store, tmp_path)
    heartbeat = store.heartbeat
    outage = {"left": 3}

    def flaky_heartbeat(*args: object, **kwargs: object) -> bool:
        if outage["left"] > 0 and store.get(job_id).progress > 0:
            outage["left"] -= 1
            raise OperationalError("UPDATE jobs", {}, Exception("could not connect to server"))
        return heartbeat(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "heartbeat", flaky_heartbeat)
    assert worker.run_once()
    assert outage["left"] == 0
    done = store.get(job_id)
    assert (done.status, done.attempt, done.result["frame_count"]) == (JobStatus.SUCCEEDED, 1, 60)
