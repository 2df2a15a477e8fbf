"""The README's MiniMax and OpenAI examples run as shipped in `examples/` against `stillmotion serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stillmotion.media.video import probe_video
from support import TEST_KEY, Server, make_image

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("serve") / "data")
    yield running
    running.stop()


def _run(example: str, server: Server, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    image = tmp_path / "portrait.jpg"
    image.write_bytes(make_image(480, 640, fmt="JPEG"))
    return subprocess.run(
        [sys.executable, str(EXAMPLES / example), str(image), "she smiles, then the camera slowly zooms in"],
        env={**os.environ, "STILLMOTION_API_KEY": TEST_KEY, "STILLMOTION_BASE_URL": server.base},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_minimax_example_saves_the_video(server: Server, tmp_path: Path) -> None:
    result = _run("minimax_client.py", server, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-2] == "Status: Success"
    info = probe_video(tmp_path / "output.mp4")
    assert (info.width, info.height, info.frame_count) == (720, 960, 150)


def test_the_openai_sdk_example_saves_the_video_and_thumbnail(server: Server, tmp_path: Path) -> None:
    result = _run("openai_client.py", server, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "completed 100" in result.stdout
    info = probe_video(tmp_path / "video.mp4")
    assert (info.width, info.height, info.frame_count) == (720, 1280, 100)
    assert (tmp_path / "thumbnail.webp").read_bytes()[8:12] == b"WEBP"
