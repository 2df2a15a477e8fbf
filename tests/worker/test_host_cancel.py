"""The engine host keeps its child, and the engines loaded in it, through a cancel; only a child that does not
stop within the grace is killed. Engine errors reach the job with their code."""

from __future__ import annotations

from pathlib import Path

import pytest

from stillmotion.domain import JobSpec, JobStatus, ModelRegistry, ModelSpec
from stillmotion.engines import RenderRequest, RenderResult
from stillmotion.jobs import JobStore
from stillmotion.storage import LocalStorage
from stillmotion.worker import EngineHost, RenderFailed, Worker
from support import make_image
from support_engines import FACTORIES

REQUEST = RenderRequest(image=b"", prompt="p")


def _spec(model_id: str = "fake-a", **options: object) -> ModelSpec:
    return ModelSpec(id=model_id, engine="fake", options=dict(options))


def _request(**options: object) -> RenderRequest:
    return RenderRequest(image=b"", prompt="p", options=dict(options))


def _render(host: EngineHost, spec: ModelSpec, request: RenderRequest, output: Path) -> RenderResult:
    return host.render(spec, request, output, on_progress=lambda f: None, tick=lambda: True)


@pytest.fixture
def host() -> EngineHost:
    return EngineHost(cancel_grace_s=20.0, engine_factories=FACTORIES)


def test_a_cancel_stops_the_render_and_keeps_the_child_and_its_engine(host: EngineHost, tmp_path: Path) -> None:
    try:
        first = _render(host, _spec(), _request(steps=3), tmp_path / "1.mp4")
        pid = first.extra["pid"]
        assert first.extra["loads"] == 1 and host.pid() == pid

        seen: list[float] = []
        # A long render (400 steps of 10 ms): the cancel comes after its first progress report.
        with pytest.raises(RenderFailed) as cancelled:
            host.render(
                _spec(), _request(steps=400, step_s=0.01), tmp_path / "2.mp4", on_progress=seen.append,
                tick=lambda: not seen,
            )
        assert cancelled.value.code == "cancelled"
        assert not (tmp_path / "2.mp4").exists()  # stopped between steps, not left to finish
        assert host.pid() == pid  # not killed

        again = _render(host, _spec(), _request(steps=2), tmp_path / "3.mp4")
        assert again.extra == {"pid": pid, "loads": 1}  # the same process, the engine not made again
        other = _render(host, _spec("fake-b"), REQUEST, tmp_path / "4.mp4")
        assert other.extra == {"pid": pid, "loads": 2}  # one engine per model id
    finally:
        host.close()


def test_an_engine_that_ignores_the_cancel_is_killed_after_the_grace(tmp_path: Path) -> None:
    host = EngineHost(cancel_grace_s=0.3, engine_factories=FACTORIES)
    try:
        seen: list[float] = []
        with pytest.raises(RenderFailed) as cancelled:
            host.render(
                _spec(), _request(steps=2000, step_s=0.01, ignore_cancel=True), tmp_path / "1.mp4",
                on_progress=seen.append, tick=lambda: not seen,
            )
        assert cancelled.value.code == "cancelled"
        assert host.pid() is None  # killed
        after = _render(host, _spec(), REQUEST, tmp_path / "2.mp4")
        assert after.extra["loads"] == 1  # a fresh child loads its engine again
    finally:
        host.close()


def test_an_engine_error_keeps_its_code_and_the_child(host: EngineHost, tmp_path: Path) -> None:
    try:
        with pytest.raises(RenderFailed) as failed:
            _render(host, _spec(fail="out_of_memory"), REQUEST, tmp_path / "1.mp4")
        assert failed.value.code == "out_of_memory"
        assert "CUDA ran out of memory" in str(failed.value)
        pid = host.pid()
        assert pid is not None
        after = _render(host, _spec(), REQUEST, tmp_path / "2.mp4")
        assert after.extra["pid"] == pid
    finally:
        host.close()


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    job_store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}", max_attempts=3)
    job_store.create_schema()
    return job_store


def _submit(store: JobStore, model: str, engine: str) -> str:
    spec = JobSpec(
        tenant="t", model=model, engine=engine, prompt="p", image=make_image(400, 520), image_format="png",
        image_width=400, image_height=520,
    )
    return store.create(spec).id


def test_a_job_whose_model_left_the_registry_fails_as_unknown_model(store: JobStore, tmp_path: Path) -> None:
    worker = Worker(store, LocalStorage(tmp_path / "media"), work_dir=tmp_path / "work")
    job_id = _submit(store, "wan-removed", "diffusion")
    assert worker.run_burst() == 1
    job = store.get(job_id)
    assert job.status is JobStatus.FAILED
    assert job.error_code == "unknown_model"
    assert job.error_message is not None
    assert "'wan-removed' is not known to this worker (no models file)" in job.error_message
    assert worker.host.pid() is None  # refused before any engine was started


def test_the_worker_hands_the_registry_spec_to_the_engine_and_fails_with_its_code(
    store: JobStore, tmp_path: Path
) -> None:
    models = ModelRegistry({"fake-oom": _spec("fake-oom", fail="out_of_memory"), "fake-ok": _spec("fake-ok")})
    worker = Worker(store, LocalStorage(tmp_path / "media"), work_dir=tmp_path / "work", models=models)
    worker.host = EngineHost(engine_factories=FACTORIES)
    oom, ok = _submit(store, "fake-oom", "fake"), _submit(store, "fake-ok", "fake")
    assert worker.run_burst() == 2
    failed = store.get(oom)
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, "out_of_memory")
    assert failed.error_message == "CUDA ran out of memory: 20.00 GiB asked, 3.10 GiB free"
    done = store.get(ok)
    assert done.status is JobStatus.SUCCEEDED
    assert done.result["frame_count"] == 3


def test_a_one_model_at_a_time_engine_keeps_only_the_model_used_last(tmp_path: Path) -> None:
    # As for diffusion models on a GPU: switching models lets the previous one go instead of holding both.
    host = EngineHost(engine_factories=FACTORIES, one_at_a_time=frozenset({"fake"}))
    try:
        loads = [
            _render(host, _spec(model_id), _request(steps=1), tmp_path / f"{index}.mp4").extra["loads"]
            for index, model_id in enumerate(["fake-a", "fake-a", "fake-b", "fake-a"])
        ]
    finally:
        host.close()
    assert loads == [1, 1, 2, 3]  # a kept while used; b replaced it; a loaded again after b


def test_other_engines_keep_every_model_they_loaded(tmp_path: Path) -> None:
    host = EngineHost(engine_factories=FACTORIES, one_at_a_time=frozenset())
    try:
        loads = [
            _render(host, _spec(model_id), _request(steps=1), tmp_path / f"{index}.mp4").extra["loads"]
            for index, model_id in enumerate(["fake-a", "fake-b", "fake-a"])
        ]
    finally:
        host.close()
    assert loads == [1, 2, 2]
