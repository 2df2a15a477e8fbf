"""What the container tests share: podman run as these machines allow, image builds on the debootstrap base, and
the seconds each phase took (printed at the end of the run: `make test-container` shows them in CI's log)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from support import make_image

REPO = Path(__file__).resolve().parents[1]
BASE_SCRIPT = REPO / "tests" / "container" / "bookworm_base.sh"
BASE_IMAGE = os.environ.get("STILLMOTION_TEST_BASE_IMAGE", "localhost/stillmotion-base:bookworm")
IMAGE = "localhost/stillmotion:container-test"

TIMINGS: dict[str, float] = {}


def podman(
    env: dict[str, str], *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:2])} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def build(env: dict[str, str], tag: str, context: Path, *, file: str | None = None) -> None:
    """`podman build` of `context` on the debootstrap base, with the machine's CA bundle for pip where PyPI is
    reached through an intercepting proxy (as on these machines)."""
    args = ["build", "--isolation", "chroot", "--network", "host", "--format", "docker",
            "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--tag", tag]
    if file is not None:
        args += ["--file", str(context / file)]
    cert = os.environ.get("PIP_CERT")
    if cert and Path(cert).is_file():
        args += ["--volume", f"{cert}:/tmp/pip-ca.crt:ro", "--build-arg", "PIP_CERT_FILE=/tmp/pip-ca.crt"]
    podman(env, *args, str(context), timeout=1500)


EXAMPLE = REPO / "examples" / "seed_client.py"


def run_seed_client(tmp_path: Path, base: str, key: str) -> Path:
    """The README's client flow (examples/seed_client.py) against `base`; the downloaded video's path."""
    image = tmp_path / "portrait.jpg"
    image.write_bytes(make_image(720, 1072, fmt="JPEG"))
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), str(image), "she smiles and blinks"],
        env={**os.environ, "STILLMOTION_API_KEY": key, "STILLMOTION_BASE_URL": base},
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Status: completed" in result.stdout
    (tmp_path / "client.log").write_text(result.stdout)
    return tmp_path / "output.mp4"


def healthy(base: str) -> bool:
    """Whether `base`'s `/healthz` answers 200 now (False while nothing listens there yet)."""
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
