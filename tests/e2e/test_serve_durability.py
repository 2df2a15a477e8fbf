"""Real `stillmotion serve` processes: a job survives SIGKILL of the server mid-generation."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stillmotion.media.video import probe_video
from support import TEST_KEY, Server, b64, make_image

PATH = "/v2/generate/video/minimax/generation"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}

pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop(signal.SIGKILL)


def _poll(server: Server, generation_id: str) -> dict[str, Any]:
    response = httpx.get(server.base + PATH, params={"generation_id": generation_id}, headers=AUTH, timeout=5)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _wait_for(server: Server, generation_id: str, statuses: set[str], timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = _poll(server, generation_id)
        if body["status"] in statuses:
            return body
        time.sleep(0.05)
    raise AssertionError(f"generation {generation_id} never reached {statuses}; last: {body}")


def _create(server: Server) -> str:
    body = {
        "model": "video-01-live2d",
        "prompt": "gentle breathing, slow push in",
        "first_frame_image": b64(make_image(720, 1072, fmt="JPEG")),
    }
    response = httpx.post(server.base + PATH, json=body, headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    generation_id: str = response.json()["generation_id"]
    return generation_id


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_a_job_survives_sigkill_mid_generation(data_dir: Path, servers: list[Server], tmp_path: Path) -> None:
    first = Server(data_dir)
    servers.append(first)
    generation_id = _create(first)
    _wait_for(first, generation_id, {"generating"}, timeout_s=60)
    # The status turns "generating" as the job is claimed; the engine process may take a moment more to start on
    # a loaded machine (a CI run saw no child yet at the first look).
    deadline = time.monotonic() + 15
    engine_children = first.children()
    while not engine_children and time.monotonic() < deadline:
        time.sleep(0.05)
        engine_children = first.children()
    assert engine_children, "the engine should run in a child process"

    first.process.kill()  # SIGKILL: no clean-up of any kind
    first.process.wait()
    deadline = time.monotonic() + 10
    while any(_pid_alive(pid) for pid in engine_children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_pid_alive(pid) for pid in engine_children), "engine child outlived its server"

    second = Server(data_dir)
    servers.append(second)
    done = _wait_for(second, generation_id, {"completed", "error"}, timeout_s=120)
    assert done["status"] == "completed", done
    video = httpx.get(done["video"]["url"], timeout=30)
    assert video.status_code == 200
    path = tmp_path / "out.mp4"
    path.write_bytes(video.content)
    info = probe_video(path)
    assert (info.width, info.height, info.frame_count) == (720, 1072, 150)


def test_queued_jobs_run_after_a_restart_and_polls_stay_fast_while_rendering(
    data_dir: Path, servers: list[Server]
) -> None:
    api_only = Server(data_dir, workers=0)
    servers.append(api_only)
    generation_id = _create(api_only)
    api_only.stop(signal.SIGTERM)
    assert api_only.process.returncode == 0

    restarted = Server(data_dir)
    servers.append(restarted)
    _wait_for(restarted, generation_id, {"generating"}, timeout_s=60)
    # The render runs in a child process: the API keeps answering while it works.
    answered = 0
    while _poll(restarted, generation_id)["status"] == "generating":
        answered += 1
        time.sleep(0.02)
    assert answered >= 5
    assert _poll(restarted, generation_id)["status"] == "completed"
