"""The `stillmotion` command line: help everywhere, keys, and a local render with no server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stillmotion.cli import main
from stillmotion.config import Settings
from stillmotion.domain import JobStatus
from stillmotion.jobs import JobStore
from stillmotion.media.video import probe_video
from support import job_spec, make_image


@pytest.mark.parametrize(
    "args",
    [[], ["serve"], ["worker"], ["generate"], ["keys"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"]],
)
def test_help_everywhere(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    runner = CliRunner()
    data_dir = str(tmp_path / "data")
    created = runner.invoke(main, ["keys", "create", "--name", "laptop", "--data-dir", data_dir])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("sm-")
    store = JobStore(Settings(data_dir=tmp_path / "data").resolved_database_url)
    assert store.tenant_for_stored_key(key) is not None

    listed = runner.invoke(main, ["keys", "list", "--data-dir", data_dir])
    assert "laptop" in listed.output
    assert key not in listed.output  # only a prefix is ever shown
    key_id = store.list_keys()[0].id

    revoked = runner.invoke(main, ["keys", "revoke", key_id, "--data-dir", data_dir])
    assert revoked.exit_code == 0, revoked.output
    assert store.tenant_for_stored_key(key) is None
    again = runner.invoke(main, ["keys", "revoke", key_id, "--data-dir", data_dir])
    assert again.exit_code == 1


def test_generate_renders_locally(tmp_path: Path) -> None:
    image = tmp_path / "portrait.png"
    image.write_bytes(make_image(512, 600))
    output = tmp_path / "out" / "clip.mp4"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stillmotion",
            "generate",
            str(image),
            "--prompt",
            "she breathes and juggles",
            "-o",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr
    # Under the result, what was drawn and what was not: the words it cannot draw are named, not dropped.
    assert "drew: " in result.stderr and "body.breathe" in result.stderr
    assert "not drawn:" in result.stderr and "juggles" in result.stderr
    info = probe_video(output)
    assert (info.width, info.height, info.frame_count, info.fps) == (720, 844, 150, 25)


def test_generate_refuses_a_bad_image_clearly(tmp_path: Path) -> None:
    image = tmp_path / "tiny.png"
    image.write_bytes(make_image(200, 200))
    result = CliRunner().invoke(main, ["generate", str(image), "--prompt", "x", "-o", str(tmp_path / "o.mp4")])
    assert result.exit_code == 2
    assert "300" in result.output
    assert not (tmp_path / "o.mp4").exists()


def test_a_worker_takes_only_the_engines_and_models_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STILLMOTION_WORKER_ENGINES", raising=False)
    monkeypatch.delenv("STILLMOTION_WORKER_MODELS", raising=False)
    data_dir = tmp_path / "data"
    store = JobStore(Settings(data_dir=data_dir).resolved_database_url)
    store.create_schema()
    job = store.create(job_spec("t", image=make_image(64, 64), image_width=64, image_height=64))
    runner = CliRunner()
    gpu_only = runner.invoke(main, ["worker", "--burst", "--engine", "diffusion", "--data-dir", str(data_dir)])
    assert gpu_only.exit_code == 0, gpu_only.output
    assert "ran 0 job(s)" in gpu_only.output
    assert store.get(job.id).status is JobStatus.QUEUED

    other_model = runner.invoke(main, ["worker", "--burst", "--model", "I2V-01-live", "--data-dir", str(data_dir)])
    assert other_model.exit_code == 0, other_model.output
    assert "ran 0 job(s)" in other_model.output  # the same engine, another model id
    unknown_model = runner.invoke(main, ["worker", "--burst", "--model", "wan9", "--data-dir", str(data_dir)])
    assert unknown_model.exit_code == 2 and "unknown model 'wan9'" in unknown_model.output

    monkeypatch.setenv("STILLMOTION_WORKER_ENGINES", "live2d, teleport")
    unknown = runner.invoke(main, ["worker", "--burst", "--data-dir", str(data_dir)])
    assert unknown.exit_code == 2
    assert "unknown engine 'teleport'" in unknown.output and "known: live2d, diffusion" in unknown.output
    assert store.get(job.id).status is JobStatus.QUEUED
    store.close()


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_start_up_waits_for_the_database_with_one_line_per_try(command: str, tmp_path: Path) -> None:
    # Nothing listens on port 1: each try is refused at once. The wait is bounded by STILLMOTION_DB_WAIT_S.
    env = {
        **os.environ,
        "STILLMOTION_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/test",
        "STILLMOTION_DB_WAIT_S": "2",
        "STILLMOTION_LOG_FORMAT": "text",
    }
    args = [sys.executable, "-m", "stillmotion", command, "--data-dir", str(tmp_path / "data")]
    if command == "serve":
        args += ["--port", "0"]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    tries = [line for line in result.stderr.splitlines() if "the database cannot be reached (" in line]
    assert len(tries) >= 2, result.stderr  # waited and tried again, one line each
    assert all("trying again in" in line for line in tries)
    assert result.stderr.strip().splitlines()[-1].startswith("Error: the database cannot be reached after ")


def test_a_setting_that_breaks_its_rule_is_one_error_line(tmp_path: Path) -> None:
    env = {**os.environ, "STILLMOTION_MIN_FREE_MB": "-1"}
    args = [sys.executable, "-m", "stillmotion", "worker", "--burst", "--data-dir", str(tmp_path / "data")]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: STILLMOTION_MIN_FREE_MB: Input should be greater than or equal to 0 (got '-1')"
    ]


def test_a_malformed_webhook_secret_is_one_error_line_that_does_not_show_it(tmp_path: Path) -> None:
    env = {**os.environ, "STILLMOTION_WEBHOOK_SECRET": "whsec_not base64!"}
    args = [sys.executable, "-m", "stillmotion", "worker", "--burst", "--data-dir", str(tmp_path / "data")]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: STILLMOTION_WEBHOOK_SECRET: Value error, `whsec_` must be followed by base64 (got a secret, not shown)"
    ]


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("STILLMOTION_STORAGE_URL", "s3://b", "Value error, its bucket 'b' must be 3 to 63 lower-case letters, digits, "
         "'.' or '-' (got 's3://b')"),
        ("STILLMOTION_STORAGE_URL", "https://bucket", "Value error, must start with s3:// (got 'https://bucket')"),
        ("STILLMOTION_S3_ENDPOINT_URL", "minio:9000", "Value error, must be an http(s) URL with a host, such as "
         "http://127.0.0.1:9000 (got 'minio:9000')"),
        ("STILLMOTION_S3_PUBLIC_ENDPOINT_URL", "localhost", "Value error, must be an http(s) URL with a host, such "
         "as http://127.0.0.1:9000 (got 'localhost')"),
    ],
)
def test_a_malformed_storage_setting_is_one_error_line(tmp_path: Path, variable: str, value: str, line: str) -> None:
    """Checked with the other settings before storage is opened (it was a traceback from boto or the URL parser)."""
    env = {**os.environ, "STILLMOTION_STORAGE_URL": "s3://bucket", variable: value}
    args = [sys.executable, "-m", "stillmotion", "worker", "--burst", "--data-dir", str(tmp_path / "data")]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [f"Error: {variable}: {line}"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--fps", "99"], "Invalid value for '--fps': must be from 12 to 30 (got 99)"),
        (["--fps", "5"], "Invalid value for '--fps': must be from 12 to 30 (got 5)"),
        (["--duration", "0"], "Invalid value for '--duration': must be from 1 to 12 seconds (got 0)"),
        (["--duration", "20"], "Invalid value for '--duration': must be from 1 to 12 seconds (got 20)"),
        (["--seed", "-1"], "Invalid value for '--seed': must be from 0 to 4294967295 (got -1)"),
        (["--prompt", "x" * 2001], "Invalid value for '--prompt': must be at most 2000 characters (got 2001)"),
        (["--prompt", "  "], "Invalid value for '--prompt': must not be blank"),
    ],
)
@pytest.mark.parametrize("remote", [False, True])
def test_generate_refuses_what_a_server_refuses_in_one_line(
    tmp_path: Path, option: list[str], message: str, remote: bool
) -> None:
    # The same bounds as the server's (`domain.options.check_render_options`), checked before any render or
    # request: a usage error, exit 2, one line naming the option; no traceback, no file.
    image = tmp_path / "in.png"
    image.write_bytes(make_image(64, 64))
    output = tmp_path / "o.mp4"
    args = ["generate", str(image), "--prompt", "she smiles", "-o", str(output), *option]
    if remote:
        args += ["--server", "http://127.0.0.1:9", "--api-key", "k"]  # nothing listens there: it is never asked
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and not output.exists()


def test_serve_on_a_busy_port_says_so_before_anything_else(tmp_path: Path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        data_dir = tmp_path / "data"
        result = CliRunner().invoke(
            main, ["serve", "--port", str(port), "--data-dir", str(data_dir), "--print-dev-key", "--workers", "0"]
        )
    assert result.exit_code == 1, result.output
    assert result.output.strip() == (
        f"Error: port {port} on 127.0.0.1 is in use by another program: stop it, or pass --port (or set "
        "STILLMOTION_PORT)"
    )
    assert not data_dir.exists()  # no database, no dev key made
