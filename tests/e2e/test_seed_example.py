"""The README's promise: the hosted API's client flow, with only base URL, key and image changed, completes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stillmotion.media.video import probe_video
from support import TEST_KEY, Server, make_image

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed_client.py"

pytestmark = pytest.mark.slow


def test_the_seed_client_example_completes_against_serve(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    try:
        image = tmp_path / "portrait.jpg"
        image.write_bytes(make_image(720, 1072, fmt="JPEG"))
        result = subprocess.run(
            [sys.executable, str(EXAMPLE), str(image), "she smiles, the camera slowly zooms in"],
            env={**os.environ, "STILLMOTION_KEY": TEST_KEY, "STILLMOTION_BASE_URL": server.base + "/v2"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Status: completed" in result.stdout
    info = probe_video(tmp_path / "output.mp4")
    assert (info.width, info.height, info.frame_count, info.codec) == (720, 1072, 150, "h264")
