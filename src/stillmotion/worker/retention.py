"""Retention: finished jobs older than `retention_s` become `expired` and lose their video.

The order is what keeps links honest. A job is marked `expired` first (one guarded UPDATE), and only then is
its video deleted, so a status poll that reads the job sees either `succeeded` with a link to a video that
still exists, or `expired` with no link. Links themselves never outlive the deadline (`Services.video_url`
caps their lifetime at it), so no link handed out before expiry still works after the video is gone.

Any number of cleaners may run at once (one per `serve` and `worker` process): the UPDATE lets exactly one of
them expire a job, deleting a video twice is harmless, and the record that the video is gone is guarded too.
A cleaner that dies between the two steps leaves an expired job with its `media_key` still set; the next pass
of any cleaner finds it and deletes the video.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from stillmotion.domain import JobNotFound, JobStatus
from stillmotion.jobs import JobStore
from stillmotion.storage import Storage, StorageError

log = logging.getLogger("stillmotion.retention")

_BATCH = 100
# A render's file in the work directory: `<job id>-<attempt>.mp4`, or the encoder's temporary
# `.<job id>-<attempt>.mp4.<hex>.part` (the worker's and the video writer's names).
_WORK_FILE = re.compile(r"^\.?(?P<job>[^.]+)-(?P<attempt>\d+)\.mp4(?:\.[0-9a-f]+\.part)?$")


@dataclass(frozen=True)
class CleanupReport:
    expired: int  # jobs this pass marked expired
    media_deleted: int  # videos this pass deleted (of jobs it or another cleaner expired)
    media_failed: int  # deletions that failed; retried by the next pass


def cleanup_once(store: JobStore, storage: Storage, *, retention_s: float, now: float | None = None) -> CleanupReport:
    """One pass: expire every job finished more than `retention_s` ago, then delete the videos of expired jobs."""
    if retention_s <= 0:
        raise ValueError("retention_s must be positive (0 means keep forever: run no cleaner)")
    cutoff = (time.time() if now is None else now) - retention_s
    expired = 0
    while True:
        batch = store.expirable(finished_before=cutoff, limit=_BATCH)
        for job in batch:
            # The guard fails only if the job is no longer in that status, i.e. another cleaner expired it,
            # so each pass shrinks what the query returns and the loop ends.
            if store.expire(job.id, from_status=job.status):
                expired += 1
        if len(batch) < _BATCH:
            break

    deleted = failed = 0
    seen: set[str] = set()
    while True:
        batch = [job for job in store.expired_with_media(limit=_BATCH) if job.id not in seen]
        for job in batch:
            seen.add(job.id)
            assert job.media_key is not None
            try:
                storage.delete(job.media_key)
            except (StorageError, OSError) as exc:
                failed += 1
                log.warning("job %s: deleting its video %s failed: %s; will retry", job.id, job.media_key, exc)
                continue
            if store.forget_media(job.id, media_key=job.media_key):
                deleted += 1
        if not batch:
            break
    if expired or deleted or failed:
        log.info("retention: %d job(s) expired, %d video(s) deleted, %d deletion(s) failed", expired, deleted, failed)
    return CleanupReport(expired=expired, media_deleted=deleted, media_failed=failed)


def run_cleaner(
    store: JobStore, storage: Storage, *, retention_s: float, interval_s: float, stop: threading.Event
) -> None:
    """Run `cleanup_once` now and every `interval_s` seconds until `stop` is set; errors are logged, not fatal."""
    while not stop.is_set():
        try:
            cleanup_once(store, storage, retention_s=retention_s)
        except Exception:
            log.exception("retention cleanup failed; trying again in %.0f s", interval_s)
        stop.wait(interval_s)


def start_cleaner(
    store: JobStore, storage: Storage, *, retention_s: float, interval_s: float, stop: threading.Event
) -> threading.Thread | None:
    """A daemon thread running `run_cleaner`, or None when retention is off (`retention_s` 0)."""
    if retention_s <= 0:
        return None
    thread = threading.Thread(
        target=run_cleaner,
        args=(store, storage),
        kwargs={"retention_s": retention_s, "interval_s": interval_s, "stop": stop},
        name="retention",
        daemon=True,
    )
    thread.start()
    return thread


def sweep_work_files(store: JobStore, work_dir: Path) -> int:
    """Delete the render files in `work_dir` of attempts that are no longer running (a worker that died mid-render
    leaves its file behind, and a later attempt writes another); returns how many. A file of an attempt that is
    running now (its job `running` with that attempt number) is kept, whoever renders it: workers of several
    processes may share the directory."""
    removed = 0
    for path in work_dir.iterdir() if work_dir.is_dir() else ():
        match = _WORK_FILE.match(path.name)
        if match is None or not path.is_file():
            continue
        try:
            job = store.get(match["job"])
            live = job.status is JobStatus.RUNNING and job.attempt == int(match["attempt"])
        except JobNotFound:
            live = False
        if not live:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("removed %d render file(s) of attempts no longer running from %s", removed, work_dir)
    return removed
