"""A moto S3 server shared by the storage tests of one module; each test makes its own bucket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage.moto_s3 import MotoS3


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    server = MotoS3(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()
