"""A job database that stops answering: every route still answers, with a 503 and `Retry-After` in its dialect's
error shape, within the configured bound (`db_timeout_s`); `/healthz` answers within about a second.

"The database" here is a TCP server on loopback that accepts connections and never says a word (what a frozen
server, a paused VM or a proxy with a dead backend look like to a client), or a proxy in front of the real
PostgreSQL that goes silent while connections are open. The bounds are asserted generously (3x): the point is
that an answer comes, where before these requests waited for libpq's default of 130 s (or forever).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from stillmotion.api.app import build_services, create_app
from stillmotion.api.health import CHECK_TIMEOUT_S
from stillmotion.config import Settings
from stillmotion.jobs import DatabaseUnavailable, JobStore
from stillmotion.jobs.faults import WATCHDOG, connect_timeout_s
from support import TEST_KEY, b64, make_image
from support_aiml import assert_aiml_error

DB_TIMEOUT_S = 1.0
# A request waits at most for a connection attempt (libpq rounds its timeout up to 2 s) and one statement.
ANSWER_BOUND_S = connect_timeout_s(DB_TIMEOUT_S) + DB_TIMEOUT_S
GENEROUS = 3.0
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
STORED_KEY_AUTH = {"Authorization": "Bearer sk-a-key-only-the-database-knows"}
SEED = "/v2/generate/video/minimax/generation"


class SilentDatabase:
    """Accepts TCP connections on loopback and never sends a byte."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://stillmotion@127.0.0.1:{self.port}/jobs"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self._listener.close()
        for conn in self.accepted:
            conn.close()


class FreezableProxy:
    """Forwards TCP connections to `upstream` until `frozen` is set; from then on it swallows what either side
    sends, and new connections are accepted and left silent."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self.frozen = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(client)
            if self.frozen.is_set():
                continue
            upstream = socket.create_connection(self._upstream)
            self._sockets.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
                return
            if self.frozen.is_set():
                continue
            try:
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def silent_db() -> Iterator[SilentDatabase]:
    server = SilentDatabase()
    yield server
    server.close()


def _app(tmp_path: Path, url: str, *, create_schema: bool = False) -> tuple[TestClient, JobStore]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        api_keys=TEST_KEY,
        public_url="http://testserver",
        db_timeout_s=DB_TIMEOUT_S,
    )
    store = JobStore(url, timeout_s=DB_TIMEOUT_S)
    if create_schema:
        store.create_schema()
    return TestClient(create_app(settings, services=build_services(settings, store=store))), store


@pytest.fixture
def hung(tmp_path: Path, silent_db: SilentDatabase) -> Iterator[TestClient]:
    client, store = _app(tmp_path, silent_db.url)
    with client:
        yield client
    store.close()


def _timed(client: TestClient, method: str, path: str, **kwargs: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.request(method, path, **kwargs)
    return response, time.monotonic() - started


def _assert_unavailable_aiml(response: Any, waited_s: float) -> None:
    assert_aiml_error(response, 503, mentions=("database",))
    assert int(response.headers["Retry-After"]) > 0
    assert waited_s < GENEROUS * ANSWER_BOUND_S


def _assert_unavailable_openai(response: Any, waited_s: float) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["type"] == "server_error"
    assert "database" in response.json()["error"]["message"]
    assert int(response.headers["Retry-After"]) > 0
    assert waited_s < GENEROUS * ANSWER_BOUND_S


def _assert_unavailable_minimax(response: Any, waited_s: float) -> None:
    # MiniMax's error form: HTTP 200, a non-zero `base_resp` (1000: unknown error), and the Retry-After header.
    assert response.status_code == 200, response.text
    assert response.json()["base_resp"]["status_code"] == 1000
    assert "database" in response.json()["base_resp"]["status_msg"]
    assert int(response.headers["Retry-After"]) > 0
    assert waited_s < GENEROUS * ANSWER_BOUND_S


def test_a_status_poll_answers_503_with_retry_after(hung: TestClient) -> None:
    response, waited_s = _timed(hung, "GET", SEED, params={"generation_id": "123"}, headers=AUTH)
    _assert_unavailable_aiml(response, waited_s)


def test_a_create_answers_503_in_minimax_shape(hung: TestClient) -> None:
    body = {"model": "I2V-01-live", "prompt": "she smiles", "first_frame_image": b64(make_image(400, 600))}
    response, waited_s = _timed(hung, "POST", "/v1/video_generation", json=body, headers=AUTH)
    _assert_unavailable_minimax(response, waited_s)
    assert response.json()["task_id"] == ""


def test_a_list_answers_503_in_openai_shape(hung: TestClient) -> None:
    response, waited_s = _timed(hung, "GET", "/v1/videos", headers=AUTH)
    _assert_unavailable_openai(response, waited_s)


@pytest.mark.parametrize(
    ("path", "params", "check"),
    [
        (SEED, {"generation_id": "123"}, _assert_unavailable_aiml),
        ("/v1/query/video_generation", {"task_id": "123"}, _assert_unavailable_minimax),
        ("/v1/videos", {}, _assert_unavailable_openai),
    ],
)
def test_the_api_key_lookup_answers_503_in_each_dialect(
    hung: TestClient, path: str, params: dict[str, str], check: Any
) -> None:
    # Not one of the environment's keys: only the database can say whose it is.
    response, waited_s = _timed(hung, "GET", path, params=params, headers=STORED_KEY_AUTH)
    check(response, waited_s)


def test_healthz_answers_within_a_second_while_the_database_hangs(hung: TestClient) -> None:
    for _ in range(4):
        response, waited_s = _timed(hung, "GET", "/healthz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert response.json()["problems"][0].startswith("database: ")
        assert waited_s < CHECK_TIMEOUT_S + 1.0
    # The probes shared the ping under way instead of each starting one that hangs.
    pings = [thread for thread in threading.enumerate() if thread.name == "health-database"]
    assert len(pings) <= 1


def test_while_connections_fail_one_attempt_waits_and_the_others_fail_at_once(silent_db: SilentDatabase) -> None:
    store = JobStore(silent_db.url, timeout_s=DB_TIMEOUT_S)
    try:
        with pytest.raises(Exception, match="timeout"):
            store.ping()  # the first failure: the database is known to be unreachable from now on
        before = len(silent_db.accepted)
        outcomes: list[BaseException] = []
        start = threading.Barrier(10)

        def ping() -> None:
            start.wait()
            try:
                store.ping()
            except Exception as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=ping) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=GENEROUS * ANSWER_BOUND_S)
        assert len(outcomes) == 10
        refused_at_once = [exc for exc in outcomes if isinstance(exc, DatabaseUnavailable)]
        assert len(refused_at_once) >= 7
        assert len(silent_db.accepted) - before <= 3
    finally:
        store.close()


def test_a_database_that_stops_answering_on_open_connections_is_cut(tmp_path: Path, postgres_url: str) -> None:
    real = make_url(postgres_url)
    proxy = FreezableProxy((real.host or "127.0.0.1", real.port or 5432))
    url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    client, store = _app(tmp_path, url, create_schema=True)
    try:
        with client:
            # Open connections first: the list's pooled one, the key lookup's, and the polls' async one.
            assert client.get("/v1/videos", headers=AUTH).status_code == 200
            assert client.get("/v1/videos", headers=STORED_KEY_AUTH).status_code == 401
            assert client.get(SEED, params={"generation_id": "123"}, headers=AUTH).status_code == 404
            cut_before = WATCHDOG.cut
            proxy.frozen.set()
            # The watchdog cuts the pooled connection's ping; the fresh connection meets the connect timeout.
            bound_s = ANSWER_BOUND_S + DB_TIMEOUT_S + 1.0
            response, waited_s = _timed(client, "GET", "/v1/videos", headers=AUTH)
            assert response.status_code == 503, response.text
            assert waited_s < GENEROUS * bound_s
            assert WATCHDOG.cut > cut_before
            response, waited_s = _timed(client, "GET", SEED, params={"generation_id": "123"}, headers=AUTH)
            _assert_unavailable_aiml(response, waited_s)
            response, waited_s = _timed(client, "GET", "/healthz")
            assert response.status_code == 503
            assert waited_s < CHECK_TIMEOUT_S + 1.0
    finally:
        store.close()
        proxy.close()
