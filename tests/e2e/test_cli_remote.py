"""`stillmotion generate --server`: a render on a running server through the SDK, with the same options as the
local mode, one clear line on any failure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from stillmotion import Client
from stillmotion.cli import main
from stillmotion.media.video import probe_video
from support import TEST_KEY, Server, make_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("cli-remote") / "data")
    yield running
    running.stop()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "portrait.png"
    path.write_bytes(make_image(400, 520))
    return path


def _generate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stillmotion", "generate", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_generate_on_a_server_writes_the_video(server: Server, image: Path, tmp_path: Path) -> None:
    output = tmp_path / "out" / "clip.mp4"
    result = _generate(
        str(image), "-p", "she nods", "-o", str(output), "--server", server.base, "--api-key", TEST_KEY,
        "--duration", "1", "--fps", "12", "--seed", "5", "--no-prompt-optimizer",
    )
    assert result.returncode == 0, result.stderr
    info = probe_video(output)
    assert (info.frame_count, info.fps, info.codec) == (12, 12, "h264")
    # Without a terminal there is no bar: one line per status, then where the video went.
    lines = result.stderr.strip().splitlines()
    generation_id = lines[0].split(":")[0]
    assert [line.split(": ")[1] for line in lines[:-2]][-1] == "completed"
    assert lines[-2].startswith(f"wrote {output}")
    assert lines[-1] == "drew: head.nod"  # then what the engine drew, from the SDK's typed plan
    # --no-prompt-optimizer reached the server: the plan holds only what the prompt asked for.
    with Client(server.base, TEST_KEY) as client:
        tracks = client.get(generation_id).raw["motion_plan"]["tracks"]
    assert tracks and all(track["source"] != "optimizer" for track in tracks)


def test_the_key_comes_from_the_environment_and_a_wrong_one_is_one_line(
    server: Server, image: Path, tmp_path: Path
) -> None:
    output = tmp_path / "clip.mp4"
    result = CliRunner().invoke(
        main, ["generate", str(image), "-p", "x", "-o", str(output), "--server", server.base],
        env={"STILLMOTION_API_KEY": "not-a-key"},
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["error: HTTP 401: the API key is not valid"]
    assert not output.exists()


def test_bad_values_and_bad_models_are_named(server: Server, image: Path, tmp_path: Path) -> None:
    common = ["generate", str(image), "-p", "x", "-o", str(tmp_path / "o.mp4"), "--server", server.base,
              "--api-key", TEST_KEY]
    # Out of the bounds every server holds to: refused before anything is sent, as a usage error.
    too_fast = CliRunner().invoke(main, [*common, "--fps", "99"])
    assert too_fast.exit_code == 2
    assert "Invalid value for '--fps': must be from 12 to 30 (got 99)" in too_fast.output
    # What only the server knows (its models) is its answer, in one line.
    unknown = CliRunner().invoke(main, [*common, "--model", "no-such-model"])
    assert unknown.exit_code == 1
    assert "`model`" in unknown.output and "no-such-model" in unknown.output
    assert len(unknown.output.strip().splitlines()) == 1


def test_usage_errors_exit_2(image: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = str(tmp_path / "o.mp4")
    no_key = runner.invoke(main, ["generate", str(image), "-p", "x", "-o", out, "--server", "http://127.0.0.1:9"],
                           env={"STILLMOTION_API_KEY": ""})
    assert no_key.exit_code == 2
    assert "STILLMOTION_API_KEY" in no_key.output
    missing = runner.invoke(main, ["generate", str(tmp_path / "nope.png"), "-p", "x", "-o", out, "--server",
                                   "http://127.0.0.1:9", "--api-key", "k"])
    assert missing.exit_code == 2
    assert "nope.png" in missing.output


def test_an_unreachable_server_is_one_line(image: Path, tmp_path: Path) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as probe:
        port = probe.server_address[1]  # a port that was just free; nothing listens once the probe closes
    result = CliRunner().invoke(
        main, ["generate", str(image), "-p", "x", "-o", str(tmp_path / "o.mp4"),
               "--server", f"http://127.0.0.1:{port}", "--api-key", "k"],
    )
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"error: could not talk to http://127.0.0.1:{port}: "), line


class _HostedLikeApi(BaseHTTPRequestHandler):
    """The hosted API's documented wire and nothing more: no `progress`, no extensions, a CDN-style link."""

    bodies: list[dict[str, Any]] = []  # noqa: RUF012 (one scripted peer per test run)
    polls = 0

    def _json(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self._json(200, {"generation_id": "288439434137694", "status": "queued"})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/cdn/output.mp4":
            self.send_response(200)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"mp4 bytes")
            return
        assert parse_qs(url.query)["generation_id"] == ["288439434137694"]
        type(self).polls += 1
        if type(self).polls < 3:
            self._json(200, {"id": "288439434137694", "status": "generating", "video": None})
        else:
            host = self.headers["Host"]
            self._json(200, {"id": "288439434137694", "status": "completed",
                             "video": {"url": f"http://{host}/cdn/output.mp4?Expires=1&Signature=x"}})

    def log_message(self, *_: Any) -> None:
        pass


def test_against_a_hosted_style_server_the_status_stands_in_for_progress(image: Path, tmp_path: Path) -> None:
    _HostedLikeApi.bodies, _HostedLikeApi.polls = [], 0
    peer = ThreadingHTTPServer(("127.0.0.1", 0), _HostedLikeApi)
    thread = threading.Thread(target=peer.serve_forever, daemon=True)
    thread.start()
    output = tmp_path / "hosted.mp4"
    try:
        result = CliRunner().invoke(
            main,
            ["generate", str(image), "-p", "she smiles", "-o", str(output), "--model", "video-01-live2d",
             "--server", f"http://127.0.0.1:{peer.server_address[1]}/v2", "--api-key", "hosted-key"],
        )
    finally:
        peer.shutdown()
        peer.server_close()
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == b"mp4 bytes"
    assert "288439434137694: generating" in result.output
    (body,) = _HostedLikeApi.bodies
    assert set(body) == {"model", "prompt", "prompt_optimizer", "first_frame_image"}
    assert (body["model"], body["prompt"], body["prompt_optimizer"]) == ("video-01-live2d", "she smiles", True)


def test_ctrl_c_cancels_the_generation_on_the_server(server: Server, image: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "stillmotion", "generate", str(image), "-p", "she breathes", "-o",
         str(tmp_path / "o.mp4"), "--server", server.base, "--api-key", TEST_KEY, "--duration", "10"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    first = process.stderr.readline()  # "<id>: queued": the generation exists on the server
    generation_id = first.split(":")[0]
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=60)[1]
    assert process.returncode == 130, first + rest
    assert f"cancelled generation {generation_id}" in rest
    with Client(server.base, TEST_KEY) as client:
        generation = client.get(generation_id)
    assert generation.error is not None and generation.error.name == "cancelled"
    assert not (tmp_path / "o.mp4").exists()
