"""The `seed` extension: every dialect reports the seed a job was rendered with, and sending it back renders the
same video again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.dialects import aimlapi
from stillmotion.dialects.extensions import SEED_USED_DOC
from stillmotion.domain.options import MAX_SEED
from stillmotion.engines.live2d.motion import seed_from_image
from stillmotion.worker import Worker
from support import b64

AIML = "/v2/generate/video/minimax/generation"
MINIMAX_QUERY = "/v1/query/video_generation"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# A face that breathes and blinks: the seed places the blinks and the sway, so another seed moves it otherwise.
IMAGE = b64((FIXTURES / "astronaut.png").read_bytes())


def _body(**overrides: Any) -> dict[str, Any]:
    # Short and at the lowest frame rate: four renders stay quick.
    body: dict[str, Any] = {
        "model": "video-01-live2d",
        "prompt": "she breathes and blinks",
        "first_frame_image": IMAGE,
        "duration": 1,
        "fps": 12,
    }
    body.update(overrides)
    return body


def _render(client: TestClient, services: Services, settings: Settings, auth: dict[str, str], **overrides: Any) -> Any:
    """Create a generation, run it to the end in this process, and return its final AI/ML answer."""
    created = client.post(AIML, json=_body(**overrides), headers=auth)
    assert created.status_code == 200, created.text
    generation_id = created.json()["generation_id"]
    assert Worker(services.store, services.storage, work_dir=settings.work_dir).run_burst() == 1
    done = client.get(AIML, params={"generation_id": generation_id}, headers=auth).json()
    assert done["status"] == "completed", done
    return done


def _video(client: TestClient, generation: dict[str, Any]) -> bytes:
    response = client.get(generation["video"]["url"])
    assert response.status_code == 200
    return response.content


def test_without_a_seed_the_one_drawn_from_the_image_is_reported_and_renders_the_same_video_again(
    client: TestClient, services: Services, settings: Settings, auth: dict[str, str]
) -> None:
    first = _render(client, services, settings, auth)
    drawn = first["seed"]
    assert isinstance(drawn, int) and 0 <= drawn <= MAX_SEED
    assert drawn == seed_from_image(services.store.load_input(first["id"]))

    again = _render(client, services, settings, auth, seed=drawn)
    assert again["seed"] == drawn
    assert _video(client, again) == _video(client, first)


def test_a_given_seed_is_reported_as_given_and_moves_the_picture_otherwise(
    client: TestClient, services: Services, settings: Settings, auth: dict[str, str]
) -> None:
    drawn = _render(client, services, settings, auth)
    given = (drawn["seed"] + 1) % (MAX_SEED + 1)
    other = _render(client, services, settings, auth, seed=given)
    assert other["seed"] == given
    # The seed matters: were the reported seed not the one used, sending it back could not give the same video.
    assert _video(client, other) != _video(client, drawn)


def test_every_dialect_reports_the_seed_once_the_job_has_run(
    client: TestClient, services: Services, settings: Settings, auth: dict[str, str]
) -> None:
    generation_id = client.post(AIML, json=_body(seed=4242), headers=auth).json()["generation_id"]

    def answers() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        aiml = client.get(AIML, params={"generation_id": generation_id}, headers=auth).json()
        minimax = client.get(MINIMAX_QUERY, params={"task_id": generation_id}, headers=auth).json()
        openai = client.get(f"/v1/videos/video_{generation_id}", headers=auth).json()
        return aiml, minimax, openai

    # Before the run: each dialect's way of saying "not yet" (AI/ML and MiniMax leave unknown extensions out).
    aiml, minimax, openai = answers()
    assert "seed" not in aiml and "seed" not in minimax
    assert openai["seed"] is None

    assert Worker(services.store, services.storage, work_dir=settings.work_dir).run_burst() == 1
    aiml, minimax, openai = answers()
    assert aiml["seed"] == minimax["seed"] == openai["seed"] == 4242
    event = aimlapi.render_event(services.store.get(generation_id), services)
    assert event["generation"]["seed"] == 4242  # the webhook body is the poll's answer


@pytest.mark.parametrize(
    ("path", "schema"), [(AIML, "Generation"), (MINIMAX_QUERY, "VideoGenerationTask"), ("/v1/videos", "Video")]
)
def test_the_openapi_document_describes_the_seed_extension(client: TestClient, path: str, schema: str) -> None:
    document = client.get("/openapi.json").json()
    assert path in document["paths"]
    seed = document["components"]["schemas"][schema]["properties"]["seed"]
    assert seed["description"] == SEED_USED_DOC
    assert {"type": "integer", "minimum": 0, "maximum": MAX_SEED} in seed["anyOf"]
