"""The composition root: what `stillmotion serve` and `stillmotion worker` run besides HTTP, built from the
settings in one place. `connect` opens the shared parts (`core.Core`), waiting for a database that is still
starting; `start_background` starts the workers, the webhook dispatcher and the retention cleaner on threads.

Nothing here imports the web framework: a worker process builds and runs all of it without FastAPI. Webhook
bodies are each dialect's own words, from its wire module (`dialects`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from stillmotion.config import Settings
from stillmotion.core import Core, build_core
from stillmotion.domain import ModelRegistry, ModelsFileError
from stillmotion.domain.models import KNOWN_ENGINES

if TYPE_CHECKING:
    from stillmotion.webhooks import WebhookDispatcher
    from stillmotion.worker import Worker

log = logging.getLogger("stillmotion")

# Start-up waits for the database: first retry after this many seconds, doubling up to the second figure.
DB_RETRY_FIRST_S = 0.5
DB_RETRY_MAX_S = 15.0


class StartupError(Exception):
    """Why the process cannot start, in one line for the operator (the command line exits 1 with it)."""


class SettingsMisuse(StartupError):
    """A name in the settings or options that this server does not know (the command line exits 2)."""


def connect(settings: Settings) -> Core:
    """The shared parts, or `StartupError` for a models file that cannot be used.

    A database that cannot be reached yet (PostgreSQL still starting beside the service, a network blip) is
    waited for: tried again with backoff for up to `db_wait_s` seconds, one log line per try, then
    `StartupError`; never a traceback."""
    import sqlalchemy.exc

    started = time.monotonic()
    delay = DB_RETRY_FIRST_S
    tries = 0
    while True:
        tries += 1
        try:
            return build_core(settings)
        except ModelsFileError as exc:
            raise StartupError(str(exc)) from None
        except sqlalchemy.exc.OperationalError as exc:
            said = str(exc.orig).strip().splitlines()
            reason = f"{type(exc.orig).__name__}: {said[0] if said else ''}"
            waited = time.monotonic() - started
            if waited + delay > settings.db_wait_s:
                raise StartupError(
                    f"the database cannot be reached after {tries} tries in {waited:.0f} s ({reason})"
                ) from None
            log.warning("the database cannot be reached (%s); trying again in %.1f s (try %d)", reason, delay, tries)
            time.sleep(delay)
            delay = min(delay * 2.0, DB_RETRY_MAX_S)


def registry(settings: Settings) -> ModelRegistry:
    """The model ids these settings declare, or `StartupError` naming what is wrong in the models file."""
    try:
        return ModelRegistry.from_settings(settings)
    except ModelsFileError as exc:
        raise StartupError(str(exc)) from None


def work_filter(settings: Settings, models: ModelRegistry) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """The `engines` and `models_to_run` this process's workers take jobs for (None: all); a name that is not an
    engine, or not one of this server's model ids, is `SettingsMisuse`."""
    engines, model_ids = settings.engines_to_run, settings.models_to_run
    unknown = sorted((engines or frozenset()) - set(KNOWN_ENGINES))
    if unknown:
        raise SettingsMisuse(
            f"unknown engine {', '.join(map(repr, unknown))} in --engine / STILLMOTION_WORKER_ENGINES; "
            f"known: {', '.join(KNOWN_ENGINES)}"
        )
    unknown = sorted((model_ids or frozenset()) - set(models.ids()))
    if unknown:
        raise SettingsMisuse(
            f"unknown model {', '.join(map(repr, unknown))} in --model / STILLMOTION_WORKER_MODELS; "
            f"known: {', '.join(models.ids())}"
        )
    return engines, model_ids


def new_worker(core: Core) -> Worker:
    """A worker as the settings describe it: lease, poll interval, and the engines and models it takes."""
    from stillmotion.worker import Worker

    settings = core.settings
    engines, model_ids = work_filter(settings, core.models)
    return Worker(
        core.store,
        core.storage,
        work_dir=settings.work_dir,
        lease_s=settings.lease_s,
        poll_interval_s=settings.poll_interval_s,
        models=core.models,
        engines=engines,
        models_to_run=model_ids,
        stall_s=settings.render_stall_s,
        disk_retry_s=settings.disk_retry_s,
    )


def build_dispatcher(core: Core) -> WebhookDispatcher:
    """The webhook dispatcher: every dialect words the events of the jobs it created."""
    from stillmotion.dialects import EVENT_RENDERERS
    from stillmotion.webhooks import WebhookDispatcher, key_from_secret, load_or_create_webhook_key

    settings = core.settings
    secret = (
        key_from_secret(settings.webhook_secret.get_secret_value())
        if settings.webhook_secret
        else load_or_create_webhook_key(settings.data_dir / "webhook.key")
    )
    return WebhookDispatcher(core, EVENT_RENDERERS, secret=secret, max_attempts=settings.webhook_max_attempts)


def start_background(core: Core, *, workers: int) -> tuple[threading.Event, list[threading.Thread]]:
    """`workers` worker threads, the webhook dispatcher (deliveries on their own thread, so a slow receiver never
    holds up a worker) and, when retention is on, the cleaner; all stop when the returned event is set."""
    from stillmotion.worker.retention import start_cleaner

    stop = threading.Event()
    threads = []
    for index in range(workers):
        worker = new_worker(core)
        threads.append(threading.Thread(target=worker.run, args=(stop,), name=f"worker-{index}", daemon=True))
    dispatcher = build_dispatcher(core)
    threads.append(threading.Thread(target=dispatcher.run, args=(stop,), name="webhooks", daemon=True))
    for thread in threads:
        thread.start()
    settings = core.settings
    cleaner = start_cleaner(
        core.store, core.storage, retention_s=settings.retention_s, interval_s=settings.cleanup_interval_s, stop=stop
    )
    if cleaner is not None:
        threads.append(cleaner)
    return stop, threads
