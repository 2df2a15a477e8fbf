"""HEAD wherever GET is served: the same status and headers as the GET, no body (a 405 before)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from stillmotion.api.aimlapi import GENERATION_PATH
from stillmotion.api.app import build_services, create_app
from stillmotion.config import Settings
from stillmotion.jobs import tenant_for_key
from support import TEST_KEY, job_spec

AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40  # stands in for a stored clip: only bytes are served


@pytest.fixture(params=[True, False], ids=["hot-polls", "routed-polls"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    settings = Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY, public_url="http://testserver")
    services = build_services(settings)
    source = tmp_path / "clip.mp4"
    source.write_bytes(VIDEO)
    services.storage.put_file("videos/x.mp4", source)
    job = services.store.create(job_spec(tenant_for_key(TEST_KEY)))
    claim = services.store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    services.store.succeed(job.id, attempt=claim.attempt, media_key="videos/x.mp4", result={"duration_s": 2.0})
    app = create_app(settings, services=services, hot_polls=request.param)
    with TestClient(app) as client:
        yield client, job.id
    services.store.close()


def _same_but_empty(client: TestClient, url: str) -> None:
    got = client.get(url, headers=AUTH)
    head = client.head(url, headers=AUTH)
    assert head.status_code == got.status_code != 405, (url, head.status_code, got.status_code)
    assert head.content == b"", url
    for name in ("content-type", "content-length"):
        assert head.headers.get(name) == got.headers.get(name), (url, name)


def test_head_is_answered_like_get_without_the_body(world: tuple[TestClient, str]) -> None:
    client, job_id = world
    poll = client.get(f"{GENERATION_PATH}?generation_id={job_id}", headers=AUTH).json()
    link = urlsplit(poll["video"]["url"])
    for url in (
        "/healthz",
        f"{GENERATION_PATH}?generation_id={job_id}",
        f"/v1/videos/{job_id}",
        f"/v1/videos/{job_id}/content",
        f"{link.path}?{link.query}",
        "/",
    ):
        _same_but_empty(client, url)
    assert int(client.head(f"{link.path}?{link.query}").headers["content-length"]) == len(VIDEO)


def test_head_on_an_unknown_path_is_not_found_like_get(world: tuple[TestClient, str]) -> None:
    client, _ = world
    assert client.head("/v1/no-such-thing", headers=AUTH).status_code == 404
    assert client.get("/v1/no-such-thing", headers=AUTH).status_code == 404


def test_head_on_a_video_does_not_read_it(world: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # A monitor checking links must not cost a full read of every clip.
    client, job_id = world
    poll = client.get(f"{GENERATION_PATH}?generation_id={job_id}", headers=AUTH).json()
    link = urlsplit(poll["video"]["url"])
    opened: list[str] = []
    real_open = Path.open

    def watched_open(path: Path, *args: object, **kwargs: object) -> object:
        opened.append(path.name)
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    import anyio

    real_open_file = anyio.open_file

    async def watched_open_file(file: object, *args: object, **kwargs: object) -> object:
        opened.append(Path(str(file)).name)
        return await real_open_file(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", watched_open)
    monkeypatch.setattr(anyio, "open_file", watched_open_file)
    for url in (f"{link.path}?{link.query}", f"/v1/videos/{job_id}/content"):
        head = client.head(url, headers=AUTH)
        assert head.status_code == 200 and int(head.headers["content-length"]) == len(VIDEO), url
    assert "x.mp4" not in opened
    client.get(f"/v1/videos/{job_id}/content", headers=AUTH)
    assert "x.mp4" in opened  # the watch sees a real read
