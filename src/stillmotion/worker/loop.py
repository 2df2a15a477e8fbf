"""The worker loop: claim -> render in the engine host -> store the video -> record the outcome."""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from stillmotion.domain import InvalidInput, ModelRegistry
from stillmotion.domain.options import DEFAULT_DURATION_S, DEFAULT_FPS
from stillmotion.engines.base import RenderRequest
from stillmotion.jobs import Claim, DatabaseUnavailable, JobStore
from stillmotion.logs import log_context
from stillmotion.storage import Storage, StorageError
from stillmotion.worker.host import NO_SPACE, EngineCrashed, EngineHost, RenderFailed
from stillmotion.worker.retention import sweep_work_files

log = logging.getLogger("stillmotion.worker")

# Progress is written at most this often while it moves (polls see it rise smoothly without a commit per frame);
# a job whose progress stands still is still heartbeated every `_HEARTBEAT_EVERY_S`. Each write also tells the
# worker whether the job is still its own, so a cancel is noticed within one of these intervals.
_PROGRESS_EVERY_S = 0.25
_HEARTBEAT_EVERY_S = 0.5


class Worker:
    def __init__(
        self,
        store: JobStore,
        storage: Storage,
        *,
        work_dir: Path,
        lease_s: float = 30.0,
        poll_interval_s: float = 0.5,
        worker_id: str | None = None,
        models: ModelRegistry | None = None,
        cancel_grace_s: float = 30.0,
        engines: Collection[str] | None = None,
        models_to_run: Collection[str] | None = None,
        stall_s: float = 120.0,
        disk_retry_s: float = 60.0,
    ) -> None:
        self.store = store
        self.storage = storage
        self.work_dir = work_dir
        self.lease_s = lease_s
        self.poll_interval_s = poll_interval_s
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # The model ids this worker can run; a job's id is looked up when it is claimed.
        self.models = models if models is not None else ModelRegistry()
        # The engines whose jobs this worker takes (None: all), e.g. only `diffusion` on a GPU machine.
        self.engines = frozenset(engines) if engines is not None else None
        # The model ids whose jobs it takes (None: all), e.g. the one model a GPU worker keeps loaded.
        self.models_to_run = frozenset(models_to_run) if models_to_run is not None else None
        self.host = EngineHost(cancel_grace_s=cancel_grace_s, stall_s=stall_s)
        # A render or upload that found the disk full waits this long in the queue: the job is not at fault.
        self.disk_retry_s = disk_retry_s
        self.work_dir.mkdir(parents=True, exist_ok=True)
        # What a worker that died mid-render left behind goes when the next one starts.
        sweep_work_files(self.store, self.work_dir)

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set; a job in hand when it is set goes back to the queue."""
        try:
            while not stop.is_set():
                try:
                    worked = self.run_once(stop=stop)
                except Exception:
                    log.exception("worker %s: unexpected error; continuing", self.worker_id)
                    worked = False
                if not worked:
                    stop.wait(self.poll_interval_s)
        finally:
            self.host.close()

    def run_burst(self) -> int:
        """Run jobs until the queue is empty; return how many were taken. Exact for tests: no sleeps."""
        taken = 0
        try:
            while self.run_once():
                taken += 1
        finally:
            self.host.close()
        return taken

    def run_once(self, *, stop: threading.Event | None = None) -> bool:
        """Claim and run one job; False if there was none."""
        claim = self.store.claim(
            worker_id=self.worker_id, lease_s=self.lease_s, engines=self.engines, models=self.models_to_run
        )
        if claim is None:
            return False
        # Every log line about this job, here and in the storage and store below, carries its ids.
        with log_context(request_id=claim.job.request_id, job_id=claim.job.id):
            self._run(claim, stop)
        return True

    def _run(self, claim: Claim, stop: threading.Event | None) -> None:
        job, attempt = claim.job, claim.attempt
        log.info("job %s attempt %d: started on %s", job.id, attempt, self.worker_id)
        try:
            spec = self.models.spec(job.model)
        except InvalidInput as exc:
            # Created under a models file that listed it; this worker's file does not (any more).
            where = f"models file {self.models.source}" if self.models.source else "no models file"
            message = f"model {job.model!r} is not known to this worker ({where}); it {exc.rule}"
            self.store.fail(job.id, attempt=attempt, code="unknown_model", message=message)
            log.warning("job %s attempt %d: failed: %s", job.id, attempt, message)
            return
        output = self.work_dir / f"{job.id}-{attempt}.mp4"
        output.unlink(missing_ok=True)
        request = RenderRequest(
            image=self.store.load_input(job.id),
            prompt=job.prompt,
            prompt_optimizer=job.prompt_optimizer,
            duration_s=float(job.options.get("duration", DEFAULT_DURATION_S)),
            fps=int(job.options.get("fps", DEFAULT_FPS)),
            seed=job.options.get("seed"),
            loop=bool(job.options.get("loop", False)),
            options=job.options,
        )
        state = {"progress": 0.0, "written": -1.0, "written_at": 0.0, "still_ours": True, "stopping": False}
        held_until = time.monotonic() + self.lease_s  # our lease surely holds until then, heartbeat or not

        def on_progress(fraction: float) -> None:
            state["progress"] = fraction

        def tick() -> bool:
            # Heartbeat with the latest progress; stop if the job was taken from us or we are shutting down.
            nonlocal held_until
            if stop is not None and stop.is_set():
                state["stopping"] = True
                return False
            now = time.monotonic()
            since = now - state["written_at"]
            moved = state["progress"] != state["written"]
            if since >= _HEARTBEAT_EVERY_S or (moved and since >= _PROGRESS_EVERY_S):
                state["written_at"] = now
                try:
                    state["still_ours"] = self.store.heartbeat(
                        job.id, attempt=attempt, lease_s=self.lease_s, progress=state["progress"]
                    )
                except DATABASE_ERRORS as exc:
                    # A database that is briefly away (a restart, a failover) does not stop the render; once the
                    # lease may have run out, another worker may hold the job, and this one gives it up.
                    log.warning("job %s attempt %d: heartbeat failed (%s); rendering on", job.id, attempt, exc)
                    return now < held_until
                state["written"] = state["progress"]
                held_until = now + self.lease_s
            return bool(state["still_ours"])

        try:
            result = self.host.render(
                spec,
                request,
                output,
                on_progress=on_progress,
                tick=tick,
                tick_s=_PROGRESS_EVERY_S / 2,
                job_id=job.id,
                attempt=attempt,
            )
        except RenderFailed as exc:
            output.unlink(missing_ok=True)
            if state["stopping"]:
                _settle(self.store.release, job.id, attempt=attempt)
                log.info("job %s attempt %d: released (worker stopping)", job.id, attempt)
            elif exc.code == "cancelled":
                log.info("job %s attempt %d: no longer ours, abandoned", job.id, attempt)
            elif exc.code == NO_SPACE:
                self._wait_for_disk(job.id, attempt, str(exc))
            else:
                _settle(self.store.fail, job.id, attempt=attempt, code=exc.code, message=str(exc))
                log.warning("job %s attempt %d: failed: %s", job.id, attempt, exc)
            return
        except EngineCrashed as exc:
            output.unlink(missing_ok=True)
            _settle(self.store.give_up_attempt, job.id, attempt=attempt, reason=str(exc))
            log.warning("job %s attempt %d: %s; will be retried", job.id, attempt, exc)
            return

        media_key = f"videos/{job.id}/{attempt}.mp4"
        try:
            self.storage.put_file(media_key, output)
        except (StorageError, OSError) as exc:
            output.unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                self._wait_for_disk(job.id, attempt, f"storing the video failed: {exc}")
                return
            # The storage kept failing (after its own retries): let the next claim render it again.
            _settle(self.store.give_up_attempt, job.id, attempt=attempt, reason=f"storing the video failed: {exc}")
            log.warning("job %s attempt %d: storing the video failed: %s; will be retried", job.id, attempt, exc)
            return
        summary = {
            "width": result.width,
            "height": result.height,
            "fps": result.fps,
            "frame_count": result.frame_count,
            "duration_s": result.duration_s,
            **({"extra": result.extra} if result.extra else {}),
        }
        if _settle(self.store.succeed, job.id, attempt=attempt, media_key=media_key, result=summary):
            log.info("job %s attempt %d: succeeded", job.id, attempt)
        else:
            # A newer attempt owns the job now; this video is nobody's.
            self.storage.delete(media_key)
            log.info("job %s attempt %d: finished late, result discarded", job.id, attempt)

    def _wait_for_disk(self, job_id: str, attempt: int, reason: str) -> None:
        """The disk is full: the job goes back to the queue for `disk_retry_s`, not failed and not counted as a
        lost run (`/healthz` reports the disk as degraded meanwhile)."""
        _settle(self.store.release, job_id, attempt=attempt, wait_s=self.disk_retry_s, reason=reason)
        log.warning("job %s attempt %d: %s; back to the queue for %g s", job_id, attempt, reason, self.disk_retry_s)


# What a store call raises while its database cannot be reached (down, restarting, failing over).
DATABASE_ERRORS = (SQLAlchemyError, DatabaseUnavailable)
_SETTLE_TRIES_S = (0.5, 1.0, 2.0, 4.0, 8.0)


def _settle(write: Callable[..., bool], *args: Any, **kwargs: Any) -> bool:
    """A job's outcome written through a short database outage: retried with backoff (about 15 s in all, within
    the lease), so that a finished render is not thrown away for a blip."""
    for delay_s in (*_SETTLE_TRIES_S, None):
        try:
            return write(*args, **kwargs)
        except DATABASE_ERRORS as exc:
            if delay_s is None:
                raise
            log.warning("writing the job's outcome failed (%s); again in %g s", exc, delay_s)
            time.sleep(delay_s)
    raise AssertionError("unreachable")
