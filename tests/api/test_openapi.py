"""Every route is in the OpenAPI document with a summary and at least one example, and `/docs` serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stillmotion.api.app import create_app
from stillmotion.config import Settings
from support import TEST_KEY

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(tmp_path: Path) -> dict[str, Any]:
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY)))
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    response = client.get("/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def _has_example(node: Any, document: dict[str, Any], depth: int = 0) -> bool:
    """True if `node` (following `$ref`s a few levels) holds an `example` or a non-empty `examples`."""
    if depth > 8:
        return False
    if isinstance(node, dict):
        if "example" in node or node.get("examples"):
            return True
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = document
            for part in ref[2:].split("/"):
                target = target[part]
            if _has_example(target, document, depth + 1):
                return True
        return any(_has_example(value, document, depth + 1) for key, value in node.items() if key != "$ref")
    if isinstance(node, list):
        return any(_has_example(item, document, depth + 1) for item in node)
    return False


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_dialect_is_in_the_document(document: dict[str, Any]) -> None:
    paths = set(document["paths"])
    for expected in (
        "/v2/generate/video/minimax/generation",
        "/v2/video/generations",
        "/v1/video_generation",
        "/v1/query/video_generation",
        "/v1/files/retrieve",
        "/v1/videos",
        "/v1/videos/{video_id}",
        "/v1/videos/{video_id}/content",
    ):
        assert expected in paths, f"{expected} is not documented"


def test_every_operation_has_a_summary_and_an_example(document: dict[str, Any]) -> None:
    missing_summary = [f"{m} {p}" for m, p, op in _operations(document) if not op.get("summary")]
    missing_example = [f"{m} {p}" for m, p, op in _operations(document) if not _has_example(op, document)]
    assert not missing_summary, f"no summary: {missing_summary}"
    assert not missing_example, f"no example: {missing_example}"
