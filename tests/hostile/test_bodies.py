"""JSON request bodies: refused by their shape (keys in one object, values in all, depth) with a 400 in the
dialect's own shape that names the rule, before they are parsed; and parsed off the event loop, so that a body
being parsed makes no other request wait."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from stillmotion.api import minimax
from stillmotion.api.app import build_services, create_app
from stillmotion.api.bodies import MAX_DEPTH, MAX_KEYS, MAX_VALUES, check_json_shape, parse_json_object
from stillmotion.config import Settings
from stillmotion.domain import InvalidInput
from support import TEST_KEY, b64, make_image
from support_aiml import assert_aiml_error
from support_network import serving

SEED = "/v2/generate/video/minimax/generation"
AUTH = {"Authorization": f"Bearer {TEST_KEY}", "Content-Type": "application/json"}
IMAGE = f"data:image/png;base64,{b64(make_image(400, 320))}"
DIALECTS = ["aimlapi", "minimax", "openai"]
WAIT_S = 10.0


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY, public_url="http://testserver")
    services = build_services(settings)
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as test_client:
        yield test_client
    services.store.close()


def _valid_body(dialect: str) -> dict[str, Any]:
    if dialect == "aimlapi":
        return {"model": "video-01-live2d", "prompt": "she smiles", "first_frame_image": IMAGE}
    if dialect == "minimax":
        return {"model": "I2V-01-live", "prompt": "she smiles", "first_frame_image": IMAGE}
    return {"prompt": "she smiles", "input_reference": {"image_url": IMAGE}}


def _post(client: TestClient, dialect: str, text: str) -> Any:
    path = {"aimlapi": SEED, "minimax": minimax.CREATE_PATH, "openai": "/v1/videos"}[dialect]
    return client.post(path, content=text, headers=AUTH)


def _refusal(dialect: str, response: Any) -> str:
    """The message of a 400 in the dialect's shape (MiniMax: HTTP 200 and `base_resp` 2013)."""
    if dialect == "aimlapi":
        return str(assert_aiml_error(response, 400)["message"])
    if dialect == "minimax":
        assert response.status_code == 200, response.text
        base = response.json()["base_resp"]
        assert base["status_code"] == minimax.INVALID_PARAMS, base
        return str(base["status_msg"])
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "body", error
    return str(error["message"])


def _not_refused_for_its_shape(response: Any) -> None:
    assert "`body`" not in response.text, response.text


def _with_keys(body: dict[str, Any], total: int) -> dict[str, Any]:
    return {**body, **{f"k{index}": index for index in range(total - len(body))}}


def _nested(depth: int) -> str:
    """A body `depth` levels deep: the object, then `depth - 1` arrays in its `prompt`."""
    return '{"prompt": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def _with_values(body: dict[str, Any], total: int) -> dict[str, Any]:
    # The object itself, its string values and the padding array are values too.
    return {**body, "pad": [0] * (total - 1 - _count_values(body))}


def _count_values(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_count_values(item) for item in value.values())
    if isinstance(value, list):
        return 1 + sum(_count_values(item) for item in value)
    return 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_object_with_one_key_too_many_is_refused_naming_the_rule(client: TestClient, dialect: str) -> None:
    message = _refusal(dialect, _post(client, dialect, json.dumps(_with_keys(_valid_body(dialect), MAX_KEYS + 1))))
    assert f"more than {MAX_KEYS} keys" in message, message
    _not_refused_for_its_shape(_post(client, dialect, json.dumps(_with_keys(_valid_body(dialect), MAX_KEYS))))
    inner = {**_valid_body(dialect), "extra": _with_keys({}, MAX_KEYS + 1)}  # the limit holds at every level
    assert f"more than {MAX_KEYS} keys" in _refusal(dialect, _post(client, dialect, json.dumps(inner)))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_body_nested_one_level_too_deep_is_refused_naming_the_rule(client: TestClient, dialect: str) -> None:
    message = _refusal(dialect, _post(client, dialect, _nested(MAX_DEPTH + 1)))
    assert "nested too deeply" in message and f"at most {MAX_DEPTH}" in message, message
    _not_refused_for_its_shape(_post(client, dialect, _nested(MAX_DEPTH)))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_body_with_one_value_too_many_is_refused_naming_the_rule(client: TestClient, dialect: str) -> None:
    message = _refusal(dialect, _post(client, dialect, json.dumps(_with_values(_valid_body(dialect), MAX_VALUES + 1))))
    assert f"more than {MAX_VALUES} values" in message, message
    _not_refused_for_its_shape(_post(client, dialect, json.dumps(_with_values(_valid_body(dialect), MAX_VALUES))))


def test_the_shape_counts_json_tokens_not_characters_inside_strings() -> None:
    tricky = json.dumps({"a": '{[,:"\\' * 5000, "b": {"c": ["x", 1, True, None]}})
    check_json_shape(tricky, max_keys=2, max_values=8, max_depth=3)  # 8 values: 3 containers, 5 scalars
    with pytest.raises(InvalidInput, match="more than 7 values"):
        check_json_shape(tricky, max_keys=2, max_values=7, max_depth=3)
    with pytest.raises(InvalidInput, match="nested too deeply"):
        check_json_shape(tricky, max_keys=2, max_values=8, max_depth=2)
    # Keys are counted per object, and a key is not a value.
    check_json_shape(json.dumps({"x": {"a": 1, "b": 2}, "y": {"a": 1, "b": 2}}), max_keys=2, max_values=7, max_depth=2)
    with pytest.raises(InvalidInput, match="more than 2 keys"):
        check_json_shape(json.dumps({"x": {"a": 1, "b": 2, "c": 3}}), max_keys=2, max_values=100, max_depth=2)


def test_a_string_that_never_ends_is_refused_as_invalid_json() -> None:
    with pytest.raises(InvalidInput, match="not valid JSON") as refused:
        parse_json_object(b'{"prompt": "' + b'\\"' * 100_000)
    assert refused.value.field == "body"


def test_unstorable_text_is_still_refused_by_path_with_the_parse() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_json_object(json.dumps({"input_reference": {"image_url": "x\u0000"}}).encode())
    assert refused.value.field == "input_reference.image_url"


MARKER = "parse-me-slowly"


def test_a_body_being_parsed_makes_no_other_request_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The parser is held on an event while health checks, polls and another create are answered.
    entered, release = threading.Event(), threading.Event()
    real_loads = json.loads

    def held_loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(text, str) and MARKER in text:
            entered.set()
            release.wait(WAIT_S)
        return real_loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", held_loads)
    settings = Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY, public_url="http://testserver")
    services = build_services(settings)
    body = {"model": "video-01-live2d", "prompt": f"she smiles {MARKER}", "first_frame_image": IMAGE}
    try:
        with serving(create_app(settings, services=services)) as base, ThreadPoolExecutor(max_workers=1) as pool:
            try:
                held = pool.submit(httpx.post, base + SEED, json=body, headers=AUTH, timeout=30.0)
                assert entered.wait(WAIT_S), "the held body never reached the parser"
                assert httpx.get(base + "/healthz", timeout=3.0).status_code == 200
                other = httpx.post(base + SEED, json={**body, "prompt": "she waves"}, headers=AUTH, timeout=3.0)
                assert other.status_code == 200, other.text
                poll = httpx.get(base + SEED, params={"generation_id": other.json()["generation_id"]},
                                 headers=AUTH, timeout=3.0)
                assert poll.status_code == 200, poll.text
                assert not held.done()
            finally:
                release.set()
            assert held.result(timeout=WAIT_S).status_code == 200
    finally:
        services.store.close()
