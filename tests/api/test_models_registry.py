"""Model ids from a models file through the API: accepted where the dialect serves them, documented, refused
clearly elsewhere, shown sensibly when their engine fails, and never a reason for the API to import torch."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stillmotion.api.app import build_services, create_app
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.domain import ModelRegistry, ModelSpec
from stillmotion.worker import EngineHost, Worker
from support import TEST_KEY, b64, make_image
from support_aiml import assert_aiml_error
from support_engines import FACTORIES

AIML = "/v2/generate/video/minimax/generation"
MODELS_TOML = """
[models.tiny-wan]
engine = "diffusion"
weights = "./tiny-wan"
[models.tiny-wan.options]
num_inference_steps = 2
"""
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


def _aiml_body(model: str) -> dict[str, Any]:
    return {"model": model, "prompt": "waves roll in", "first_frame_image": b64(make_image(400, 520))}


def _openai_body(model: str) -> dict[str, Any]:
    image = "data:image/png;base64," + b64(make_image(400, 520))
    return {"model": model, "prompt": "waves roll in", "input_reference": {"image_url": image}}


@pytest.fixture
def models_settings(tmp_path: Path) -> Settings:
    models_file = tmp_path / "models.toml"
    models_file.write_text(MODELS_TOML)
    return Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY, public_url="http://testserver",
                    models_file=models_file)


@pytest.fixture
def models_client(models_settings: Settings) -> Iterator[tuple[TestClient, Services]]:
    svc = build_services(models_settings)
    with TestClient(create_app(models_settings, services=svc)) as client:
        yield client, svc
    svc.store.close()


def test_the_aiml_and_openai_routes_take_a_models_file_id(models_client: tuple[TestClient, Services]) -> None:
    client, svc = models_client
    created = client.post(AIML, json=_aiml_body("tiny-wan"), headers=AUTH)
    assert created.status_code == 200, created.text
    job = svc.store.get(created.json()["generation_id"])
    assert (job.model, job.engine) == ("tiny-wan", "diffusion")

    video = client.post("/v1/videos", json=_openai_body("tiny-wan"), headers=AUTH)
    assert video.status_code == 200, video.text
    assert video.json()["model"] == "tiny-wan"


def test_an_unknown_id_is_refused_naming_the_files_ids_too(models_client: tuple[TestClient, Services]) -> None:
    client, svc = models_client
    refused = client.post(AIML, json=_aiml_body("wan-huge"), headers=AUTH)
    assert_aiml_error(refused, 400, mentions=("`model` must be one of:", "tiny-wan", "video-01-live2d", "'wan-huge'"))
    openai = client.post("/v1/videos", json=_openai_body("wan-huge"), headers=AUTH)
    assert openai.status_code == 400
    assert openai.json()["error"]["param"] == "model"
    assert "tiny-wan" in openai.json()["error"]["message"]
    assert sum(svc.store.counts_by_status().values()) == 0


def test_minimax_keeps_its_own_model_list(models_client: tuple[TestClient, Services]) -> None:
    client, _svc = models_client
    body = {"model": "tiny-wan", "prompt": "waves", "first_frame_image": "data:image/png;base64,"
            + b64(make_image(400, 520))}
    refused = client.post("/v1/video_generation", json=body, headers=AUTH).json()
    assert refused["base_resp"]["status_code"] == 2013
    assert "I2V-01-live, video-01-live2d (got 'tiny-wan')" in refused["base_resp"]["status_msg"]


def test_the_openapi_schema_lists_the_files_ids_for_openai(models_client: tuple[TestClient, Services],
                                                          settings: Settings) -> None:
    client, _svc = models_client
    body = client.get("/openapi.json").json()["paths"]["/v1/videos"]["post"]["requestBody"]["content"]
    for content in body.values():
        model = content["schema"]["properties"]["model"]
        assert model["enum"] == ["sora-2", "sora-2-pro", "tiny-wan"]
        assert "`tiny-wan` (diffusion)" in model["description"]
    # Another app without a models file is not affected (the schema pieces are shared module constants).
    plain = build_services(settings)
    with TestClient(create_app(settings, services=plain)) as other:
        schema = other.get("/openapi.json").json()["paths"]["/v1/videos"]["post"]["requestBody"]["content"]
    plain.store.close()
    assert schema["multipart/form-data"]["schema"]["properties"]["model"]["enum"] == ["sora-2", "sora-2-pro"]


def test_an_engine_failure_reads_with_its_code_in_each_dialect(settings: Settings) -> None:
    svc = build_services(settings)
    svc = dataclasses.replace(
        svc, models=ModelRegistry({"fake-oom": ModelSpec(id="fake-oom", engine="fake",
                                                          options={"fail": "out_of_memory"})})
    )
    try:
        with TestClient(create_app(settings, services=svc)) as client:
            aiml_id = client.post(AIML, json=_aiml_body("fake-oom"), headers=AUTH).json()["generation_id"]
            openai_id = client.post("/v1/videos", json=_openai_body("fake-oom"), headers=AUTH).json()["id"]
            worker = Worker(svc.store, svc.storage, work_dir=settings.work_dir, models=svc.models)
            worker.host = EngineHost(engine_factories=FACTORIES)
            assert worker.run_burst() == 2

            aiml = client.get(AIML, params={"generation_id": aiml_id}, headers=AUTH).json()
            assert aiml["status"] == "error"
            assert aiml["error"] == {"name": "out_of_memory",
                                     "message": "CUDA ran out of memory: 20.00 GiB asked, 3.10 GiB free"}
            openai = client.get(f"/v1/videos/{openai_id}", headers=AUTH).json()
            assert openai["status"] == "failed"
            assert openai["error"] == {"code": "out_of_memory",
                                       "message": "CUDA ran out of memory: 20.00 GiB asked, 3.10 GiB free"}
    finally:
        svc.store.close()


def test_the_api_never_imports_torch_or_diffusers(tmp_path: Path) -> None:
    """In a fresh interpreter: build the app with a diffusion model and create a job for it."""
    (tmp_path / "models.toml").write_text(MODELS_TOML)
    script = textwrap.dedent(
        f"""
        import json, sys
        from fastapi.testclient import TestClient
        from stillmotion.api.app import create_app
        from stillmotion.config import Settings
        from support import b64, make_image

        settings = Settings(data_dir={str(tmp_path / "data")!r}, api_keys="k",
                            models_file={str(tmp_path / "models.toml")!r})
        with TestClient(create_app(settings)) as client:
            body = {{"model": "tiny-wan", "prompt": "p", "first_frame_image": b64(make_image(400, 520))}}
            created = client.post("{AIML}", json=body, headers={{"Authorization": "Bearer k"}})
            client.get("/openapi.json")
        heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("torch", "diffusers", "transformers"))
        print(json.dumps({{"status": created.status_code, "heavy": heavy}}))
        """
    )
    tests_dir = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(tests_dir), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"status": 200, "heavy": []}
