"""moto's standalone S3-protocol server on a loopback port: the stand-in for a real S3 server in tests.

No real S3 (or MinIO) can be installed on these machines; `moto_server` speaks the same HTTP protocol
(SigV4-signed requests, presigned URLs, multipart uploads) and keeps objects in memory.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ACCESS_KEY = "stillmotion-test"
SECRET_KEY = "stillmotion-test-secret"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MotoS3:
    """One `moto_server` process. `stop()` and `start()` again on the same port simulate an outage (objects and
    buckets are lost with the process, as moto keeps them in memory)."""

    def __init__(self, log_dir: Path, *, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log_path = log_dir / f"moto-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self, *, timeout_s: float = 30.0) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        with self._log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"moto_server exited during start-up; see {self._log_path}"
            try:
                if httpx.get(self.endpoint + "/moto-api/", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"moto_server did not answer within {timeout_s} s; see {self._log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        """A fresh bucket with a unique name, so tests sharing one server never see each other's objects."""
        name = f"stillmotion-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, prefix: str = "videos-test") -> dict[str, str]:
        """The `STILLMOTION_*` variables that point a stillmotion process at `bucket`."""
        return {
            "STILLMOTION_STORAGE_URL": f"s3://{bucket}/{prefix}",
            "STILLMOTION_S3_ENDPOINT_URL": self.endpoint,
            "STILLMOTION_S3_REGION": REGION,
            "STILLMOTION_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "STILLMOTION_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }
