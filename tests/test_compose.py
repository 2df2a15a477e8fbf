"""compose.yaml and the Dockerfile agree with the service: every setting they name exists, every command parses,
and the addresses, bucket and credentials line up across services.

These checks need no containers; tests/container/test_compose_stack.py brings the stack up with podman-compose (with
stand-ins for the PostgreSQL, MinIO and mc images, which cannot be pulled on these machines).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from stillmotion.cli import main
from stillmotion.config import Settings

REPO = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
STILLMOTION = ["api", "worker", "worker-gpu"]
# Read by the image's HEALTHCHECK, not by the service's settings.
IMAGE_ONLY = {"STILLMOTION_HEALTHCHECK_URL"}


def _settings_names() -> set[str]:
    return {f"STILLMOTION_{name.upper()}" for name in Settings.model_fields}


def _dockerfile_env() -> set[str]:
    return set(re.findall(r"\b(STILLMOTION_[A-Z0-9_]+)=", (REPO / "Dockerfile").read_text()))


@pytest.mark.parametrize("service", STILLMOTION)
def test_every_stillmotion_variable_is_a_setting(service: str) -> None:
    names = {name for name in SERVICES[service]["environment"] if name.startswith("STILLMOTION_")}
    assert names, "the stillmotion services are configured through STILLMOTION_* variables"
    assert names <= _settings_names(), names - _settings_names()


def test_the_dockerfile_sets_only_settings_or_its_healthcheck_url() -> None:
    assert _dockerfile_env() <= _settings_names() | IMAGE_ONLY


@pytest.mark.parametrize("service", STILLMOTION)
def test_every_command_parses(service: str) -> None:
    args = SERVICES[service]["command"]
    command = main.commands[args[0]]
    with click.Context(command) as ctx:
        command.parse_args(ctx, list(args[1:]))  # raises on an unknown option or a bad value


def test_the_api_is_published_where_its_healthcheck_looks() -> None:
    command = SERVICES["api"]["command"]
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert f"127.0.0.1:{port}:{port}" in SERVICES["api"]["ports"]
    assert f"ENV STILLMOTION_HEALTHCHECK_URL=http://127.0.0.1:{port}/healthz" in (REPO / "Dockerfile").read_text()
    # The API renders nothing; the workers do, and leave diffusion jobs to the GPU worker.
    assert command[command.index("--workers") + 1] == "0"
    assert SERVICES["worker"]["command"][-2:] == ["--engine", "live2d"]
    assert SERVICES["worker-gpu"]["command"][-2:] == ["--engine", "diffusion"]
    assert SERVICES["worker-gpu"]["profiles"] == ["gpu"]


def test_the_services_share_database_bucket_and_credentials() -> None:
    env = SERVICES["api"]["environment"]
    for service in STILLMOTION:
        assert SERVICES[service]["environment"].items() >= env.items(), service
        assert "stillmotion-data:/data" in SERVICES[service]["volumes"], service
    postgres = SERVICES["postgres"]["environment"]
    assert env["STILLMOTION_DATABASE_URL"] == (
        f"postgresql+psycopg://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    minio = SERVICES["minio"]["environment"]
    assert env["STILLMOTION_S3_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert env["STILLMOTION_S3_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    assert env["STILLMOTION_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert "127.0.0.1:9000:9000" in SERVICES["minio"]["ports"]
    assert env["STILLMOTION_S3_PUBLIC_ENDPOINT_URL"] == "http://localhost:9000"
    bucket = env["STILLMOTION_STORAGE_URL"].removeprefix("s3://").split("/")[0]
    assert f"mc mb --ignore-existing local/{bucket}" in SERVICES["minio-bucket"]["entrypoint"][-1]
