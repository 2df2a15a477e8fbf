"""A full job on a diffusion model through `stillmotion serve`: a tiny random Wan 2.2 TI2V pipeline, saved in
diffusers format and registered in the models file, rendered by the worker to a playable mp4."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from stillmotion.engines.diffusion.tiny import build_tiny_pipeline
from stillmotion.media.video import probe_video
from support import TEST_KEY, Server, b64, make_image

pytestmark = pytest.mark.slow

MODEL_ID = "tiny-wan-ti2v"
HEADERS = {"Authorization": f"Bearer {TEST_KEY}"}


def write_models_file(data_dir: Path, weights: Path, *, model_id: str = MODEL_ID) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "models.toml").write_text(
        f"""\
[models."{model_id}"]
engine = "diffusion"
weights = "{weights}"

[models."{model_id}".options]
width = 64
height = 64
num_frames = 9
fps = 8
num_inference_steps = 2
max_sequence_length = 16
"""
    )


def run_job(server: Server, model_id: str) -> dict[str, Any]:
    """Create a generation on the AI/ML route and poll it until it finishes; its final poll body."""
    body = {
        "model": model_id,
        "prompt": "the camera slowly pushes in",
        "first_frame_image": b64(make_image(400, 320)),
        "duration": 1,
        "seed": 5,
    }
    created = httpx.post(server.base + "/v2/video/generations", json=body, headers=HEADERS, timeout=30)
    assert created.status_code == 200, created.text
    deadline = time.monotonic() + 180  # the worker imports torch and loads the pipeline first
    while True:
        polled = httpx.get(
            server.base + "/v2/video/generations",
            params={"generation_id": created.json()["id"]},
            headers=HEADERS,
            timeout=30,
        )
        assert polled.status_code == 200, polled.text
        generation: dict[str, Any] = polled.json()
        if generation["status"] in ("completed", "error"):
            return generation
        assert time.monotonic() < deadline, f"still {generation['status']} after 180 s"
        time.sleep(0.2)


def run_openai_job(server: Server, model_id: str, *, size: str) -> dict[str, Any]:
    """Create a video on the OpenAI route (multipart, as the openai SDK sends it) and poll it until it finishes."""
    created = httpx.post(
        server.base + "/v1/videos",
        data={"model": model_id, "prompt": "she smiles", "size": size, "seconds": "4"},
        files={"input_reference": ("first.png", make_image(400, 320), "image/png")},
        headers=HEADERS,
        timeout=30,
    )
    assert created.status_code == 200, created.text
    deadline = time.monotonic() + 120
    while True:
        video: dict[str, Any] = httpx.get(
            server.base + f"/v1/videos/{created.json()['id']}", headers=HEADERS, timeout=30
        ).json()
        if video["status"] in ("completed", "failed"):
            return video
        assert time.monotonic() < deadline, f"still {video['status']} after 120 s"
        time.sleep(0.2)


def test_a_tiny_diffusion_model_runs_a_full_job_to_an_mp4(tmp_path: Path) -> None:
    weights = build_tiny_pipeline("wan-ti2v", tmp_path / "weights")
    write_models_file(tmp_path / "data", weights)
    server = Server(tmp_path / "data")
    try:
        generation = run_job(server, MODEL_ID)
        assert generation["status"] == "completed", generation

        video = httpx.get(generation["video"]["url"], timeout=30)
        assert video.status_code == 200
        openai_video = run_openai_job(server, MODEL_ID, size="1280x720")
    finally:
        server.stop()
    # OpenAI's size is fitted to the model (same aspect, its largest side, multiples of 32), and the answer
    # names the size of the video it links to, not the one asked for.
    assert openai_video["status"] == "completed", openai_video
    assert openai_video["size"] == "64x32"
    path = tmp_path / "out.mp4"
    path.write_bytes(video.content)
    info = probe_video(path)
    assert (info.width, info.height, info.codec, info.pix_fmt) == (64, 64, "h264", "yuv420p")
    assert info.frame_count == 9  # 1 s at the model's 8 fps, snapped to Wan's 4k+1
    assert info.fps == 8.0


def test_a_model_whose_weights_are_not_here_fails_its_job_saying_how_to_pull_them(tmp_path: Path) -> None:
    write_models_file(tmp_path / "data", tmp_path / "not-downloaded", model_id="absent-model")
    server = Server(tmp_path / "data")
    try:
        generation = run_job(server, "absent-model")
    finally:
        server.stop()
    assert generation["status"] == "error", generation
    assert generation["error"]["name"] == "weights_missing"
    assert "stillmotion models pull absent-model" in generation["error"]["message"]
