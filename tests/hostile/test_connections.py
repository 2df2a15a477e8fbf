"""Hostile connections against a real `stillmotion serve`: idle sockets, a client sending its headers a byte at a
time (slowloris), a body that trickles, hundreds of idle sockets against a low open-file limit, and connections
past the cap. Each bound is asserted generously (3x the configured time): the point is that the server ends
these connections at all, and that `/healthz` is still answered."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from support import TEST_KEY

pytestmark = pytest.mark.slow

KEEP_ALIVE_S = 1
CLIENT_TIMEOUT_S = 2.0
GENEROUS = 3.0


class Serve:
    """A `stillmotion serve` process (API only) on a free loopback port, with `env` added and optionally a lower
    open-file limit."""

    def __init__(self, data_dir: Path, *, env: dict[str, str], open_files: int | None = None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"serve-{self.port}.log"
        limit: Callable[[], None] | None = None
        if open_files is not None:
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))  # noqa: E731
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stillmotion", "serve", "--port", str(self.port), "--data-dir", str(data_dir),
                 "--workers", "0"],
                env={**os.environ, "STILLMOTION_API_KEYS": TEST_KEY, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=limit,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not become healthy")

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """A server with short idle and client timeouts."""
    server = Serve(
        tmp_path_factory.mktemp("strict") / "data",
        env={"STILLMOTION_KEEP_ALIVE_S": str(KEEP_ALIVE_S), "STILLMOTION_CLIENT_TIMEOUT_S": str(CLIENT_TIMEOUT_S)},
    )
    yield server
    server.stop()


def _until_closed(sock: socket.socket, *, within_s: float, feed: bytes = b"", every_s: float = 1.0) -> bytes | None:
    """What the server sent until it closed `sock` (None if it was still open after `within_s`), sending `feed`
    every `every_s` meanwhile."""
    received = b""
    deadline = time.monotonic() + within_s
    next_feed = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        if feed and time.monotonic() >= next_feed:
            try:
                sock.sendall(feed)
            except OSError:
                return received
            next_feed += every_s
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return received
        if not data:
            return received
        received += data
    return None


def test_an_idle_connection_is_closed(strict: Serve) -> None:
    with strict.connect() as sock:
        said = _until_closed(sock, within_s=GENEROUS * KEEP_ALIVE_S)
    assert said == b""  # closed, without a word: it never asked anything


def test_a_client_sending_its_headers_a_byte_a_second_is_cut_off(strict: Serve) -> None:
    with strict.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        said = _until_closed(sock, within_s=GENEROUS * CLIENT_TIMEOUT_S, feed=b"X", every_s=1.0)
    assert said is not None, "the slow client was not cut off"
    assert said.startswith(b"HTTP/1.1 408 ")


def test_a_body_that_trickles_is_cut_off(strict: Serve) -> None:
    with strict.connect() as sock:
        sock.sendall(
            b"POST /v1/videos HTTP/1.1\r\nHost: stillmotion\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {TEST_KEY}\r\nContent-Length: 100000\r\n\r\n".encode()
        )
        said = _until_closed(sock, within_s=GENEROUS * CLIENT_TIMEOUT_S, feed=b" ", every_s=0.5)
    assert said is not None, "the trickling body was not cut off"
    assert said.startswith(b"HTTP/1.1 408 ")


def test_a_prompt_client_is_served_as_before(strict: Serve) -> None:
    # Keep-alive between requests works as it did: two requests on one connection.
    with httpx.Client(base_url=strict.base, timeout=5) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz").status_code == 200


def test_hundreds_of_idle_sockets_do_not_starve_healthz(tmp_path: Path) -> None:
    # 300 idle sockets against a server allowed 256 open files: before the cap, accepting failed for want of
    # descriptors (and asyncio logged an error per waiting connection, every second) and /healthz was never
    # accepted. Long timeouts: here it is the cap that makes room, not the clock.
    server = Serve(
        tmp_path / "data", env={"STILLMOTION_KEEP_ALIVE_S": "60", "STILLMOTION_CLIENT_TIMEOUT_S": "60"}, open_files=256
    )
    try:
        with ExitStack() as stack:
            for _ in range(300):
                stack.enter_context(server.connect())
            answer = httpx.get(server.base + "/healthz", timeout=10)
            assert answer.status_code == 200
            assert answer.json() == {"status": "ok"}
    finally:
        log = server.stop()
    assert log.count("out of system resource") <= 10


def test_past_the_cap_requests_get_503_but_healthz_is_served(tmp_path: Path) -> None:
    server = Serve(tmp_path / "data", env={"STILLMOTION_MAX_CONNECTIONS": "8", "STILLMOTION_CLIENT_TIMEOUT_S": "60"})
    try:
        with ExitStack() as stack:
            # Eight uploads under way (their bodies still coming): none of them may be closed to make room.
            for _ in range(8):
                sock = stack.enter_context(server.connect())
                sock.sendall(
                    b"POST /v1/videos HTTP/1.1\r\nHost: stillmotion\r\nContent-Type: application/json\r\n"
                    + f"Authorization: Bearer {TEST_KEY}\r\nContent-Length: 100000\r\n\r\n{{".encode()
                )
            time.sleep(0.5)  # let the server take them in
            with httpx.Client(base_url=server.base, timeout=10) as client:
                refused = client.get("/v1/videos", headers={"Authorization": f"Bearer {TEST_KEY}"})
                assert refused.status_code == 503, refused.text
                assert refused.json()["error"]["type"] == "server_error"
                assert refused.headers["Retry-After"] == "1"
                assert refused.headers["Connection"] == "close"
            assert httpx.get(server.base + "/healthz", timeout=10).status_code == 200
    finally:
        server.stop()
