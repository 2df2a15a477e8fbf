"""Checks of the AI/ML API's error body, shared by the tests of its routes."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

ISO_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def assert_aiml_error(response: Any, status: int, *, mentions: tuple[str, ...] = ()) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()
    assert set(error) == {"message", "path", "requestId", "statusCode", "timestamp"}
    assert error["statusCode"] == status
    assert error["path"] == urlsplit(str(response.url)).path
    assert ISO_TIMESTAMP.match(error["timestamp"])
    for word in mentions:
        assert word in error["message"], error["message"]
    return error
