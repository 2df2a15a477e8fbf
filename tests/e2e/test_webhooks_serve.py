"""`stillmotion serve` delivers signed webhook events from its own dispatcher thread."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from stillmotion.webhooks import SIGNATURE_HEADER, verify
from support import TEST_KEY, Server, b64, make_image

SECRET = "e2e-webhook-secret-0123456789"

pytestmark = pytest.mark.slow


def test_serve_posts_signed_events_until_the_generation_completes(tmp_path: Path) -> None:
    received: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers[SIGNATURE_HEADER], body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    server = Server(
        tmp_path / "data",
        env={"STILLMOTION_ALLOW_PRIVATE_URLS": "true", "STILLMOTION_WEBHOOK_SECRET": SECRET},
    )
    try:
        body = {
            "model": "video-01-live2d",
            "prompt": "she smiles",
            "first_frame_image": b64(make_image(400, 320)),
            "duration": 1,
            "callback_url": f"http://127.0.0.1:{receiver.server_port}/hook",
        }
        created = httpx.post(
            server.base + "/v2/video/generations", json=body, headers={"Authorization": f"Bearer {TEST_KEY}"}
        )
        assert created.status_code == 200, created.text
        deadline = time.monotonic() + 60
        while not any(json.loads(b)["type"] == "generation.completed" for _, b in received):
            assert time.monotonic() < deadline, f"no completed event; got {[json.loads(b) for _, b in received]}"
            time.sleep(0.1)
    finally:
        server.stop()
        receiver.shutdown()
        receiver.server_close()
    types = [json.loads(body)["type"] for _, body in received]
    assert types[-1] == "generation.completed"
    assert set(types) <= {"generation.generating", "generation.completed"}
    assert all(verify(SECRET.encode(), body, header) for header, body in received)
    assert json.loads(received[-1][1])["generation"]["id"] == created.json()["id"]
