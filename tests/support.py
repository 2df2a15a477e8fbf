"""Helpers importable from any test module (`tests/` is on pytest's path)."""

from __future__ import annotations

import base64
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from stillmotion.domain import JobSpec

TEST_KEY = "test-key-alpha"
OTHER_KEY = "test-key-beta"


def make_image(width: int, height: int, *, fmt: str = "PNG", seed: int = 0) -> bytes:
    """A smooth synthetic picture (gradients and a disc) so that encoders and warps behave as on photos."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 255 * xx / max(width - 1, 1)
    green = 255 * yy / max(height - 1, 1)
    cx, cy = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.3, 0.7)
    blue = 255.0 * (((xx - cx) ** 2 + (yy - cy) ** 2) < (min(width, height) / 4) ** 2)
    pixels = np.stack([red, green, blue], axis=-1).astype(np.uint8)  # (H, W, 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def psnr(actual: np.ndarray, expected: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 frames in dB: infinite when equal, over ~35 when they look alike."""
    mse = float(np.mean((actual.astype(np.float64) - expected.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))


def job_spec(tenant: str, **changes: Any) -> JobSpec:
    """A live2d job of `tenant` as a store test needs one (fake image bytes unless `image` is given)."""
    fields: dict[str, Any] = {
        "tenant": tenant,
        "model": "video-01-live2d",
        "engine": "live2d",
        "prompt": "she smiles",
        "image": b"\x89PNG fake bytes",
        "image_format": "png",
        "image_width": 400,
        "image_height": 600,
    }
    return JobSpec(**{**fields, **changes})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, data_dir: Path, *, workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "STILLMOTION_API_KEYS": TEST_KEY,
            "STILLMOTION_LEASE_S": "2",
            "STILLMOTION_POLL_INTERVAL_S": "0.1",
            **(env or {}),
        }
        self.log = (data_dir.parent / f"server-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stillmotion", "serve", "--port", str(self.port), "--data-dir", str(data_dir),
             "--workers", str(workers)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "server exited during start-up"
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not become healthy")

    def children(self) -> list[int]:
        found: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            found += [int(pid) for pid in (task / "children").read_text().split()]
        return found

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.log.close()
