"""Text no database can store: a NUL character (PostgreSQL's text refuses it) or a lone UTF-16 surrogate (no UTF-8
form at all), in a create's fields and in the ids of polls, on both back ends. A create is refused with a 4xx in its
dialect's shape that names the field (MiniMax: HTTP 200 with a non-zero `base_resp.status_code`), and nothing is
stored; an id that cannot exist is not found; never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stillmotion.api import minimax
from stillmotion.api.app import build_services, create_app
from stillmotion.config import Settings
from support import TEST_KEY, b64, make_image
from support_aiml import assert_aiml_error

AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
IMAGE = f"data:image/png;base64,{b64(make_image(320, 400))}"
BAD_TEXT = [("nul", "she smiles\u0000 and waves", "NUL"), ("lone-surrogate", "she smiles \ud800", "surrogate")]


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data", database_url=database_url, api_keys=TEST_KEY, public_url="http://testserver"
    )
    services = build_services(settings)
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as test_client:
        test_client.app_state = services  # type: ignore[attr-defined]
        yield test_client
    services.store.close()


def _post_json(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    # `json.dumps` escapes a lone surrogate as \ud800, as a client's JSON encoder would send it.
    return client.post(path, content=json.dumps(body), headers={**AUTH, "Content-Type": "application/json"})


def _nothing_stored(client: TestClient) -> None:
    counts = client.app_state.store.counts_by_status()  # type: ignore[attr-defined]
    assert sum(counts.values()) == 0, counts


@pytest.mark.parametrize(("name", "prompt", "word"), BAD_TEXT, ids=[case[0] for case in BAD_TEXT])
@pytest.mark.parametrize("path", ["/v2/generate/video/minimax/generation", "/v2/video/generations"])
def test_aiml_creates_refuse_text_that_cannot_be_stored(
    client: TestClient, path: str, name: str, prompt: str, word: str
) -> None:
    body = {"model": "video-01-live2d", "prompt": prompt, "first_frame_image": IMAGE}
    message = assert_aiml_error(_post_json(client, path, body), 400)["message"]
    assert "`prompt`" in message and word in message, message
    _nothing_stored(client)


@pytest.mark.parametrize(("name", "prompt", "word"), BAD_TEXT, ids=[case[0] for case in BAD_TEXT])
def test_minimax_create_refuses_text_that_cannot_be_stored(
    client: TestClient, name: str, prompt: str, word: str
) -> None:
    body = {"model": "I2V-01-live", "prompt": prompt, "first_frame_image": IMAGE}
    answer = _post_json(client, minimax.CREATE_PATH, body)
    assert answer.status_code == 200, answer.text
    base = answer.json()["base_resp"]
    assert base["status_code"] == minimax.INVALID_PARAMS, base
    assert "`prompt`" in base["status_msg"] and word in base["status_msg"], base
    _nothing_stored(client)


@pytest.mark.parametrize(("name", "prompt", "word"), BAD_TEXT, ids=[case[0] for case in BAD_TEXT])
def test_openai_creates_refuse_text_that_cannot_be_stored(
    client: TestClient, name: str, prompt: str, word: str
) -> None:
    answers = [_post_json(client, "/v1/videos", {"prompt": prompt, "input_reference": {"image_url": IMAGE}})]
    if name == "nul":  # a multipart form field carries UTF-8 bytes: a NUL can be sent, a lone surrogate cannot
        form = [("prompt", (None, prompt)), ("input_reference", ("frame.png", make_image(320, 400), "image/png"))]
        answers.append(client.post("/v1/videos", files=form, headers=AUTH))
    for answer in answers:
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["param"] == "prompt" and word in error["message"], error
    _nothing_stored(client)


def test_ids_holding_text_no_database_can_store_are_refused_by_name(client: TestClient) -> None:
    poll = client.get("/v2/generate/video/minimax/generation?generation_id=%00", headers=AUTH)
    assert "generation_id" in assert_aiml_error(poll, 400)["message"]
    unified = client.get("/v2/video/generations?generation_id=%00", headers=AUTH)
    assert "generation_id" in assert_aiml_error(unified, 400)["message"]
    video = client.get("/v1/videos/%00", headers=AUTH)
    assert video.status_code == 400 and video.json()["error"]["param"] == "video_id", video.text
    # Bytes that are not UTF-8 arrive replaced, so this id is merely one that does not exist.
    assert client.get("/v1/videos/video_%ED%A0%80", headers=AUTH).status_code == 404
    page = client.get("/v1/videos?after=%00", headers=AUTH)
    assert page.status_code == 400, page.text
    assert page.json()["error"]["param"] == "after"
    task = client.get(f"{minimax.QUERY_PATH}?task_id=%00", headers=AUTH)
    assert task.status_code == 200, task.text
    assert task.json()["base_resp"]["status_code"] == 2013 and "task_id" in task.json()["base_resp"]["status_msg"]
