"""`stillmotion worker`: workers only, no HTTP; the web framework is never imported."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from stillmotion import runtime
from stillmotion.cli._common import _data_dir_option, _settings, console, main, started
from stillmotion.logs import configure_logging


@main.command()
@_data_dir_option
@click.option("--concurrency", type=int, default=1, show_default=True, help="Jobs run at once.")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option(
    "--engine",
    "engines",
    multiple=True,
    help="Take only jobs for this engine (repeatable; default: $STILLMOTION_WORKER_ENGINES, else all), "
    "e.g. `--engine diffusion` on a GPU machine.",
)
@click.option(
    "--model",
    "model_ids",
    multiple=True,
    help="Take only jobs for this model id (repeatable; default: $STILLMOTION_WORKER_MODELS, else all), "
    "e.g. the one model a GPU worker should keep loaded.",
)
def worker(
    data_dir: Path | None, concurrency: int, burst: bool, engines: tuple[str, ...], model_ids: tuple[str, ...]
) -> None:
    """Run workers only (no HTTP) against $STILLMOTION_DATABASE_URL. SIGTERM finishes cleanly."""
    overrides = {
        **({"worker_engines": ",".join(engines)} if engines else {}),
        **({"worker_models": ",".join(model_ids)} if model_ids else {}),
    }
    settings = _settings(data_dir=data_dir, **overrides)
    configure_logging(settings)
    core = started(lambda: runtime.connect(settings))
    if burst:
        taken = started(lambda: runtime.new_worker(core)).run_burst()
        console.print(f"ran {taken} job(s)")
        return
    stop, threads = started(lambda: runtime.start_background(core, workers=concurrency))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=0.5)
    core.store.close()
