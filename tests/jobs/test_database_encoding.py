"""A PostgreSQL database in another encoding than UTF-8 still works: text goes both ways as UTF-8."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from conftest import POSTGRES_URL
from stillmotion.jobs import JobStore
from support import job_spec


@pytest.fixture
def sql_ascii_url(postgres_admin: sa.Engine) -> Iterator[str]:
    """A new SQL_ASCII database: what `initdb` makes where no locale is set (a bare container, say)."""
    name = f"sm_ascii_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(
            f"CREATE DATABASE \"{name}\" ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
        ))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_sql_ascii_database_is_migrated_and_keeps_non_ascii_text(sql_ascii_url: str) -> None:
    store = JobStore(sql_ascii_url, max_attempts=3, timeout_s=5.0)
    try:
        store.create_schema()  # failed at the first query: psycopg handed SQLAlchemy bytes for the server version
        prompt = "elle sourit, 她微笑, the wind blows 🌬"
        job = store.create(job_spec("tenant-a", prompt=prompt))
        assert store.get(job.id).prompt == prompt
    finally:
        store.close()
