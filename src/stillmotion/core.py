"""What every process of the service shares, HTTP or not: settings, the job store, where videos live and the
links to them, the guarded URL fetcher, and the model ids. No web framework is imported here: worker processes
build a `Core` and nothing more; the API's `Services` extends it with the create pipeline.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

from stillmotion.config import Settings
from stillmotion.domain import Job, JobStatus, ModelRegistry
from stillmotion.jobs import JobStore
from stillmotion.media.fetch import UrlFetcher
from stillmotion.storage import LinkSigner, Storage, load_or_create_secret, open_storage


@dataclass
class Core:
    settings: Settings
    store: JobStore
    storage: Storage
    signer: LinkSigner  # checks `/media` links; the storage itself makes them
    fetcher: UrlFetcher
    # The model ids jobs may name: built in plus the models file's (pure data; no engine is imported).
    models: ModelRegistry = field(default_factory=ModelRegistry)

    def as_seen(self, job: Job, *, now: float | None = None) -> Job:
        """The job as clients see it: past its retention deadline a succeeded job reads as expired (without its
        video) at once, not only after the next cleanup pass has marked it so."""
        retention_s = self.settings.retention_s
        if job.status is not JobStatus.SUCCEEDED or retention_s <= 0 or job.finished_at is None:
            return job
        if job.finished_at.timestamp() + retention_s > (time.time() if now is None else now):
            return job
        return replace(job, status=JobStatus.EXPIRED, media_key=None)

    def video_url(self, job: Job, *, now: float | None = None) -> str | None:
        """A download link for a succeeded job's video. With retention on, the link dies no later than the job
        does (its retention deadline), so a link never outlives its video; None once that deadline has come."""
        if job.media_key is None or job.status is not JobStatus.SUCCEEDED:
            return None
        retention_s = self.settings.retention_s
        if retention_s <= 0 or job.finished_at is None:
            return self.storage.url(job.media_key, ttl_s=self.settings.link_ttl_s)
        deadline = job.finished_at.timestamp() + retention_s
        left_s = math.floor(deadline - (time.time() if now is None else now))
        if left_s < 1:
            return None  # the next cleanup pass expires it
        return self.storage.url(job.media_key, ttl_s=min(self.settings.link_ttl_s, left_s), not_after=deadline)


def open_store(settings: Settings) -> JobStore:
    """The job store these settings name, migrated to the newest schema."""
    store = JobStore(
        settings.resolved_database_url, max_attempts=settings.max_attempts, timeout_s=settings.db_timeout_s
    )
    store.create_schema()
    return store


def build_core(settings: Settings, *, store: JobStore | None = None) -> Core:
    """The shared parts for these settings. A bad models file raises `ModelsFileError` before anything is opened;
    a database that cannot be reached raises SQLAlchemy's `OperationalError`."""
    models = ModelRegistry.from_settings(settings)
    if store is None:
        store = open_store(settings)
    secret = (
        settings.signing_secret.get_secret_value().encode()
        if settings.signing_secret
        else load_or_create_secret(settings.data_dir / "signing.key")
    )
    signer = LinkSigner(secret, base_url=settings.resolved_public_url)
    return Core(
        settings=settings,
        store=store,
        storage=open_storage(settings, signer),
        signer=signer,
        fetcher=UrlFetcher(allow_private=settings.allow_private_urls, timeout_s=settings.fetch_timeout_s),
        models=models,
    )
