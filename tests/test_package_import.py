"""Importing the package loads neither the SDK nor the server: the SDK comes with its first name."""

from __future__ import annotations

import subprocess
import sys


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
