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
    assert revision == head_revision() == "0001"
    job = store.create(_spec())
    assert store.get(job.id).dialect == "aimlapi"
    store.close()


def test_an_empty_database_differs_from_the_models(database_url: str) -> None:
    # The comparison used above is able to see a difference: before migrating, every table is missing.
    diffs, revision = _diffs_and_revision(database_url)
    assert revision is None
    assert {diff[1].name for diff in diffs if diff[0] == "add_table"} == {"jobs", "job_inputs", "api_keys"}


def test_a_database_from_the_first_releases_is_adopted_with_its_jobs(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    legacy = _legacy_metadata()
    legacy.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            legacy.tables["jobs"].insert().values(
                id="100000000000000001", tenant="t_a", model="video-01-live2d", engine="live2d", prompt="old",
                prompt_optimizer=True, options={"duration": 6}, image_format="png", image_width=400,
                image_height=600, status="succeeded", progress=1.0, attempt=1, created_at=1.0e9,
                updated_at=1.0e9, media_key="videos/100000000000000001/1.mp4", result={"fps": 25},
            )
        )
    engine.dispose()
    before, _ = _diffs_and_revision(database_url)
    assert {diff[3].name for diff in before if diff[0] == "add_column"} >= {"dialect", "webhook_attempts"}

    store = JobStore(database_url)
    store.create_schema()
    diffs, revision = _diffs_and_revision(database_url)
    assert diffs == []
    assert revision == head_revision()
    old = store.get("100000000000000001")
    assert (old.status, old.prompt, old.dialect, old.result, old.callback_url) == (
        JobStatus.SUCCEEDED, "old", "aimlapi", {"fps": 25}, None,
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
