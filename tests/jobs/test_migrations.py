"""Alembic migrations: the migrated schema is exactly `schema.metadata`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from stillmotion.domain import JobSpec, JobStatus
from stillmotion.jobs import JobStore
from stillmotion.jobs.migrations import alembic_config, head_revision
from stillmotion.jobs.schema import metadata


def _spec() -> JobSpec:
    return JobSpec(
        tenant="t_a",
        model="video-01-live2d",
        engine="live2d",
        prompt="she smiles",
        image=b"\x89PNG fake bytes",
        image_format="png",
        image_width=400,
        image_height=600,
    )


def _diffs_and_revision(url: str) -> tuple[list[Any], str | None]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            return compare_metadata(context, metadata), context.get_current_revision()
    finally:
        engine.dispose()


def _legacy_metadata() -> sa.MetaData:
    """The tables as the first releases made them with `create_all`, before webhooks, dialects and idempotency."""
    legacy = sa.MetaData()
    jobs = sa.Table(
        "jobs",
        legacy,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("prompt_optimizer", sa.Boolean, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("image_format", sa.String(8), nullable=False),
        sa.Column("image_width", sa.Integer, nullable=False),
        sa.Column("image_height", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("worker_id", sa.String(64)),
        sa.Column("lease_expires_at", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("media_key", sa.String(255)),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error_message", sa.Text),
        sa.Column("result", sa.JSON, nullable=False),
    )
    sa.Index("ix_jobs_status_created", jobs.c.status, jobs.c.created_at)
    sa.Index("ix_jobs_tenant_created", jobs.c.tenant, jobs.c.created_at, jobs.c.id)
    sa.Table(
        "job_inputs",
        legacy,
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    sa.Table(
        "api_keys",
        legacy,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float),
    )
    return legacy


def test_a_new_database_is_migrated_to_exactly_the_models(database_url: str) -> None:
    store = JobStore(database_url)
    store.create_schema()
    store.create_schema()  # at head already: nothing to do, no error
    diffs, revision = _diffs_and_revision(database_url)
    assert diffs == []
    assert revision == head_revision() == "0002"
    job = store.create(_spec())
    assert store.get(job.id).dialect == "aimlapi"
    store.close()


def test_an_empty_database_differs_from_the_models(database_url: str) -> None:
    # The comparison used above is able to see a difference: before migrating, every table is missing.
    diffs, revision = _diffs_and_revision(database_url)
    assert revision is None
    added = {diff[1].name for diff in diffs if diff[0] == "add_table"}
    assert added == {"jobs", "job_inputs", "api_keys", "webhook_events"}


def test_a_database_from_the_first_releases_is_adopted_with_its_jobs(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    legacy = _legacy_metadata()
    legacy.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            legacy.tables["jobs"]
            .insert()
            .values(
                id="100000000000000001",
                tenant="t_a",
                model="video-01-live2d",
                engine="live2d",
                prompt="old",
                prompt_optimizer=True,
                options={"duration": 6},
                image_format="png",
                image_width=400,
                image_height=600,
                status="succeeded",
                progress=1.0,
                attempt=1,
                created_at=1.0e9,
                updated_at=1.0e9,
                media_key="videos/100000000000000001/1.mp4",
                result={"fps": 25},
            )
        )
    engine.dispose()
    before, _ = _diffs_and_revision(database_url)
    assert {diff[3].name for diff in before if diff[0] == "add_column"} >= {"dialect", "lost_runs"}

    store = JobStore(database_url)
    store.create_schema()
    diffs, revision = _diffs_and_revision(database_url)
    assert diffs == []
    assert revision == head_revision()
    old = store.get("100000000000000001")
    assert (old.status, old.prompt, old.dialect, old.result, old.callback_url) == (
        JobStatus.SUCCEEDED,
        "old",
        "aimlapi",
        {"fps": 25},
        None,
    )
    store.create(_spec())
    assert store.counts_by_status()[JobStatus.QUEUED] == 1
    store.close()


def test_a_database_made_by_create_all_of_todays_models_is_stamped(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    metadata.create_all(engine)
    engine.dispose()
    store = JobStore(database_url)
    job = store.create(_spec())
    store.create_schema()
    assert _diffs_and_revision(database_url) == ([], head_revision())
    assert store.get(job.id).prompt == "she smiles"
    store.close()


def test_processes_starting_at_once_migrate_once(database_url: str) -> None:
    barrier = threading.Barrier(5)
    errors: list[BaseException] = []

    def start() -> None:
        store = JobStore(database_url)  # its own engine and connections, as another process would have
        barrier.wait()
        try:
            store.create_schema()
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=start) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert _diffs_and_revision(database_url) == ([], head_revision())
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_the_initial_revision_downgrades_to_nothing_and_back(database_url: str) -> None:
    store = JobStore(database_url)
    store.create_schema()
    store.close()
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    with pytest.raises(sa.exc.SQLAlchemyError):
        JobStore(database_url).get("1")
    store = JobStore(database_url)
    store.create_schema()
    assert _diffs_and_revision(database_url) == ([], head_revision())
    store.close()


def _at_revision_0001(url: str) -> sa.Engine:
    """A database as the release before revision 0002 left it (`create_schema` stopped at 0001)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    return engine


def _old_job(job_id: str, status: str, **columns: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": job_id,
        "tenant": "t_a",
        "model": "video-01-live2d",
        "engine": "live2d",
        "prompt": status,
        "prompt_optimizer": True,
        "options": {},
        "image_format": "png",
        "image_width": 400,
        "image_height": 600,
        "status": status,
        "progress": 0.0,
        "attempt": 0,
        "created_at": 1.0e9,
        "updated_at": 1.0e9 + 1,
        "result": {},
        "dialect": "aimlapi",
        "callback_url": "https://hooks.example.com/x",
        "webhook_attempts": 0,
    }
    row.update(columns)
    return row


def test_a_database_of_the_previous_release_upgrades_with_jobs_in_every_status(database_url: str) -> None:
    engine = _at_revision_0001(database_url)
    old_jobs = sa.Table("jobs", sa.MetaData(), autoload_with=engine)
    inputs = sa.Table("job_inputs", sa.MetaData(), autoload_with=engine)
    rows = [
        _old_job("1", "queued"),
        _old_job("2", "queued", attempt=2),  # handed back twice by workers shutting down
        _old_job("3", "running", attempt=2, lease_expires_at=1.0e9, webhook_sent="running"),
        _old_job("4", "running", attempt=1, lease_expires_at=4.0e9),  # its `running` event still owed
        _old_job(
            "5",
            "succeeded",
            attempt=1,
            webhook_sent="running",
            webhook_attempts=2,
            webhook_next_at=5.0,
            media_key="videos/5/1.mp4",
            finished_at=1.0e9 + 1,
        ),
        _old_job("6", "failed", attempt=3, webhook_sent="failed", error_code="worker_lost"),
        _old_job("7", "cancelled", callback_url=None),
        _old_job("8", "expired", attempt=1, webhook_sent="expired"),
    ]
    with engine.begin() as conn:
        for row in rows:  # one by one: a batch would take every row's columns from the first
            conn.execute(old_jobs.insert().values(**row))
        conn.execute(inputs.insert(), [{"job_id": row["id"], "data": b"png"} for row in rows])
    engine.dispose()

    store = JobStore(database_url, max_attempts=3)
    store.create_schema()
    assert _diffs_and_revision(database_url) == ([], head_revision())
    found = {job_id: store.get(job_id) for job_id in "12345678"}
    assert [found[job_id].status.value for job_id in "12345678"] == [row["status"] for row in rows]
    # Drains no longer count: only the runs before a running job's current one were lost.
    assert {job_id: job.lost_runs for job_id, job in found.items()} == {
        "1": 0,
        "2": 0,
        "3": 1,
        "4": 0,
        "5": 0,
        "6": 0,
        "7": 0,
        "8": 0,
    }
    # Owed statuses became pending events, with their failed attempts so far; sent ones owe nothing.
    assert store.webhooks.events("4") == [(JobStatus.RUNNING, "pending", 0)]
    assert store.webhooks.events("5") == [(JobStatus.SUCCEEDED, "pending", 2)]
    assert [store.webhooks.events(job_id) for job_id in "123678"] == [[]] * 6
    # The jobs go on: the oldest queued job is claimed, then the one handed back twice, then the lost run,
    # which is now its second lost run of three.
    claims = [store.claim(worker_id="w", lease_s=30) for _ in range(3)]
    assert [(claim.job.id, claim.attempt, claim.job.lost_runs) for claim in claims if claim] == [
        ("1", 1, 0),
        ("2", 3, 0),
        ("3", 3, 2),
    ]
    store.close()


def test_revision_0002_downgrades_to_0001_and_back(database_url: str) -> None:
    store = JobStore(database_url)
    store.create_schema()
    job = store.create(_spec_with_callback())
    claim = store.claim(worker_id="w", lease_s=30)
    assert claim is not None
    store.succeed(job.id, attempt=claim.attempt, media_key="videos/x.mp4", result={})
    [running] = store.webhooks.due()  # `succeeded` waits behind it
    store.webhooks.delivered(running.event_id)
    store.close()
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
        sent = conn.execute(sa.text("SELECT webhook_sent FROM jobs WHERE id = :id"), {"id": job.id}).scalar()
    engine.dispose()
    assert sent is None  # `succeeded` was still owed, and the old columns say so
    store = JobStore(database_url)
    store.create_schema()
    assert _diffs_and_revision(database_url) == ([], head_revision())
    assert store.webhooks.events(job.id) == [(JobStatus.SUCCEEDED, "pending", 0)]
    store.close()


def _spec_with_callback() -> JobSpec:
    spec = _spec()
    return JobSpec(**{**spec.__dict__, "callback_url": "https://hooks.example.com/x"})


def test_the_migration_log_says_the_ddl_is_transactional(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # As it is on both databases (the whole upgrade runs in one transaction); Alembic's own guess for SQLite logged
    # "Will assume non-transactional DDL", against what the README says.
    with caplog.at_level("INFO", logger="alembic.runtime.migration"):
        store = JobStore(database_url)
        store.create_schema()
        store.close()
    said = [record.getMessage() for record in caplog.records if "DDL" in record.getMessage()]
    assert said and set(said) == {"Will assume transactional DDL."}, said
