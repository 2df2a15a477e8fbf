"""Schema migrations with Alembic, run from code: no `alembic.ini` on disk, the scripts ship in this package.

`upgrade_to_head(engine)` is what `JobStore.create_schema()` does on every start of `serve` and `worker`. It is
safe when several processes start at once: on PostgreSQL the whole upgrade runs in one transaction holding a
transaction-scoped advisory lock, on SQLite in one `BEGIN IMMEDIATE` transaction (SQLite's write lock); a
process that waited finds the schema at head and does nothing. Both back ends apply DDL transactionally, so a
crash mid-upgrade leaves the previous schema, never half of the next one.

A database made before migrations existed (`metadata.create_all`: tables, no `alembic_version`) is adopted:
the columns and indexes added since then are created, and it is stamped with the first revision.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

__all__ = ["alembic_config", "head_revision", "upgrade_to_head"]

# Key of the PostgreSQL advisory lock taken around upgrades (any constant bigint; "stillmo" in ASCII).
MIGRATION_LOCK_KEY = 0x7374696C6C6D6F

# The revision that describes the schema `metadata.create_all` produced before migrations existed.
_BASELINE = "0001"
# SQLite's DDL is transactional, as PostgreSQL's is; Alembic assumes it is not (see env.py).
_OPTS = {"transactional_ddl": True}


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic `Config` built in code; `env.py` runs its migrations on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parent))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migration scripts found")
    return head


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database to the newest revision (a no-op when it is there already)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            # Released by the COMMIT (or ROLLBACK) below; concurrent starters queue here.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            current = MigrationContext.configure(conn, opts=_OPTS).get_current_revision()
            if current != head_revision():
                adopted = _adopt_legacy(conn) if current is None else None
                if adopted is not None:
                    command.stamp(alembic_config(conn), adopted)
                command.upgrade(alembic_config(conn), "head")
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


# What revision 0001 added to the tables of the first releases, which made them with `create_all`. A frozen
# list, like a revision: it describes those releases, not today's models.
def _baseline_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("dialect", sa.String(16), nullable=False, server_default="aimlapi"),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("webhook_sent", sa.String(16), nullable=True),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("webhook_next_at", sa.Float(), nullable=True),
        sa.Column("webhook_error", sa.Text(), nullable=True),
    ]


_BASELINE_INDEXES: dict[str, tuple[list[str], bool]] = {
    "ix_jobs_status_created": (["status", "created_at"], False),
    "ix_jobs_tenant_created": (["tenant", "created_at", "id"], False),
    "ux_jobs_tenant_idempotency": (["tenant", "idempotency_key"], True),
    "ix_jobs_webhook_due": (["callback_url", "webhook_next_at"], False),
}

_BASELINE_TABLES = ("jobs", "job_inputs", "api_keys")


def _adopt_legacy(conn: Connection) -> str | None:
    """The revision a database made without migrations (`create_all`) stands at, once brought up to it: a
    pre-migration database gets what revision 0001 added; None if there is nothing to adopt (a new database)."""
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    present = tables & set(_BASELINE_TABLES)
    if not present:
        return None
    if "webhook_events" in tables:
        return "0002"  # `create_all` of the models as revision 0002 left them
    if present != set(_BASELINE_TABLES):
        raise RuntimeError(
            f"cannot adopt this database: it has the tables {sorted(present)} but not all of {list(_BASELINE_TABLES)}"
        )
    ops = Operations(MigrationContext.configure(conn, opts=_OPTS))
    columns = {column["name"] for column in inspector.get_columns("jobs")}
    for column in _baseline_columns():
        if column.name not in columns:
            ops.add_column("jobs", column)
    indexes = {index["name"] for index in inspector.get_indexes("jobs")}
    for name, (index_columns, unique) in _BASELINE_INDEXES.items():
        if name not in indexes:
            ops.create_index(name, "jobs", index_columns, unique=unique)
    return _BASELINE
