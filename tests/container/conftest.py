"""The container tests' fixtures: podman set up for these machines, and the image built once per run."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from support_container import BASE_IMAGE, BASE_SCRIPT, IMAGE, REPO, TIMINGS, build, podman


@pytest.fixture(scope="session")
def podman_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: `apt-get install podman runc debootstrap` (`.ci/run` does)")
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env:
        # No ulimits or pids limit the machine's own sandbox would refuse to set, and runc (crun fails here).
        conf = tmp_path_factory.mktemp("podman") / "containers.conf"
        conf.write_text('[containers]\ndefault_ulimits = []\npids_limit = 0\n[engine]\nruntime = "runc"\n')
        env["CONTAINERS_CONF"] = str(conf)
    yield env
    print("\ncontainer test timings:")
    for phase, seconds in TIMINGS.items():
        print(f"  {phase}: {seconds:.0f} s")


@pytest.fixture(scope="session")
def image(podman_env: dict[str, str]) -> str:
    started = time.monotonic()
    if podman(podman_env, "image", "exists", BASE_IMAGE, check=False).returncode != 0:
        subprocess.run([str(BASE_SCRIPT), BASE_IMAGE], env=podman_env, check=True, timeout=900)
    TIMINGS["base image (debootstrap, skipped when present)"] = time.monotonic() - started
    started = time.monotonic()
    build(podman_env, IMAGE, REPO)
    TIMINGS["image build"] = time.monotonic() - started
    return IMAGE
