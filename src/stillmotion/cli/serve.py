"""`stillmotion serve`: the API, and in-process workers, on one port."""

from __future__ import annotations

import gc
import logging
import signal
from pathlib import Path

import click

from stillmotion import runtime
from stillmotion._version import __version__
from stillmotion.cli._common import _data_dir_option, _settings, console, main, started
from stillmotion.config import Settings
from stillmotion.jobs import JobStore
from stillmotion.logs import configure_logging, flush_repeats


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
    from stillmotion.api.services import Services

    settings = _settings(host=host, port=port, data_dir=data_dir, workers=workers)
    configure_logging(settings)
    # A port another program holds is said before anything is set up or printed (a banner and a new dev key,
    # then "address already in use", read as a server that started).
    _check_port_free(settings.host, settings.port)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    core = started(lambda: runtime.connect(settings))
    app = create_app(settings, services=Services.of(core))
    stop, threads = started(lambda: runtime.start_background(core, workers=settings.workers))
    base = settings.resolved_public_url
    key_file = settings.data_dir / "dev-key"
    key = _dev_key(settings, core.store) if print_dev_key else None
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
        core.store.close()
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
