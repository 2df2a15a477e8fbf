"""OpenAI's Models API over the model registry, over real HTTP and through the official `openai` SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from stillmotion.api.app import build_services, create_app
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.domain import MODEL_ENGINES
from support import TEST_KEY
from support_network import serving

MODELS_FILE = """
[models."wan2.2-ti2v-5b"]
engine = "diffusion"
weights = "Wan-AI/Wan2.2-TI2V-5B-Diffusers"

[models."my-finetune"]
engine = "diffusion"
weights = "/srv/weights/my-finetune"
"""


@pytest.fixture
def base_url(settings: Settings, services: Services) -> Iterator[str]:
    with serving(create_app(settings, services=services)) as url:
        yield url


def test_the_list_is_every_id_a_create_call_accepts_in_openais_shape(base_url: str) -> None:
    answer = httpx.get(f"{base_url}/v1/models", headers={"Authorization": f"Bearer {TEST_KEY}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == list(MODEL_ENGINES)
    for model in body["data"]:
        assert set(model) == {"id", "object", "created", "owned_by"}
        assert model["object"] == "model" and model["owned_by"] == "stillmotion"
        assert isinstance(model["created"], int) and model["created"] > 1_600_000_000


def test_the_models_file_adds_its_ids_owned_by_their_weights_source(tmp_path: Path, settings: Settings) -> None:
    models_file = tmp_path / "models.toml"
    models_file.write_text(MODELS_FILE)
    settings = settings.model_copy(update={"models_file": models_file})
    services = build_services(settings)
    try:
        with serving(create_app(settings, services=services)) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=TEST_KEY, max_retries=0, timeout=30)
            owners = {model.id: model.owned_by for model in client.models.list()}
    finally:
        services.store.close()
    assert list(owners)[: len(MODEL_ENGINES)] == list(MODEL_ENGINES)
    assert owners["wan2.2-ti2v-5b"] == "Wan-AI"
    assert owners["my-finetune"] == "local"


def test_the_official_sdk_lists_and_retrieves_models(base_url: str) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=TEST_KEY, max_retries=0, timeout=30)
    assert "sora-2" in [model.id for model in client.models.list()]
    model = client.models.retrieve("sora-2")
    assert model.id == "sora-2" and model.object == "model"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-4o")
    assert missing.value.status_code == 404
    error = missing.value.body
    assert isinstance(error, dict) and error["message"] == "model 'gpt-4o' not found", error
    assert error["type"] == "invalid_request_error"


def test_models_need_a_key_and_answer_in_openais_error_shape(base_url: str) -> None:
    answer = httpx.get(f"{base_url}/v1/models", timeout=30)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{base_url}/v1", api_key="wrong", max_retries=0, timeout=30).models.list()
