"""The `stillmotion` command: serve, worker, generate, keys, models."""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from stillmotion._version import __version__
from stillmotion.config import Settings
from stillmotion.domain import InvalidInput, ModelRegistry, ModelsFileError, ModelSpec
from stillmotion.domain.models import KNOWN_ENGINES, weights_are_local
from stillmotion.domain.options import check_render_options
from stillmotion.jobs import JobStore
from stillmotion.logs import configure_logging, flush_repeats

if TYPE_CHECKING:
    from stillmotion.api.services import Services
    from stillmotion.client.models import MotionPlan
    from stillmotion.worker import Worker

console = Console(stderr=True, soft_wrap=True)


def _settings(**overrides: Any) -> Settings:
    """Environment first, then the options actually given on the command line. A value that breaks a setting's
    rule is one error line naming its variable, not a traceback."""
    from pydantic import ValidationError

    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        given = overrides.get(name) is not None  # on the command line, else from the environment
        shown = f"--{name.replace('_', '-')}" if given else f"STILLMOTION_{name.upper()}"
        # A secret's value is not echoed to the terminal or the log.
        field = Settings.model_fields.get(name)
        secret = field is not None and "SecretStr" in str(field.annotation)
        got = "a secret, not shown" if secret else repr(error.get("input"))
        raise click.ClickException(f"{shown}: {error['msg']} (got {got})") from None


def _data_dir_option(func: Any) -> Any:
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Database, media and secrets (default: $STILLMOTION_DATA_DIR or ./data).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stillmotion")
def main() -> None:
    """stillmotion: one still image and a prompt in, a short video out, behind hosted-API wire formats."""


def _build_services(settings: Settings) -> Services:
    """The shared services, or a one-line error and exit status 1 for a models file that cannot be used.

    A database that cannot be reached yet (PostgreSQL still starting beside the service, a network blip) is
    waited for: tried again with backoff for up to `db_wait_s` seconds, one log line per try, then one error
    line and exit status 1; never a traceback."""
    import sqlalchemy.exc

    from stillmotion.api.app import build_services

    started = time.monotonic()
    delay = _DB_RETRY_FIRST_S
    tries = 0
    while True:
        tries += 1
        try:
            return build_services(settings)
        except ModelsFileError as exc:
            raise click.ClickException(str(exc)) from None
        except sqlalchemy.exc.OperationalError as exc:
            said = str(exc.orig).strip().splitlines()
            reason = f"{type(exc.orig).__name__}: {said[0] if said else ''}"
            waited = time.monotonic() - started
            if waited + delay > settings.db_wait_s:
                raise click.ClickException(
                    f"the database cannot be reached after {tries} tries in {waited:.0f} s ({reason})"
                ) from None
            logging.getLogger("stillmotion").warning(
                "the database cannot be reached (%s); trying again in %.1f s (try %d)", reason, delay, tries
            )
            time.sleep(delay)
            delay = min(delay * 2.0, _DB_RETRY_MAX_S)


# Start-up waits for the database: first retry after this many seconds, doubling up to the second figure.
_DB_RETRY_FIRST_S = 0.5
_DB_RETRY_MAX_S = 15.0


def _registry(settings: Settings) -> ModelRegistry:
    try:
        return ModelRegistry.from_settings(settings)
    except ModelsFileError as exc:
        raise click.ClickException(str(exc)) from None


def _work_filter(settings: Settings, models: ModelRegistry) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """The `engines` and `models_to_run` this process's workers take jobs for (None: all); a name that is not an
    engine, or not one of this server's model ids, stops the command."""
    engines, model_ids = settings.engines_to_run, settings.models_to_run
    unknown = sorted((engines or frozenset()) - set(KNOWN_ENGINES))
    if unknown:
        raise click.UsageError(
            f"unknown engine {', '.join(map(repr, unknown))} in --engine / STILLMOTION_WORKER_ENGINES; "
            f"known: {', '.join(KNOWN_ENGINES)}"
        )
    unknown = sorted((model_ids or frozenset()) - set(models.ids()))
    if unknown:
        raise click.UsageError(
            f"unknown model {', '.join(map(repr, unknown))} in --model / STILLMOTION_WORKER_MODELS; "
            f"known: {', '.join(models.ids())}"
        )
    return engines, model_ids


def _new_worker(settings: Settings, services: Services) -> Worker:
    """A worker as the settings describe it: lease, poll interval, and the engines and models it takes."""
    from stillmotion.worker import Worker

    engines, model_ids = _work_filter(settings, services.models)
    return Worker(
        services.store,
        services.storage,
        work_dir=settings.work_dir,
        lease_s=settings.lease_s,
        poll_interval_s=settings.poll_interval_s,
        models=services.models,
        engines=engines,
        models_to_run=model_ids,
        stall_s=settings.render_stall_s,
        disk_retry_s=settings.disk_retry_s,
    )


def _start_workers(
    settings: Settings, services: Services, count: int
) -> tuple[threading.Event, list[threading.Thread]]:
    stop = threading.Event()
    threads = []
    for index in range(count):
        worker = _new_worker(settings, services)
        thread = threading.Thread(target=worker.run, args=(stop,), name=f"worker-{index}", daemon=True)
        thread.start()
        threads.append(thread)
    return stop, threads


def _start_dispatcher(settings: Settings, services: Services, stop: threading.Event) -> threading.Thread:
    """Webhook deliveries run on their own thread, so a slow receiver never holds up a worker."""
    from stillmotion.api.app import build_dispatcher

    dispatcher = build_dispatcher(settings, services)
    thread = threading.Thread(target=dispatcher.run, args=(stop,), name="webhooks", daemon=True)
    thread.start()
    return thread


def _start_cleaner(settings: Settings, services: Services, stop: threading.Event) -> threading.Thread | None:
    """Retention cleanup on its own thread, every `cleanup_interval_s`; None when retention is off."""
    from stillmotion.worker.retention import start_cleaner

    return start_cleaner(
        services.store,
        services.storage,
        retention_s=settings.retention_s,
        interval_s=settings.cleanup_interval_s,
        stop=stop,
    )


def _dev_key(settings: Settings, store: JobStore) -> str:
    """A key for trying the service locally: the one kept in `<data-dir>/dev-key`, made on first use."""
    path = settings.data_dir / "dev-key"
    if path.is_file():
        key: str = path.read_text().strip()
        if store.tenant_for_stored_key(key) is not None:
            return key
    key, _record = store.create_key("dev (made by serve --print-dev-key)")
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def freeze_startup_objects() -> None:
    """Move what start-up built (modules, the app, its routes and models), all of which lives as long as the
    process, out of the garbage collector's sight. A full collection of an API process then takes well under a
    millisecond instead of about 40 ms (measured here), a pause every request in flight would otherwise wait out
    every few seconds under load."""
    gc.collect()
    gc.freeze()


@main.command()
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@_data_dir_option
@click.option("--workers", type=int, default=None, help="In-process workers (default 1; 0 for API only).")
@click.option("--print-dev-key", is_flag=True, help="Create (once) and print a key for local use.")
def serve(host: str | None, port: int | None, data_dir: Path | None, workers: int | None, print_dev_key: bool) -> None:
    """Run the API and N workers: SQLite and videos under --data-dir, nothing else to start."""
    import uvicorn

    from stillmotion.api.app import create_app
    from stillmotion.api.connections import (
        connection_cap,
        guarded_h11_protocol,
        listen_backlog,
        raise_open_file_limit,
    )

    settings = _settings(host=host, port=port, data_dir=data_dir, workers=workers)
    configure_logging(settings)
    # A port another program holds is said before anything is set up or printed (a banner and a new dev key,
    # then "address already in use", read as a server that started).
    _check_port_free(settings.host, settings.port)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    services = _build_services(settings)
    app = create_app(settings, services=services)
    stop, threads = _start_workers(settings, services, settings.workers)
    threads.append(_start_dispatcher(settings, services, stop))
    if (cleaner := _start_cleaner(settings, services, stop)) is not None:
        threads.append(cleaner)
    base = settings.resolved_public_url
    key_file = settings.data_dir / "dev-key"
    key = _dev_key(settings, services.store) if print_dev_key else None
    if settings.log_format == "json":
        # One log record like every other line; the key itself stays out of the logs (it is in its file).
        logging.getLogger("stillmotion").info(
            "stillmotion %s on %s (data: %s)",
            __version__,
            base,
            settings.data_dir.resolve(),
            extra={
                "url": base,
                "web_page": f"{base}/",
                "docs": f"{base}/docs",
                **({"dev_key_file": str(key_file)} if key else {}),
            },
        )
    else:
        console.print(f"[bold]stillmotion {__version__}[/] on {base}  (data: {settings.data_dir.resolve()})")
        console.print(f"  web page: {base}/   docs: {base}/docs")
        console.print(f"  seed API: {base}/v2/generate/video/minimax/generation")
        if key is not None:
            console.print(f"  dev key:  [bold green]{key}[/]   (kept in {key_file})")
    open_files = raise_open_file_limit()
    protocol, _cap = guarded_h11_protocol(
        client_timeout_s=settings.client_timeout_s,
        max_connections=connection_cap(settings.max_connections, open_file_limit=open_files),
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="info",
            access_log=False,
            log_config=None,
            http=protocol,  # uvicorn's h11 protocol with client timeouts and a connection cap (api/connections.py)
            timeout_keep_alive=settings.keep_alive_s,
            backlog=listen_backlog(open_file_limit=open_files),
        )
    )
    # uvicorn handles SIGINT/SIGTERM itself, then re-raises the signal once it has stopped; these no-op handlers
    # catch that re-raise so that the workers below release their jobs and the process exits 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    freeze_startup_objects()
    try:
        server.run()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        services.store.close()
        flush_repeats()


def _check_port_free(host: str, port: int) -> None:
    """A `ClickException` (exit 1) when `host:port` cannot be bound: in use, or not an address of this machine.
    Bound as the server will bind it (address reuse on, so a port in TIME_WAIT is free), then let go."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"port {port} on {host} is in use by another program: stop it, or pass --port (or set "
                    "STILLMOTION_PORT)"
                ) from None
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None


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
    services = _build_services(settings)
    if burst:
        taken = _new_worker(settings, services).run_burst()
        console.print(f"ran {taken} job(s)")
        return
    stop, threads = _start_workers(settings, services, concurrency)
    threads.append(_start_dispatcher(settings, services, stop))
    if (cleaner := _start_cleaner(settings, services, stop)) is not None:
        threads.append(cleaner)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=0.5)
    services.store.close()


_IMAGE_URI = ("http://", "https://", "data:")


def _image_argument(image: str, *, remote: bool) -> str | Path:
    """IMAGE as the chosen mode takes it: a file (both modes) or, for --server, an http(s) URL / data: URI
    that the server reads itself."""
    if remote and image.strip().lower().startswith(_IMAGE_URI):
        return image.strip()
    path = Path(image)
    if not path.is_file():
        also = " or an http(s) URL" if remote else ""
        raise click.BadParameter(f"{image!r} is not a file{also}", param_hint="IMAGE")
    return path


@main.command()
@click.argument("image")
@click.option("--prompt", "-p", required=True, help="What should happen in the video.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The mp4 to write."
)
@click.option("--model", default="video-01-live2d", show_default=True, help="Model id.")
@click.option("--seed", type=int, default=None, help="Same seed and image give the same video.")
@click.option("--no-prompt-optimizer", is_flag=True, help="Take the prompt literally.")
@click.option("--duration", "duration_s", type=float, default=None, help="Seconds of video (default 6).")
@click.option("--fps", type=int, default=None, help="Frames per second (default 25).")
@click.option("--loop", is_flag=True, default=None, help="End on the first frame, for seamless looping.")
@click.option(
    "--server",
    metavar="URL",
    envvar="STILLMOTION_BASE_URL",
    default=None,
    help="Render on this server (stillmotion or the hosted AI/ML API) instead of locally "
    "(default: $STILLMOTION_BASE_URL).",
)
@click.option(
    "--api-key", envvar="STILLMOTION_API_KEY", default=None, help="Key for --server (default: $STILLMOTION_API_KEY)."
)
def generate(
    image: str,
    prompt: str,
    output: Path,
    model: str,
    seed: int | None,
    no_prompt_optimizer: bool,
    duration_s: float | None,
    fps: int | None,
    loop: bool | None,
    server: str | None,
    api_key: str | None,
) -> None:
    """Render IMAGE into a video: locally with the server's engine (no server needed), or with --server URL
    on a running server through the Python SDK."""
    # The bounds a server enforces, here too: a local render of what a server would refuse is refused the same.
    try:
        check_render_options(prompt=prompt, duration_s=duration_s, fps=fps, seed=seed, names=_OPTION_NAMES)
    except InvalidInput as exc:
        raise click.BadParameter(exc.rule, param_hint=f"'{exc.field}'") from None
    if server is not None:
        if not api_key:
            from stillmotion.client._core import key_from_env

            api_key = key_from_env()  # the key's earlier name, $STILLMOTION_KEY, with a warning
        if not api_key:
            raise click.UsageError("--server needs an API key: pass --api-key or set STILLMOTION_API_KEY")
        _generate_remote(
            _image_argument(image, remote=True),
            prompt,
            output,
            server=server,
            api_key=api_key,
            model=model,
            prompt_optimizer=not no_prompt_optimizer,
            seed=seed,
            duration_s=duration_s,
            fps=fps,
            loop=loop,
        )
        return
    _generate_local(
        _image_argument(image, remote=False),
        prompt,
        output,
        model=model,
        prompt_optimizer=not no_prompt_optimizer,
        seed=seed,
        duration_s=duration_s,
        fps=fps,
        loop=bool(loop),
    )


# The command line's name for each render option `check_render_options` names.
_OPTION_NAMES: Final = {"prompt": "--prompt", "duration": "--duration", "fps": "--fps", "seed": "--seed"}


def _generate_local(
    image: str | Path,
    prompt: str,
    output: Path,
    *,
    model: str,
    prompt_optimizer: bool,
    seed: int | None,
    duration_s: float | None,
    fps: int | None,
    loop: bool,
) -> None:
    from stillmotion.domain.options import DEFAULT_DURATION_S, DEFAULT_FPS
    from stillmotion.engines import EngineError, RenderRequest, load_engine
    from stillmotion.media.intake import check_image

    try:
        spec = _registry(_settings()).spec(model, field="--model")
        frame = check_image(Path(image).read_bytes())
    except InvalidInput as exc:
        raise click.BadParameter(exc.rule, param_hint=exc.field if exc.field.startswith("--") else "IMAGE") from None
    try:
        engine = load_engine(spec)
    except EngineError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None
    except ImportError as exc:
        raise click.ClickException(
            f"the {spec.engine} engine cannot be loaded ({exc}); is its extra installed? "
            "from the clone: .venv/bin/pip install -e '.[diffusion]'"
        ) from None
    request = RenderRequest(
        image=frame.data,
        prompt=prompt,
        prompt_optimizer=prompt_optimizer,
        seed=seed,
        duration_s=DEFAULT_DURATION_S if duration_s is None else duration_s,
        fps=DEFAULT_FPS if fps is None else fps,
        loop=loop,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("[bold]rendering"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("render", total=1.0)
        try:
            result = engine.render(request, output, on_progress=lambda f: bar.update(task, completed=f))
        except EngineError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
    console.print(f"wrote {output} ({result.width}x{result.height}, {result.frame_count} frames at {result.fps} fps)")
    from stillmotion.client.models import motion_plan_from_dict

    _print_plan(motion_plan_from_dict(result.extra.get("motion_plan")))


def _print_plan(plan: MotionPlan | None) -> None:
    """What the engine drew and what it did not, under the result: a prompt's words never vanish unseen."""
    if plan is None:
        return
    drawn = ", ".join(plan.drawn) if plan.drawn else "nothing (a still clip)"
    console.print(f"drew: {drawn}", highlight=False)
    for note in plan.notes:
        console.print(f"[yellow]not drawn:[/] {note}", highlight=False)


def _generate_remote(
    image: str | Path,
    prompt: str,
    output: Path,
    *,
    server: str,
    api_key: str,
    model: str,
    prompt_optimizer: bool,
    seed: int | None,
    duration_s: float | None,
    fps: int | None,
    loop: bool | None,
) -> None:
    """create -> wait (a progress bar: the server's percent when it reports one, its status otherwise) ->
    download. Any failure is one line on stderr and exit status 1."""
    from stillmotion.client import Client, ClientError, Generation

    generation_id: str | None = None
    try:
        with (
            Client(server, api_key) as client,
            Progress(
                TextColumn("[bold]{task.description:<10}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,  # on failure, the one error line is all that stays on screen
                disable=not console.is_terminal,
            ) as bar,
        ):
            task = bar.add_task("uploading", total=None)
            created = client.create(
                image,
                prompt,
                model=model,
                prompt_optimizer=prompt_optimizer,
                duration_s=duration_s,
                fps=fps,
                seed=seed,
                loop=loop,
                # A fresh key per run: a create whose answer was lost in transit is retried without a duplicate.
                idempotency_key=f"stillmotion-cli-{uuid.uuid4()}",
            )
            generation_id = created.id

            statuses_logged: list[str] = []

            def show(generation: Generation) -> None:
                if not console.is_terminal and statuses_logged[-1:] != [generation.status]:
                    statuses_logged.append(generation.status)  # no bar in a log: one line per status instead
                    console.print(f"{generation.id}: {generation.status}", highlight=False)
                if generation.progress is None:  # a server without the extension: the status is all there is
                    bar.update(task, description=generation.status, total=None)
                else:
                    bar.update(task, description=generation.status, total=100, completed=generation.progress)

            show(created)
            done = client.wait(created, on_progress=show, poll_interval_s=1.0)
            bar.update(task, description="downloading", total=None)
            client.download(done, output)
            bar.update(task, description="done", total=100, completed=100)
    except KeyboardInterrupt:
        if generation_id is not None:
            _cancel_quietly(server, api_key, generation_id)
        console.print("[red]interrupted[/]")
        sys.exit(130)
    except (ClientError, OSError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    console.print(f"wrote {output} (generation {done.id} on {client.base_url})", highlight=False)
    _print_plan(done.plan)


def _cancel_quietly(server: str, api_key: str, generation_id: str) -> None:
    from stillmotion.client import Client, ClientError

    try:
        with Client(server, api_key, timeout_s=5.0, max_retries=0) as client:
            client.cancel(generation_id)
        console.print(f"cancelled generation {generation_id}")
    except ClientError as exc:
        console.print(f"generation {generation_id} may still be running ({exc})", highlight=False)


@main.group()
def keys() -> None:
    """Create, list and revoke API keys (stored hashed in the database)."""


def _store(data_dir: Path | None) -> JobStore:
    settings = _settings(data_dir=data_dir)
    store = JobStore(
        settings.resolved_database_url, max_attempts=settings.max_attempts, timeout_s=settings.db_timeout_s
    )
    store.create_schema()
    return store


@keys.command("create")
@click.option("--name", default="default", show_default=True, help="A label to recognise the key by.")
@_data_dir_option
def keys_create(name: str, data_dir: Path | None) -> None:
    """Create a key and print it (it is shown only this once)."""
    key, record = _store(data_dir).create_key(name)
    console.print(f"created {record.id} ({record.name}); the key, shown only now:")
    click.echo(key)


@keys.command("list")
@_data_dir_option
def keys_list(data_dir: Path | None) -> None:
    """List keys (their ids, names and first characters; never the keys)."""
    table = Table("id", "name", "starts with", "status")
    for record in _store(data_dir).list_keys():
        table.add_row(record.id, record.name, record.prefix + "...", "active" if record.active else "revoked")
    Console().print(table)


@keys.command("revoke")
@click.argument("key_id")
@_data_dir_option
def keys_revoke(key_id: str, data_dir: Path | None) -> None:
    """Revoke the key with id KEY_ID; requests with it get 401 within a few seconds."""
    if not _store(data_dir).revoke_key(key_id):
        console.print(f"[red]no active key with id {key_id!r}[/]")
        sys.exit(1)
    console.print(f"revoked {key_id}")


@main.group()
def models() -> None:
    """List the model ids this server serves, and download a models file's Hub weights."""


_TRUE_WORDS = ("1", "on", "yes", "true")


def _hub_offline() -> bool:
    """`HF_HUB_OFFLINE` as huggingface_hub reads it."""
    import os

    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE_WORDS


def _weights_status(spec: ModelSpec) -> str:
    """Whether `spec`'s weights are on this machine: a local directory that exists, or a complete snapshot in
    the Hugging Face cache."""
    if spec.weights is None:
        return "built in"
    if weights_are_local(spec):
        return "present (local directory)" if Path(spec.weights).is_dir() else "missing (no such directory)"
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return "unknown (huggingface_hub is not installed)"
    try:
        snapshot_download(spec.weights, revision=spec.revision, local_files_only=True)
    except LocalEntryNotFoundError:
        return "missing (run `stillmotion models pull`)"
    return "present (Hugging Face cache)"


@models.command("list")
@_data_dir_option
def models_list(data_dir: Path | None) -> None:
    """List model ids: built in, then the models file's, with their engine and weights."""
    settings = _settings(data_dir=data_dir)
    registry = _registry(settings)
    table = Table("id", "engine", "weights", "status", title=f"models file: {registry.source or 'none'}")
    for spec in registry.specs():
        weights = spec.weights or "-"
        if spec.revision is not None:
            weights += f" @ {spec.revision}"
        table.add_row(spec.id, spec.engine, weights, _weights_status(spec))
    Console(width=200).print(table)


@models.command("pull")
@click.argument("model_id")
@_data_dir_option
def models_pull(model_id: str, data_dir: Path | None) -> None:
    """Download MODEL_ID's weights from the Hugging Face Hub into its cache (needs the machine online)."""
    settings = _settings(data_dir=data_dir)
    try:
        spec = _registry(settings).spec(model_id, field="MODEL_ID")
    except InvalidInput as exc:
        raise click.BadParameter(exc.rule, param_hint="MODEL_ID") from None
    if spec.weights is None:
        console.print(f"{spec.id}: nothing to pull; the {spec.engine} engine is built in")
        return
    if weights_are_local(spec):
        console.print(f"{spec.id}: nothing to pull; its weights are the local directory {spec.weights}")
        return
    if _hub_offline():
        raise click.ClickException(f"cannot pull {spec.weights}: HF_HUB_OFFLINE is set; unset it to download")
    try:
        from huggingface_hub import constants, snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError:
        raise click.ClickException(
            "pulling weights needs huggingface_hub: from the clone, .venv/bin/pip install -e '.[diffusion]'"
        ) from None
    console.print(f"{spec.id}: downloading {spec.weights}" + (f" @ {spec.revision}" if spec.revision else ""))
    try:
        folder = snapshot_download(spec.weights, revision=spec.revision)
    except LocalEntryNotFoundError as exc:  # the Hub did not answer, and the cache has no copy
        cause = exc.__cause__ or exc
        raise click.ClickException(
            f"cannot pull {spec.weights}: the Hub at {constants.ENDPOINT} cannot be reached "
            f"({type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''})"
        ) from None
    except (HfHubHTTPError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise click.ClickException(f"cannot pull {spec.weights}: {first_line}") from None
    console.print(f"{spec.id}: weights in {folder}", highlight=False)
