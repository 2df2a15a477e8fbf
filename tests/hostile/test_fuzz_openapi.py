"""Property-based fuzz of the OpenAPI document, one dialect at a time: no generated request may get a server error.

Schemathesis turns each dialect's operations into Hypothesis strategies, both requests that fit the schema
(positive) and requests that break it (negative); each case is sent in-process to `create_app(...)` over
ASGI, mostly with a valid API key and sometimes with none or a wrong one. About a third of the creates get
a real image spliced in, so that the fuzz reaches past image intake into job creation (prompts, options,
`Idempotency-Key`, callback URLs) instead of stopping at a refused picture.

Runs are derandomized (Hypothesis derives its seed from the test), so CI sees the same requests every time.
`STILLMOTION_FUZZ_EXAMPLES` raises the count for a longer local hunt (default 1000 per dialect).
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case

from stillmotion.api import minimax
from stillmotion.api.app import build_services, create_app
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.media.fetch import UrlFetcher
from support import TEST_KEY, b64, make_image

EXAMPLES = int(os.environ.get("STILLMOTION_FUZZ_EXAMPLES", "1000"))

# Path filters and the operations each must select (so a renamed route cannot silently drop out of the fuzz).
DIALECTS: dict[str, tuple[str, set[str]]] = {
    "aimlapi": (
        r"^/v2/",
        {
            f"{method} {path}"
            for method in ("POST", "GET", "DELETE")
            for path in ("/v2/generate/video/minimax/generation", "/v2/video/generations")
        },
    ),
    "minimax": (
        r"^/v1/(video_generation|query/video_generation|files/)",
        {"POST /v1/video_generation", "GET /v1/query/video_generation", "GET /v1/files/retrieve"},
    ),
    "openai": (
        r"^/v1/videos",
        {
            "POST /v1/videos",
            "GET /v1/videos",
            "GET /v1/videos/{video_id}",
            "DELETE /v1/videos/{video_id}",
            "GET /v1/videos/{video_id}/content",
        },
    ),
}

PNG = make_image(320, 400)
DATA_URI = f"data:image/png;base64,{b64(PNG)}"


def _no_dns(host: str, port: int) -> list[str]:
    # Fuzzed URLs must never reach a real resolver (or the network): every name is unknown.
    raise socket.gaierror(socket.EAI_NONAME, f"{host!r}: no DNS in the fuzz")


@dataclass
class Target:
    services: Services
    schema: Any  # schemathesis' OpenApiSchema


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    settings_ = Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY, public_url="http://testserver")
    services = build_services(settings_)
    services.fetcher = UrlFetcher(resolver=_no_dns, timeout_s=2.0)
    app = create_app(settings_, services=services)
    yield Target(services=services, schema=schemathesis.openapi.from_asgi("/openapi.json", app))
    services.store.close()


def _splice_real_image(case: Case) -> None:
    """Give a create request a valid first frame, keeping every other generated field as it is."""
    body = case.body
    if case.method != "POST" or not isinstance(body, dict):
        return
    path = case.operation.path
    if path.startswith("/v2/") or path == minimax.CREATE_PATH:
        body["first_frame_image"] = DATA_URI
    elif case.media_type == "multipart/form-data":
        body.pop("input_reference[image_url]", None)
        body["input_reference"] = PNG
    else:
        body["input_reference"] = {"image_url": DATA_URI}


def _server_error_in_body(dialect: str, response: Any) -> str | None:
    """MiniMax answers HTTP 200 even for a crash, with `base_resp.status_code` 1000 (unknown error)."""
    if dialect != "minimax":
        return None
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]!r}"
    base_resp = body.get("base_resp") if isinstance(body, dict) else None
    if not isinstance(base_resp, dict):
        return f"no base_resp: {response.text[:200]!r}"
    if base_resp.get("status_code") == minimax.UNKNOWN_ERROR:
        return f"base_resp reports an unknown (server) error: {base_resp}"
    return None


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_no_generated_request_gets_a_server_error(dialect: str, target: Target) -> None:
    path_regex, expected_operations = DIALECTS[dialect]
    schema = target.schema.include(path_regex=path_regex)
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert labels == expected_operations

    cases = st.one_of(
        schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
        schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    keys = st.sampled_from([TEST_KEY] * 6 + [None, "not-a-key"])
    statuses: Counter[tuple[str, int]] = Counter()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, key=keys, real_image=st.integers(0, 2))
    def fuzz(case: Case, key: str | None, real_image: int) -> None:
        if real_image == 0:
            _splice_real_image(case)
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        response = case.call(headers=headers)
        statuses[(case.operation.label, response.status_code)] += 1
        case.validate_response(response, checks=[not_a_server_error], headers=headers)
        problem = _server_error_in_body(dialect, response)
        assert problem is None, f"{case.operation.label}: {problem}\n{case.as_curl_command(headers=headers)}"

    fuzz()
    total = sum(statuses.values())
    assert total >= EXAMPLES, f"only {total} requests were generated: {statuses}"
    # The fuzz reached every operation, and past validation into real work (a 2xx) somewhere.
    assert {label for label, _status in statuses} == expected_operations
    assert any(200 <= status < 300 for _label, status in statuses)
