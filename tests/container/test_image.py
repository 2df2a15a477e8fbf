"""The Dockerfile's image, built and run with podman: `serve` in one container completes the hosted API's client
flow, and an API container and a worker container share PostgreSQL and an S3-protocol server.

Run with `make test-container` (`.ci/run` does, after `make test`); `make test` leaves these out. The base image
is made here with debootstrap (`bookworm_base.sh`), as no image registry can be reached from these machines.
PostgreSQL is the machine's own (STILLMOTION_TEST_DATABASE_URL); moto's S3 server on loopback stands in for
S3 (or MinIO, which compose.yaml runs). Containers share the host's network, so every address is loopback.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from stillmotion.media.video import probe_video
from storage.moto_s3 import MotoS3
from support import TEST_KEY, _free_port
from support_container import TIMINGS, healthy, podman, run_seed_client

SIZE_LIMIT_MB = 900

pytestmark = pytest.mark.container


class Container:
    """One detached container, on the host's network unless `options` say otherwise, removed (with its anonymous
    /data volume) by `remove()`."""

    def __init__(self, env: dict[str, str], image: str, *args: str, options: tuple[str, ...] = ()) -> None:
        self.env = env
        self.name = f"stillmotion-test-{uuid.uuid4().hex[:10]}"
        network = () if any(option.startswith("--network") for option in options) else ("--network", "host")
        podman(env, "run", "--detach", "--runtime", "runc", *network, "--name", self.name, *options, image, *args)

    def state(self) -> dict[str, object]:
        out = podman(self.env, "inspect", "--format", "{{json .State}}", self.name).stdout
        state: dict[str, object] = json.loads(out)
        return state

    def logs(self) -> str:
        result = podman(self.env, "logs", self.name, check=False)
        return result.stdout + result.stderr

    def wait_healthy(self, base: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.state().get("Running"):
                raise AssertionError(f"{self.name} exited during start-up:\n{self.logs()[-3000:]}")
            if healthy(base):
                return
            time.sleep(0.3)
        raise AssertionError(f"{base}/healthz did not answer 200 within {timeout_s} s:\n{self.logs()[-3000:]}")

    def stop(self) -> int:
        """SIGTERM, as `docker stop` sends; the exit code."""
        podman(self.env, "stop", "--time", "30", self.name, timeout=60)
        exit_code = self.state()["ExitCode"]
        assert isinstance(exit_code, int)
        return exit_code

    def remove(self) -> None:
        podman(self.env, "rm", "--force", "--volumes", self.name, check=False)


def test_the_image_is_a_non_root_serve_with_a_data_volume_and_a_healthcheck(
    podman_env: dict[str, str], image: str
) -> None:
    inspected = json.loads(podman(podman_env, "image", "inspect", image).stdout)[0]
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
    whoami = podman(podman_env, "run", "--rm", "--runtime", "runc", "--entrypoint", "id", image).stdout
    assert whoami.startswith("uid=10001(stillmotion)")


def test_the_readme_quickstart_serves_the_seed_request(podman_env: dict[str, str], image: str, tmp_path: Path) -> None:
    """The README's `docker run`: the image's own command, on a container network with the port published on
    127.0.0.1 and a named volume for /data; here on another host port, with the public URL the README says to set."""
    started = time.monotonic()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    volume = f"stillmotion-test-{uuid.uuid4().hex[:10]}"
    server = Container(podman_env, image, options=(
        "--network", "bridge", "--publish", f"127.0.0.1:{port}:8000", "--volume", f"{volume}:/data",
        "--env", f"STILLMOTION_PUBLIC_URL={base}",
    ))
    try:
        server.wait_healthy(base)
        # The image's own HEALTHCHECK, run once by hand (podman schedules it through systemd, absent here).
        assert podman(podman_env, "healthcheck", "run", server.name, check=False).returncode == 0
        # A key made as the README says, inside the running container (the non-root user owns the volume).
        made = podman(podman_env, "exec", server.name, "stillmotion", "keys", "create", "--name", "ci").stdout
        key = next(word for word in made.split() if word.startswith("sm-"))
        video = run_seed_client(tmp_path, base, key)
        info = probe_video(video)
        assert (info.width, info.height, info.codec) == (720, 1072, "h264")
        assert info.frame_count > 1
        assert f"'url': '{base}/media/" in (tmp_path / "client.log").read_text()
        assert server.stop() == 0, server.logs()[-3000:]
    finally:
        server.remove()
        podman(podman_env, "volume", "rm", "--force", volume, check=False)
    TIMINGS["README quickstart container: start, key, seed request, stop"] = time.monotonic() - started


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
        video = run_seed_client(tmp_path, base, TEST_KEY)
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
