"""Fixtures for the fault tests: a `Cluster` on a fresh PostgreSQL database or on SQLite; whatever a test
started is killed when it ends, whatever happened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faults.cluster import Cluster


@pytest.fixture
def pg_cluster(postgres_url: str, tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path / "data", postgres_url)
    yield cluster
    cluster.close()


@pytest.fixture
def sqlite_cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path / "data", None)
    yield cluster
    cluster.close()
