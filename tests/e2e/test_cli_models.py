"""`stillmotion models list|pull`, and a bad models file stopping `serve`/`worker` with one clear line.

`pull` downloads for real, from a small loopback server that answers the Hub endpoints `snapshot_download` uses
(repo info, tree listing, per-file HEAD and GET) for one repository."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from stillmotion.cli import main

REPO = "tiny-org/tiny-wan"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = {
    "model_index.json": b'{"_class_name": "WanImageToVideoPipeline"}\n',
    "transformer/config.json": b'{"num_layers": 1}\n',
    "transformer/diffusion_pytorch_model.safetensors": bytes(range(256)) * 16,
}
MODELS_TOML = f"""
[models.tiny-hub]
engine = "diffusion"
weights = "{REPO}"

[models.tiny-local]
engine = "diffusion"
weights = "./weights/tiny"

[models.tiny-gone]
engine = "diffusion"
weights = "./weights/nowhere"
"""


class _FakeHub(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []  # "METHOD /path" of every request, in order

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str], *, with_body: bool = True) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _answer(self, *, with_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        type(self).requests.append(f"{self.command} {path}")
        if path == f"/api/models/{REPO}/revision/main":
            info = {"id": REPO, "sha": COMMIT, "siblings": [{"rfilename": name} for name in FILES]}
            self._send(200, json.dumps(info).encode(), {"Content-Type": "application/json"}, with_body=with_body)
        elif path == f"/api/models/{REPO}/tree/{COMMIT}":
            tree = [{"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                    for name, data in FILES.items()]
            self._send(200, json.dumps(tree).encode(), {"Content-Type": "application/json"}, with_body=with_body)
        elif path.startswith(f"/{REPO}/resolve/{COMMIT}/") and path.split(f"{COMMIT}/", 1)[1] in FILES:
            data = FILES[path.split(f"{COMMIT}/", 1)[1]]
            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{hashlib.sha1(data).hexdigest()}"'}
            self._send(200, data, headers, with_body=with_body)
        else:
            self._send(404, b'{"error": "not found"}', {"X-Error-Code": "EntryNotFound"}, with_body=with_body)

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)


@pytest.fixture
def fake_hub() -> Iterator[str]:
    _FakeHub.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "weights" / "tiny").mkdir(parents=True)
    (data / "models.toml").write_text(MODELS_TOML)
    return data


def _stillmotion(
    *args: str, hub: str = "http://127.0.0.1:9", cache: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """The command in a fresh interpreter: huggingface_hub reads its environment once, when imported."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_", "STILLMOTION_"))},
        "HF_ENDPOINT": hub, "HF_HOME": str(cache / "home"), "HF_HUB_CACHE": str(cache / "hub"),
        "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_XET": "1", "HF_HUB_ETAG_TIMEOUT": "5",
        "HF_HUB_DOWNLOAD_TIMEOUT": "10", "COLUMNS": "200", **env,
    }
    return subprocess.run([sys.executable, "-m", "stillmotion", *args], capture_output=True, text=True, timeout=120,
                          env=environment)


@pytest.mark.parametrize("args", [["models"], ["models", "list"], ["models", "pull"]])
def test_help(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_list_shows_every_id_with_its_weights_and_whether_they_are_here(data_dir: Path, tmp_path: Path) -> None:
    result = _stillmotion("models", "list", "--data-dir", str(data_dir), cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in result.stdout.splitlines() if line.count("│") >= 5}
    assert rows["video-01-live2d"] == ["live2d", "-", "built in"]
    assert rows["tiny-hub"] == ["diffusion", REPO, "missing (run `stillmotion models pull`)"]
    assert rows["tiny-local"] == ["diffusion", str((data_dir / "weights" / "tiny").resolve()),
                                  "present (local directory)"]
    assert rows["tiny-gone"][2] == "missing (no such directory)"
    assert f"models file: {data_dir / 'models.toml'}" in result.stdout


def test_pull_downloads_a_hub_model_into_the_cache(data_dir: Path, tmp_path: Path, fake_hub: str) -> None:
    cache = tmp_path / "cache"
    result = _stillmotion("models", "pull", "tiny-hub", "--data-dir", str(data_dir), hub=fake_hub, cache=cache)
    assert result.returncode == 0, result.stderr
    snapshot = cache / "hub" / "models--tiny-org--tiny-wan" / "snapshots" / COMMIT
    assert f"weights in {snapshot}" in result.stderr.replace("\n", "")
    for name, data in FILES.items():
        assert (snapshot / name).read_bytes() == data
    assert f"GET /api/models/{REPO}/revision/main" in _FakeHub.requests

    # Now it is in the cache: `list` says so without asking the Hub.
    _FakeHub.requests.clear()
    listed = _stillmotion("models", "list", "--data-dir", str(data_dir), hub=fake_hub, cache=cache)
    assert "present (Hugging Face cache)" in listed.stdout
    assert _FakeHub.requests == []


def test_pull_offline_is_a_clear_error(data_dir: Path, tmp_path: Path, fake_hub: str) -> None:
    result = _stillmotion("models", "pull", "tiny-hub", "--data-dir", str(data_dir), hub=fake_hub,
                          cache=tmp_path / "cache", HF_HUB_OFFLINE="1")
    assert result.returncode == 1
    assert "Error: cannot pull tiny-org/tiny-wan: HF_HUB_OFFLINE is set" in result.stderr
    assert "Traceback" not in result.stderr
    assert _FakeHub.requests == []


def test_pull_of_an_unreachable_hub_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    result = _stillmotion("models", "pull", "tiny-hub", "--data-dir", str(data_dir), cache=tmp_path / "cache")
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error == ("Error: cannot pull tiny-org/tiny-wan: the Hub at http://127.0.0.1:9 cannot be reached "
                     "(ConnectError: [Errno 111] Connection refused)")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("model_id", "says"),
    [("tiny-local", "nothing to pull; its weights are the local directory"),
     ("video-01-live2d", "nothing to pull; the live2d engine is built in")],
)
def test_pull_of_a_model_without_hub_weights_has_nothing_to_do(data_dir: Path, model_id: str, says: str) -> None:
    result = CliRunner().invoke(main, ["models", "pull", model_id, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert says in result.output


def test_pull_of_an_unknown_id_names_the_known_ones(data_dir: Path) -> None:
    result = CliRunner().invoke(main, ["models", "pull", "wan-huge", "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "must be one of:" in result.output and "tiny-hub" in result.output


@pytest.mark.parametrize("command", [["worker", "--burst"], ["serve", "--port", "0"], ["models", "list"]])
def test_a_bad_models_file_stops_start_up_with_its_message(tmp_path: Path, command: list[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "models.toml").write_text('[models.wan]\nengine = "diffusion"\n')
    result = CliRunner().invoke(main, [*command, "--data-dir", str(data)])
    assert result.exit_code == 1
    assert f"Error: models file {data / 'models.toml'}: model 'wan': `weights` is required" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an uncaught error
