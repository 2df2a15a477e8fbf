"""Helpers importable from any test module (`tests/` is on pytest's path)."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

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


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
