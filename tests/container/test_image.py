"""The Dockerfile's image, built and run with podman: `serve` in one container completes the hosted API's client
flow, and an API container and a worker container share PostgreSQL and an S3-protocol server.

Run with `make test-container` (`.ci/run` does, after `make test`); `make test` leaves these out. The base image
is made here with debootstrap (`bookworm_base.sh`), as no image registry can be reached from these machines.
PostgreSQL is the machine's own (STILLMOTION_TEST_DATABASE_URL); moto's S3 server on loopback stands in for
S3 (or MinIO, which compose.yaml runs). Containers share the host's network, so every address is loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stillmotion.media.video import probe_video
from storage.moto_s3 import MotoS3
from support import TEST_KEY, _free_port, make_image

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "seed_client.py"
BASE_SCRIPT = Path(__file__).with_name("bookworm_base.sh")
BASE_IMAGE = os.environ.get("STILLMOTION_TEST_BASE_IMAGE", "localhost/stillmotion-base:bookworm")
IMAGE = "localhost/stillmotion:container-test"
SIZE_LIMIT_MB = 900

pytestmark = pytest.mark.container

# Seconds each phase took, printed at the end of the module (`make test-container` shows them).
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def podman_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: `apt-get install podman runc debootstrap` (`.ci/run` does)")
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env:
        # No ulimits or pids limit the machine's own sandbox would refuse to set.
        conf = tmp_path_factory.mktemp("podman") / "containers.conf"
        conf.write_text("[containers]\ndefault_ulimits = []\npids_limit = 0\n")
        env["CONTAINERS_CONF"] = str(conf)
    return env


def _podman(
    env: dict[str, str], *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:2])} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def image(podman_env: dict[str, str]) -> Iterator[str]:
    started = time.monotonic()
    if _podman(podman_env, "image", "exists", BASE_IMAGE, check=False).returncode != 0:
        subprocess.run([str(BASE_SCRIPT), BASE_IMAGE], env=podman_env, check=True, timeout=900)
    TIMINGS["base image (debootstrap, skipped when present)"] = time.monotonic() - started

    started = time.monotonic()
    build = ["build", "--isolation", "chroot", "--network", "host", "--format", "docker",
             "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--tag", IMAGE]
    # A CA bundle for pip where PyPI is reached through an intercepting proxy, as on these machines.
    cert = os.environ.get("PIP_CERT")
    if cert and Path(cert).is_file():
        build += ["--volume", f"{cert}:/tmp/pip-ca.crt:ro", "--build-arg", "PIP_CERT_FILE=/tmp/pip-ca.crt"]
    _podman(podman_env, *build, str(REPO), timeout=1500)
    TIMINGS["image build"] = time.monotonic() - started
    yield IMAGE
    print("\ncontainer test timings:")
    for phase, seconds in TIMINGS.items():
        print(f"  {phase}: {seconds:.0f} s")


class Container:
    """One detached container on the host's network, removed (with its anonymous /data volume) by `remove()`."""

    def __init__(self, env: dict[str, str], image: str, *args: str, options: tuple[str, ...] = ()) -> None:
        self.env = env
        self.name = f"stillmotion-test-{uuid.uuid4().hex[:10]}"
        _podman(env, "run", "--detach", "--runtime", "runc", "--network", "host", "--name", self.name,
                *options, image, *args)

    def state(self) -> dict[str, object]:
        out = _podman(self.env, "inspect", "--format", "{{json .State}}", self.name).stdout
        state: dict[str, object] = json.loads(out)
        return state

    def logs(self) -> str:
        result = _podman(self.env, "logs", self.name, check=False)
        return result.stdout + result.stderr

    def wait_healthy(self, base: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.state().get("Running"):
                raise AssertionError(f"{self.name} exited during start-up:\n{self.logs()[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{base}/healthz did not answer 200 within {timeout_s} s:\n{self.logs()[-3000:]}")

    def stop(self) -> int:
        """SIGTERM, as `docker stop` sends; the exit code."""
        _podman(self.env, "stop", "--time", "30", self.name, timeout=60)
        exit_code = self.state()["ExitCode"]
        assert isinstance(exit_code, int)
        return exit_code

    def remove(self) -> None:
        _podman(self.env, "rm", "--force", "--volumes", self.name, check=False)


def _run_seed_client(tmp_path: Path, base: str, key: str) -> Path:
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


def test_the_image_is_a_non_root_serve_with_a_data_volume_and_a_healthcheck(
    podman_env: dict[str, str], image: str
) -> None:
    inspected = json.loads(_podman(podman_env, "image", "inspect", image).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "stillmotion"
    assert config["Entrypoint"] == ["stillmotion"]
    assert config["Cmd"] == ["serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
    assert "/data" in config["Volumes"]
    assert inspected["Healthcheck"]["Test"][0] == "CMD"
    assert "STILLMOTION_HEALTHCHECK_URL" in inspected["Healthcheck"]["Test"][-1]
    size_mb = inspected["Size"] / 1e6
    print(f"\nimage size: {size_mb:.0f} MB")
    assert size_mb < SIZE_LIMIT_MB
    whoami = _podman(podman_env, "run", "--rm", "--runtime", "runc", "--entrypoint", "id", image).stdout
    assert whoami.startswith("uid=10001(stillmotion)")


def test_serve_in_the_image_completes_the_seed_request(
    podman_env: dict[str, str], image: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = Container(
        podman_env, image, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", "/data",
        options=("--env", f"STILLMOTION_HEALTHCHECK_URL={base}/healthz"),
    )
    try:
        server.wait_healthy(base)
        # The image's own HEALTHCHECK, run once by hand (podman schedules it through systemd, absent here).
        assert _podman(podman_env, "healthcheck", "run", server.name, check=False).returncode == 0
        # A key made as the README says, inside the running container.
        made = _podman(podman_env, "exec", server.name, "stillmotion", "keys", "create", "--name", "ci").stdout
        key = next(word for word in made.split() if word.startswith("sm-"))
        video = _run_seed_client(tmp_path, base, key)
        info = probe_video(video)
        assert (info.width, info.height, info.codec) == (720, 1072, "h264")
        assert info.frame_count > 1
        assert server.stop() == 0, server.logs()[-3000:]
    finally:
        server.remove()
    TIMINGS["serve container: start, key, seed request, stop"] = time.monotonic() - started


def test_an_api_container_and_a_worker_container_share_postgresql_and_s3(
    podman_env: dict[str, str], image: str, postgres_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    moto = MotoS3(tmp_path)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    shared = {
        "STILLMOTION_DATABASE_URL": postgres_url,
        "STILLMOTION_API_KEYS": TEST_KEY,
        "STILLMOTION_SIGNING_SECRET": "container-test-signing-secret-0123456789",
        **moto.env(moto.new_bucket()),
        # As in compose.yaml: links name the bucket server by the address clients use, not the service's.
        "STILLMOTION_S3_PUBLIC_ENDPOINT_URL": moto.endpoint.replace("127.0.0.1", "localhost"),
    }
    env_options = tuple(option for name, value in shared.items() for option in ("--env", f"{name}={value}"))
    api = worker = None
    try:
        api = Container(podman_env, image, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "0",
                        options=env_options)
        api.wait_healthy(base)
        worker = Container(podman_env, image, "worker", "--concurrency", "1",
                           options=(*env_options, "--no-healthcheck"))
        video = _run_seed_client(tmp_path, base, TEST_KEY)
        assert probe_video(video).frame_count > 1
        # The link the client downloaded from named the public address.
        assert f"'url': '{shared['STILLMOTION_S3_PUBLIC_ENDPOINT_URL']}/" in (tmp_path / "client.log").read_text()
        # The API process renders nothing (--workers 0): the worker container did, and stored it in the bucket.
        stored = moto.client().list_objects_v2(Bucket=shared["STILLMOTION_STORAGE_URL"][5:].split("/")[0])
        assert [item["Key"].endswith(".mp4") for item in stored["Contents"]] == [True]
        assert worker.stop() == 0, worker.logs()[-3000:]
        assert api.stop() == 0, api.logs()[-3000:]
    finally:
        for container in (worker, api):
            if container is not None:
                container.remove()
        moto.stop()
    TIMINGS["API and worker containers on PostgreSQL and S3: start, seed request, stop"] = time.monotonic() - started
