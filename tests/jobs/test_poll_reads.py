"""The status poll's read (`JobStore.get_on_loop`) gives what `get` gives, on SQLite and on PostgreSQL; on PostgreSQL
it answers polls that arrive together with one query, survives a dropped connection, and turns an unreachable
database into `DatabaseUnavailable` (a 503, not a 500)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from stillmotion.api.app import create_app
from stillmotion.config import Settings
from stillmotion.domain import JobNotFound, JobSpec
from stillmotion.jobs import DatabaseUnavailable, JobStore, tenant_for_key
from support import job_spec


def _spec(tenant: str) -> JobSpec:
    return job_spec(tenant, prompt="she waves", options={"duration": 3, "seed": 7})


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    job_store = JobStore(database_url)
    job_store.create_schema()
    yield job_store
    job_store.close()


def test_the_poll_read_equals_get_in_every_state(store: JobStore) -> None:
    assert store.polls_on_loop
    job = store.create(_spec("t_a"))

    async def read(tenant: str | None) -> object:
        return await store.get_on_loop(job.id, tenant=tenant)

    assert asyncio.run(read("t_a")) == store.get(job.id, tenant="t_a")
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    store.heartbeat(job.id, attempt=claim.attempt, lease_s=30, progress=0.5)
    assert asyncio.run(read(None)) == store.get(job.id)
    store.succeed(job.id, attempt=claim.attempt, media_key="videos/x.mp4", result={"width": 8, "frames": [1, 2]})
    finished = asyncio.run(read("t_a"))
    assert finished == store.get(job.id)
    with pytest.raises(JobNotFound):
        asyncio.run(read("t_other"))  # another tenant's job is not found
    with pytest.raises(JobNotFound):
        asyncio.run(store.get_on_loop("404", tenant="t_a"))


def test_a_connection_the_server_dropped_is_replaced(postgres_url: str) -> None:
    store = JobStore(postgres_url)
    store.create_schema()
    job = store.create(_spec("t_a"))
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")

    async def polls() -> None:
        assert (await store.get_on_loop(job.id)).id == job.id
        with admin.connect() as conn:  # what a server restart or an idle timeout does to the poll connections
            ended = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'stillmotion-poll' AND datname = current_database()"
                )
            ).scalar()
        assert ended == 1
        assert (await store.get_on_loop(job.id)).id == job.id

    try:
        asyncio.run(polls())
    finally:
        admin.dispose()
        store.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_database_is_a_503_in_the_dialects_shape(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=postgres_url, api_keys="k-poll")
    app = create_app(settings)
    store: JobStore = app.state.services.store
    job = store.create(_spec(tenant_for_key("k-poll")))
    unreachable = make_url(postgres_url).set(drivername="postgresql", port=_closed_port())
    store._async_reader._conninfo = unreachable.render_as_string(hide_password=False)  # type: ignore[union-attr]

    with pytest.raises(DatabaseUnavailable):
        asyncio.run(store.get_on_loop(job.id))
    with TestClient(app) as client:
        answer = client.get(
            "/v2/generate/video/minimax/generation",
            params={"generation_id": job.id},
            headers={"Authorization": "Bearer k-poll"},
        )
    store.close()
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "2"
    body = answer.json()  # the AI/ML error shape
    assert body["statusCode"] == 503
    assert "database is unavailable" in body["message"]


def test_polls_that_arrive_together_share_one_query_and_each_gets_its_own_answer(postgres_url: str) -> None:
    store = JobStore(postgres_url)
    store.create_schema()
    mine = [store.create(_spec("t_a")).id for _ in range(30)]
    theirs = [store.create(_spec("t_b")).id for _ in range(30)]
    reader = store._async_reader
    assert reader is not None
    queries: list[int] = []
    fetch = reader._fetch

    async def counted_fetch(job_ids: set[str]) -> dict[str, dict[str, Any]]:
        queries.append(len(job_ids))
        return await fetch(job_ids)

    reader._fetch = counted_fetch  # type: ignore[method-assign]

    async def burst() -> list[Any]:
        polls = [store.get_on_loop(job_id, tenant="t_a") for job_id in mine]
        polls += [store.get_on_loop(job_id, tenant="t_a") for job_id in theirs]  # not t_a's: not found
        polls += [store.get_on_loop("404"), store.get_on_loop(mine[0], tenant="t_a")]
        return await asyncio.gather(*polls, return_exceptions=True)

    try:
        answers = asyncio.run(burst())
    finally:
        store.close()
    assert [answer.id for answer in answers[:30]] == mine
    assert all(isinstance(answer, JobNotFound) for answer in answers[30:61])
    assert answers[61].id == mine[0]
    assert answers[61] is not answers[0] and answers[61] == answers[0]
    assert queries == [61]  # 62 polls, 61 distinct ids, one query


def test_a_database_that_stops_answering_fails_the_polls_after_the_timeout(postgres_url: str) -> None:
    store = JobStore(postgres_url)
    store.create_schema()
    job = store.create(_spec("t_a"))
    reader = store._async_reader
    assert reader is not None
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        reader._conninfo = make_url(postgres_url).set(drivername="postgresql", port=port).render_as_string(
            hide_password=False
        )
        reader._timeout_s = 0.5

        async def polls() -> list[Any]:
            return await asyncio.gather(*(store.get_on_loop(job.id) for _ in range(3)), return_exceptions=True)

        answers = asyncio.run(polls())  # without the timeout this would wait as long as TCP lets it
    store.close()
    assert all(isinstance(answer, DatabaseUnavailable) for answer in answers), answers
    assert "did not answer within 0.5 s" in str(answers[0])
