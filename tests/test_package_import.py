"""Importing the package loads neither the SDK nor the server: the SDK comes with its first name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_package_and_the_worker_do_not_import_the_sdk() -> None:
    code = (
        "import sys, stillmotion, stillmotion.worker, stillmotion.cli\n"
        "print(sorted(m for m in ('stillmotion.client', 'httpx', 'fastapi') if m in sys.modules))"
    )
    loaded = run(code)
    assert "stillmotion.client" not in loaded, loaded


def test_the_sdk_names_and_the_version_are_still_the_packages() -> None:
    code = "import stillmotion\nfrom stillmotion import Client, AsyncClient, Generation\nprint(stillmotion.__version__)"
    assert run(code) == "0.1.0"
    missing = subprocess.run(
        [sys.executable, "-c", "import stillmotion; stillmotion.NoSuchName"], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode != 0 and "no attribute 'NoSuchName'" in missing.stderr


# The web framework and the server behind it: a worker process loads none of them.
HTTP_SERVER = ("fastapi", "starlette", "uvicorn", "stillmotion.api")


def test_a_worker_process_runs_its_workers_dispatcher_and_cleaner_without_the_web_framework(tmp_path: Path) -> None:
    """What `stillmotion worker` builds and starts (the composition root: store, storage, workers, the webhook
    dispatcher with every dialect's event words, the retention cleaner), started and stopped in a fresh process."""
    code = (
        "import sys\n"
        "from stillmotion import runtime\n"
        "from stillmotion.cli import main\n"
        "from stillmotion.config import Settings\n"
        f"settings = Settings(data_dir={str(tmp_path)!r}, retention_s=3600)\n"
        "core = runtime.connect(settings)\n"
        "stop, threads = runtime.start_background(core, workers=1)\n"
        "assert {t.name for t in threads} >= {'worker-0', 'webhooks'}, threads\n"
        "stop.set()\n"
        "for thread in threads:\n"
        "    thread.join(timeout=30)\n"
        "core.store.close()\n"
        f"print(sorted(m for m in {HTTP_SERVER!r} if m in sys.modules))"
    )
    assert run(code) == "[]"


def test_webhooks_and_the_composition_root_do_not_import_the_api() -> None:
    code = (
        "import sys, stillmotion.webhooks, stillmotion.runtime, stillmotion.core, stillmotion.dialects\n"
        f"print(sorted(m for m in {HTTP_SERVER!r} if m in sys.modules))"
    )
    assert run(code) == "[]"
