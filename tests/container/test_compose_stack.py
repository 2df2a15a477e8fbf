"""compose.yaml brought up with podman-compose: its API and worker services, as the file defines them (settings,
commands, the shared volume, published ports, the container network's names), serve the hosted API's client flow.

compose.yaml's PostgreSQL, MinIO and mc images cannot be pulled here, so `compose.standins.yaml` replaces those
three with images built here (Debian's PostgreSQL, moto's S3 server, a boto3 one-liner that makes the bucket), and
points the stillmotion services at the image the other container test builds. Debian's podman (4.3) cannot wait
for a health check (that needs systemd) and fails to start a service whose dependency has dependencies of its own,
so the test starts the database and bucket first, waits for them itself, then the API and workers without their
`depends_on`: the start order is the test's, not compose's.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stillmotion.media.video import probe_video
from support_container import REPO, TIMINGS, build, healthy, podman, run_seed_client

pytestmark = pytest.mark.container

STANDINS = Path(__file__).with_name("standins")
OVERRIDE = Path(__file__).with_name("compose.standins.yaml")
# compose.yaml publishes these on 127.0.0.1.
API_PORT = 8000
S3_PORT = 9000


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Stack:
    """One podman-compose project of compose.yaml with the stand-ins; `down()` removes it and its volumes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.project = f"smtest{uuid.uuid4().hex[:8]}"
        self.command = [str(Path(sys.executable).with_name("podman-compose")), "--project-name", self.project,
                        "--file", str(REPO / "compose.yaml"), "--file", str(OVERRIDE)]

    def run(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run([*self.command, *args], env=self.env, capture_output=True, text=True,
                                timeout=timeout, cwd=REPO)
        said = result.stdout[-2000:] + result.stderr[-3000:]
        assert result.returncode == 0, f"podman-compose {' '.join(args)}:\n{said}"
        return result.stdout

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def state(self, service: str) -> dict[str, object]:
        out = podman(self.env, "inspect", "--format", "{{json .State}}", self.container(service)).stdout
        state: dict[str, object] = json.loads(out)
        return state

    def logs(self, service: str) -> str:
        result = podman(self.env, "logs", self.container(service), check=False)
        return (result.stdout + result.stderr)[-3000:]

    def wait(self, what: str, ready: Callable[[], bool], service: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.5)
        raise AssertionError(f"{what} not within {timeout_s} s; {service} says:\n{self.logs(service)}")

    def down(self) -> None:
        subprocess.run([*self.command, "down", "--volumes"], env=self.env, capture_output=True, timeout=300,
                       cwd=REPO)


@pytest.fixture
def stack(podman_env: dict[str, str], image: str) -> Iterator[Stack]:
    busy = [port for port in (API_PORT, S3_PORT) if not _port_is_free(port)]
    if busy:
        pytest.fail(f"compose.yaml publishes 127.0.0.1:{API_PORT} and :{S3_PORT}; in use here: {busy}")
    started = time.monotonic()
    build(podman_env, "localhost/stillmotion-standin-postgres:test", STANDINS, file="postgres.Containerfile")
    build(podman_env, "localhost/stillmotion-standin-s3:test", STANDINS, file="s3.Containerfile")
    TIMINGS["compose stand-in images"] = time.monotonic() - started
    stack = Stack(podman_env)
    try:
        yield stack
    finally:
        stack.down()


def test_the_compose_stack_serves_the_seed_request_with_links_to_the_bucket(stack: Stack, tmp_path: Path) -> None:
    started = time.monotonic()
    stack.run("up", "--detach", "postgres", "minio", "minio-bucket")
    stack.wait("the bucket", lambda: stack.state("minio-bucket").get("Status") == "exited", "minio-bucket")
    assert stack.state("minio-bucket")["ExitCode"] == 0, stack.logs("minio-bucket")
    ready = ["exec", stack.container("postgres"), "pg_isready", "-U", "stillmotion", "-d", "stillmotion"]
    stack.wait("PostgreSQL", lambda: podman(stack.env, *ready, check=False).returncode == 0, "postgres")

    stack.run("up", "--detach", "--no-deps", "api", "worker")
    base = f"http://127.0.0.1:{API_PORT}"
    stack.wait("the API's /healthz", lambda: healthy(base), "api")
    made = stack.run("exec", "api", "stillmotion", "keys", "create", "--name", "me")
    key = next(word for word in made.split() if word.startswith("sm-"))

    video = run_seed_client(tmp_path, base, key)
    assert probe_video(video).frame_count > 1
    # The worker service rendered it (the API runs no workers) and the link named MinIO's published address.
    assert "'url': 'http://localhost:9000/stillmotion/videos/videos/" in (tmp_path / "client.log").read_text()
    assert "attempt 1: succeeded" in stack.logs("worker"), stack.logs("worker")
    TIMINGS["compose stack: start, key, seed request"] = time.monotonic() - started
