"""`stillmotion.AsyncClient`: the same contract as `Client`, awaited; end to end against `stillmotion serve`
and against a scripted peer."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from client.scripted import BASE, PATH, BreaksMidBody, Script, aiml_error, poll
from stillmotion import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Generation,
    GenerationFailed,
    NotFoundError,
    NotSupported,
    WaitTimeout,
)
from stillmotion.media.video import probe_video
from support import TEST_KEY, Server, make_image


def run(test: Callable[[], Awaitable[None]]) -> None:
    anyio.run(test)


def scripted_client(script: Script, **options: Any) -> AsyncClient:
    options.setdefault("retry_backoff_s", 0.0)
    return AsyncClient(BASE, "k-1", transport=script.async_transport(), **options)


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "portrait.png"
    path.write_bytes(make_image(400, 520))
    return path


def test_create_sends_the_hosted_body_and_extensions_only_when_given(png: Path) -> None:
    script = Script(*[httpx.Response(200, json={"generation_id": str(i), "status": "queued"}) for i in range(2)])

    async def scenario() -> None:
        async with scripted_client(script) as client:
            assert (await client.create(png, "she smiles")).id == "0"
            await client.create(png.read_bytes(), "she smiles", fps=12, loop=True)

    run(scenario)
    plain, extended = script.json_of(0), script.json_of(1)
    assert set(plain) == {"model", "prompt", "prompt_optimizer", "first_frame_image"}
    assert script.requests[0].url.path == PATH
    assert base64.b64decode(plain["first_frame_image"].partition(",")[2]) == png.read_bytes()
    assert (extended["fps"], extended["loop"]) == (12, True)
    assert "duration" not in extended and "seed" not in extended


def test_get_retries_transient_failures_but_create_only_with_a_key(png: Path) -> None:
    script = Script(
        httpx.RemoteProtocolError("server disconnected"),
        aiml_error(504, "gateway timeout"),
        poll("generating", progress=50),
        aiml_error(502, "bad gateway"),
        aiml_error(502, "bad gateway"),
        httpx.Response(200, json={"generation_id": "5", "status": "queued"}),
    )

    async def scenario() -> None:
        async with scripted_client(script) as client:
            assert (await client.get("42")).progress == 50
            with pytest.raises(ApiError) as caught:
                await client.create(png, "x")
            assert caught.value.status_code == 502
            assert (await client.create(png, "x", idempotency_key="k-7")).id == "5"

    run(scenario)
    assert [r.method for r in script.requests] == ["GET"] * 3 + ["POST"] * 3


def test_timeouts_raise_a_timeout_error_after_the_retries() -> None:
    script = Script(httpx.ReadTimeout("timed out"), httpx.ReadTimeout("timed out"))

    async def scenario() -> None:
        async with scripted_client(script, max_retries=1) as client:
            with pytest.raises(ApiTimeoutError) as caught:
                await client.get("42")
            assert isinstance(caught.value, TimeoutError)

    run(scenario)
    assert len(script.requests) == 2


def test_errors_are_typed() -> None:
    script = Script(aiml_error(401, "the API key is not valid"), aiml_error(422, "`seed` must be an integer"))

    async def scenario() -> None:
        async with scripted_client(script) as client:
            with pytest.raises(AuthenticationError, match="not valid"):
                await client.get("1")
            with pytest.raises(BadRequestError) as bad:
                await client.get("1")
            assert bad.value.message == "`seed` must be an integer"

    run(scenario)


def test_wait_awaits_async_callbacks_fails_and_times_out() -> None:
    script = Script(
        poll("queued", progress=0),
        poll("generating", progress=70),
        poll("completed", progress=100, url="http://sm.test/v.mp4"),
        poll("error", error={"name": "render_failed", "message": "no frames"}),
        *[poll("queued", progress=0) for _ in range(500)],
    )
    seen: list[tuple[str, int | None]] = []

    async def record(generation: Generation) -> None:
        await anyio.sleep(0)
        seen.append((generation.status, generation.progress))

    async def scenario() -> None:
        async with scripted_client(script) as client:
            done = await client.wait("42", on_progress=record, poll_interval_s=0.001)
            assert done.video_url == "http://sm.test/v.mp4"
            with pytest.raises(GenerationFailed, match="no frames"):
                await client.wait("42", poll_interval_s=0.001)
            with pytest.raises(WaitTimeout):
                await client.wait("42", poll_interval_s=0.01, timeout_s=0.05)

    run(scenario)
    assert seen == [("queued", 0), ("generating", 70), ("completed", 100)]


def test_cancel_without_the_route_and_atomic_download(tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    script = Script(
        httpx.Response(405, json={"message": "Method Not Allowed"}),
        httpx.Response(200, stream=BreaksMidBody(b"partial")),
        httpx.Response(200, stream=BreaksMidBody(b"partial")),
        httpx.Response(200, content=b"whole video"),
    )

    async def scenario() -> None:
        async with scripted_client(script, max_retries=0) as client:
            with pytest.raises(NotSupported):
                await client.cancel("42")
            with pytest.raises(ApiConnectionError):
                await client.download("http://sm.test/media/v.mp4", target)
        assert list(tmp_path.iterdir()) == []
        async with scripted_client(script, max_retries=1) as client:
            await client.download("http://sm.test/media/v.mp4", target)

    run(scenario)
    assert target.read_bytes() == b"whole video"
    assert list(tmp_path.iterdir()) == [target]


# -- end to end against `stillmotion serve` ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("async-sdk") / "data")
    yield running
    running.stop()


@pytest.mark.slow
def test_generate_end_to_end_with_rising_progress(server: Server, png: Path, tmp_path: Path) -> None:
    seen: list[Generation] = []

    async def scenario() -> Generation:
        async with AsyncClient(server.base, TEST_KEY) as client:
            return await client.generate(
                png, "she looks left", tmp_path / "clip.mp4", duration_s=1, fps=20,
                on_progress=seen.append, poll_interval_s=0.05, timeout_s=120,
            )

    done = anyio.run(scenario)
    assert done.status == "completed"
    info = probe_video(tmp_path / "clip.mp4")
    assert (info.frame_count, info.fps) == (20, 20)
    progress = [g.progress for g in seen if g.progress is not None]
    assert progress == sorted(progress) and progress[0] < progress[-1] == 100, progress


@pytest.mark.slow
def test_cancel_and_errors_end_to_end(server: Server, png: Path) -> None:
    async def scenario() -> None:
        async with AsyncClient(server.base, TEST_KEY) as client:
            created = await client.create(png, "she breathes", duration_s=10, fps=30)
            cancelled = await client.cancel(created.id)
            assert cancelled.error is not None and cancelled.error.name == "cancelled"
            with pytest.raises(BadRequestError, match="duration"):
                await client.create(png, "x", duration_s=60)
            with pytest.raises(NotFoundError):
                await client.get("123456789")
        async with AsyncClient(server.base, "wrong-key") as client:
            with pytest.raises(AuthenticationError):
                await client.get(created.id)

    run(scenario)
