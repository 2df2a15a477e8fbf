"""Creates under hostile load: image URLs that trickle, a key that sends many creates at once, pixel bombs.

The app runs under uvicorn on a loopback port; a loopback server stands in for the image URLs (private URLs are
allowed for it). Every wait is bounded, and nothing asserts a speed: what is checked is who got an answer, what
the stand-in server saw, and how many pixels were decoded at once.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from PIL import Image, ImageFile

from stillmotion.api import minimax
from stillmotion.api.app import build_services, create_app
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.jobs import tenant_for_key
from support import OTHER_KEY, TEST_KEY, b64, make_image
from support_aiml import assert_aiml_error
from support_network import serving

SEED = "/v2/generate/video/minimax/generation"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_KEY}"}
PNG = make_image(400, 320)
WAIT_S = 10.0  # the longest any step of these tests waits for something that should happen


# ---- a stand-in image server ----


@dataclass
class ImageServer:
    """Serves `PNG` at any path. While `gate` is closed, each request sends its headers and then trickles a byte
    every 0.2 s without ever finishing (a tarpit); opening the gate sends the rest (or, with `cut`, drops the
    connection)."""

    base: str = ""
    requests: int = 0
    gate: threading.Event = field(default_factory=threading.Event)
    cut: bool = False
    _seen: threading.Condition = field(default_factory=threading.Condition)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}.png"

    def arrived(self) -> None:
        with self._seen:
            self.requests += 1
            self._seen.notify_all()

    def wait_for_requests(self, count: int) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: self.requests >= count, timeout=WAIT_S)


@contextmanager
def image_server() -> Iterator[ImageServer]:
    state = ImageServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.arrived()
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            sent = 0
            try:
                while not state.gate.wait(0.2):
                    if sent < len(PNG) - 1:
                        self.wfile.write(PNG[sent : sent + 1])
                        self.wfile.flush()
                        sent += 1
                if not state.cut:
                    self.wfile.write(PNG[sent:])
            except OSError:
                pass  # the fetcher gave up (its deadline): nothing to finish

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.gate.set()
        server.shutdown()
        server.server_close()


# ---- the app ----


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        api_keys=f"{TEST_KEY},{OTHER_KEY}",
        public_url="http://testserver",
        allow_private_urls=True,
        fetch_timeout_s=8.0,
        **overrides,
    )


def _small_default_pool(app: Any, *, tokens: int) -> Any:
    """`app` on an event loop whose shared thread pool (`/healthz`, the store's calls) has only `tokens` threads,
    so that a handful of blocked creates would be enough to starve it if they ran there."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = tokens
        await app(scope, receive, send)

    return wrapped


@contextmanager
def running(tmp_path: Path, *, pool_tokens: int | None = None, **overrides: Any) -> Iterator[tuple[str, Services]]:
    settings = _settings(tmp_path, **overrides)
    services = build_services(settings)
    app: Any = create_app(settings, services=services)
    if pool_tokens is not None:
        app = _small_default_pool(app, tokens=pool_tokens)
    try:
        with serving(app) as base:
            yield base, services
    finally:
        services.store.close()


def _create(base: str, image: str, *, auth: dict[str, str] = AUTH, timeout_s: float = 30.0) -> httpx.Response:
    body = {"model": "video-01-live2d", "prompt": "she smiles", "first_frame_image": image, "duration": 1.0}
    return httpx.post(base + SEED, json=body, headers=auth, timeout=timeout_s)


def _inline() -> str:
    return f"data:image/png;base64,{b64(PNG)}"


# ---- image downloads run on slots of their own ----


def test_creates_stuck_on_a_tarpit_url_leave_health_polls_and_other_keys_alone(tmp_path: Path) -> None:
    # 2 download slots; the shared pool gets 4 threads. Six creates of one key point at a tarpit: two download,
    # the other four are past the key's share (2 of 2 slots) and refused at once. Meanwhile `/healthz` (a thread
    # of the shared pool), a poll and another key's create with an inline image are answered.
    with (
        image_server() as tarpit,
        running(tmp_path, pool_tokens=4, fetch_slots=2, fetch_slots_per_key=8) as (base, services),
        ThreadPoolExecutor(max_workers=6) as pool,
    ):
        stuck = [pool.submit(_create, base, tarpit.url(f"slow-{n}")) for n in range(6)]
        assert tarpit.wait_for_requests(2), "the downloads never started"
        refused = _first_done(stuck, count=4)
        for future in refused:
            response = future.result()
            assert_aiml_error(response, 429, mentions=("image download(s)", "at most 2 at once"))
            assert response.headers["Retry-After"].isdigit()

        health = httpx.get(base + "/healthz", timeout=3.0)
        assert health.status_code == 200, health.text
        other = _create(base, _inline(), auth=OTHER_AUTH, timeout_s=5.0)
        assert other.status_code == 200, other.text
        poll = httpx.get(base + SEED, params={"generation_id": other.json()["generation_id"]}, headers=OTHER_AUTH,
                         timeout=3.0)
        assert poll.status_code == 200 and poll.json()["status"] == "queued", poll.text
        assert tarpit.requests == 2  # no refused create downloaded anything

        tarpit.gate.set()
        finished = [future.result(timeout=WAIT_S) for future in stuck if future not in refused]
    assert sorted(response.status_code for response in finished) == [200, 200]
    assert services.admission.network.held(tenant_for_key(TEST_KEY)) == 0


def _first_done(futures: list[Any], *, count: int) -> list[Any]:
    """The first `count` of `futures` to finish, waiting at most WAIT_S for them."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        done = [future for future in futures if future.done()]
        if len(done) >= count:
            return done[:count]
        time.sleep(0.02)
    raise AssertionError(f"only {sum(f.done() for f in futures)} of {len(futures)} creates were answered")


def test_a_key_past_its_share_of_download_slots_is_refused_while_another_key_gets_a_slot(tmp_path: Path) -> None:
    with (
        image_server() as tarpit,
        running(tmp_path, fetch_slots=4, fetch_slots_per_key=2) as (base, services),
        ThreadPoolExecutor(max_workers=4) as pool,
    ):
        first = [pool.submit(_create, base, tarpit.url(f"a-{n}")) for n in range(2)]
        assert tarpit.wait_for_requests(2)
        third = _create(base, tarpit.url("a-2"), timeout_s=5.0)
        assert_aiml_error(third, 429, mentions=("at most 2 at once",))
        other = pool.submit(_create, base, tarpit.url("b-0"), auth=OTHER_AUTH)
        assert tarpit.wait_for_requests(3), "another key's download found no slot"
        assert tarpit.requests == 3
        tarpit.gate.set()
        answers = [future.result(timeout=WAIT_S) for future in [*first, other]]
    assert [response.status_code for response in answers] == [200, 200, 200]
    assert services.store.count_unfinished(tenant_for_key(TEST_KEY)) == 2


def test_minimax_names_a_key_past_its_share_as_a_rate_limit(tmp_path: Path) -> None:
    with (
        image_server() as tarpit,
        running(tmp_path, fetch_slots=2, fetch_slots_per_key=1) as (base, _services),
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        body = {"model": "I2V-01-live", "prompt": "she smiles", "first_frame_image": tarpit.url("m-0")}
        first = pool.submit(httpx.post, base + minimax.CREATE_PATH, json=body, headers=AUTH, timeout=30.0)
        assert tarpit.wait_for_requests(1)
        second = httpx.post(base + minimax.CREATE_PATH, json={**body, "first_frame_image": tarpit.url("m-1")},
                            headers=AUTH, timeout=5.0)
        tarpit.gate.set()
        assert first.result(timeout=WAIT_S).json()["base_resp"]["status_code"] == 0
    assert second.status_code == 200
    assert second.json()["base_resp"]["status_code"] == minimax.RATE_LIMIT, second.text
    assert second.headers["Retry-After"].isdigit()


# ---- the unfinished-jobs cap is reserved before anything is downloaded ----


def test_ten_creates_of_a_key_capped_at_three_download_at_most_three_images(tmp_path: Path) -> None:
    with (
        image_server() as held,
        running(tmp_path, max_unfinished_jobs=3) as (base, services),
        ThreadPoolExecutor(max_workers=10) as pool,
    ):
        creates = [pool.submit(_create, base, held.url(f"c-{n}")) for n in range(10)]
        refused = _first_done(creates, count=7)  # the 7 without a place, while 3 hold theirs downloading
        held.wait_for_requests(3)
        assert held.requests <= 3
        for future in refused:
            assert_aiml_error(future.result(), 429, mentions=("the limit is 3",))
        held.gate.set()
        answers = [future.result(timeout=WAIT_S) for future in creates]
    assert sorted(response.status_code for response in answers) == [200] * 3 + [429] * 7
    assert held.requests == 3
    tenant = tenant_for_key(TEST_KEY)
    assert services.store.count_unfinished(tenant) == 3
    assert services.admission.unfinished.held(tenant) == 0


FAILURES_AFTER_RESERVING: dict[str, Callable[[str, str], httpx.Response]] = {
    "bad-image": lambda base, _url: _create(base, "data:image/png;base64," + b64(PNG[: len(PNG) // 2])),
    "unknown-model": lambda base, _url: httpx.post(
        base + SEED, json={"model": "nope", "prompt": "p", "first_frame_image": _inline()}, headers=AUTH
    ),
    "refused-callback": lambda base, _url: httpx.post(
        base + SEED,
        json={"model": "video-01-live2d", "prompt": "p", "first_frame_image": _inline(),
              "callback_url": "http://169.254.169.254/hook"},  # cloud metadata: refused whatever the settings
        headers=AUTH,
    ),
    "download-cut": lambda base, url: _create(base, url),
    "failed-handshake": lambda base, _url: httpx.post(
        base + minimax.CREATE_PATH,
        json={"model": "I2V-01-live", "prompt": "p", "first_frame_image": _inline(),
              "callback_url": base + "/healthz"},  # answers the handshake's POST with a 405
        headers=AUTH,
        timeout=10.0,
    ),
}


@pytest.mark.parametrize("name", list(FAILURES_AFTER_RESERVING))
def test_a_create_that_fails_after_reserving_gives_its_place_back(tmp_path: Path, name: str) -> None:
    with image_server() as cut, running(tmp_path, max_unfinished_jobs=1) as (base, services):
        cut.cut = True
        cut.gate.set()  # headers, then the connection drops: a truncated download
        failed = FAILURES_AFTER_RESERVING[name](base, cut.url("cut"))
        if name == "failed-handshake":
            assert failed.json()["base_resp"]["status_code"] == minimax.INVALID_PARAMS, failed.text
        else:
            assert failed.status_code == 400, failed.text
        tenant = tenant_for_key(TEST_KEY)
        assert services.admission.unfinished.held(tenant) == 0
        assert services.store.count_unfinished(tenant) == 0
        assert services.admission.network.held(tenant) == 0
        following = _create(base, _inline())
        assert following.status_code == 200, following.text


# ---- decodes: a bound on how many at once and on the pixels they hold ----


@dataclass
class LoadProbe:
    """Counts the image decodes (Pillow's `ImageFile.load`) running at once and the pixels they hold. Each decode
    waits (up to 5 s) until `expect` decodes run together or all `total` have started, so that decodes that are
    allowed to overlap do."""

    expect: int
    total: int
    running: int = 0
    pixels: int = 0
    most_running: int = 0
    most_pixels: int = 0
    loaded_sizes: list[tuple[int, int]] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_load = ImageFile.ImageFile.load
        probe = self

        def load(image: ImageFile.ImageFile) -> Any:
            if image.tile == []:  # already loaded: no decode
                return real_load(image)
            size = image.width * image.height
            with probe._lock:
                probe.running += 1
                probe.pixels += size
                probe.most_running = max(probe.most_running, probe.running)
                probe.most_pixels = max(probe.most_pixels, probe.pixels)
                probe.loaded_sizes.append(image.size)
                probe._lock.notify_all()
                probe._lock.wait_for(
                    lambda: probe.running >= probe.expect or len(probe.loaded_sizes) >= probe.total, timeout=5.0
                )
            try:
                return real_load(image)
            finally:
                with probe._lock:
                    probe.running -= 1
                    probe.pixels -= size

        monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def _openai_upload(base: str, image: bytes) -> httpx.Response:
    return httpx.post(
        base + "/v1/videos",
        data={"prompt": "she smiles"},
        files={"input_reference": ("frame.png", image, "image/png")},
        headers=AUTH,
        timeout=60.0,
    )


@pytest.mark.parametrize(
    ("decode_slots", "budget_megapixels", "most_at_once"),
    [(8, 0.5, 2), (1, 100.0, 1)],
    ids=["pixel-budget", "decode-slots"],
)
def test_parallel_uploads_decode_within_the_pixel_budget_and_the_decode_slots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decode_slots: int, budget_megapixels: float, most_at_once: int
) -> None:
    # Six 600x400 PNGs (0.24 megapixels each) uploaded at once: a budget of 0.5 megapixels holds two of them.
    probe = LoadProbe(expect=most_at_once, total=6)
    probe.install(monkeypatch)
    images = [make_image(600, 400, seed=seed) for seed in range(6)]
    with (
        running(tmp_path, decode_slots=decode_slots, decode_budget_megapixels=budget_megapixels) as (base, services),
        ThreadPoolExecutor(max_workers=6) as pool,
    ):
        answers = list(pool.map(lambda image: _openai_upload(base, image), images))
        assert services.admission.decodes.pixels_in_flight == 0
    assert [response.status_code for response in answers] == [200] * 6, [r.text for r in answers]
    assert probe.most_running == most_at_once
    assert probe.most_pixels <= max(budget_megapixels * 1e6, 600 * 400)


def test_an_image_larger_than_the_whole_budget_is_decoded_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = LoadProbe(expect=2, total=3)
    probe.install(monkeypatch)
    big, small = make_image(1000, 800), make_image(400, 320)
    with (
        running(tmp_path, decode_slots=4, decode_budget_megapixels=0.3) as (base, _services),
        ThreadPoolExecutor(max_workers=3) as pool,
    ):
        answers = list(pool.map(lambda image: _openai_upload(base, image), [big, small, small]))
    assert [response.status_code for response in answers] == [200] * 3
    assert probe.most_pixels <= 1000 * 800  # the big one never shared the budget with a small one


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Stored as sent (AI/ML API): decoding only proves the file whole, so an eighth of each side is enough.
    # Cropped to 1280x720 (OpenAI): the decode covers at least that.
    probe = LoadProbe(expect=1, total=2)
    probe.install(monkeypatch)
    photo = make_image(4000, 3000, fmt="JPEG")
    with running(tmp_path) as (base, services):
        seed = _create(base, "data:image/jpeg;base64," + b64(photo))
        openai = _openai_upload(base, photo)
        assert seed.status_code == 200 and openai.status_code == 200, (seed.text, openai.text)
        assert services.store.load_input(seed.json()["generation_id"]) == photo
        cropped = services.store.load_input(openai.json()["id"].removeprefix("video_"))
    assert probe.loaded_sizes == [(500, 375), (2000, 1500)]
    with Image.open(io.BytesIO(cropped)) as image:
        assert (image.format, image.size) == ("JPEG", (1280, 720))
