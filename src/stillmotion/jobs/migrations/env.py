"""Alembic's environment for stillmotion: always run from `stillmotion.jobs.migrations.upgrade_to_head`, which
passes an open connection (holding the migration lock) in `config.attributes["connection"]`."""

from __future__ import annotations

from alembic import context

from stillmotion.jobs.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("stillmotion migrations run through JobStore.create_schema(), which supplies the connection")

# render_as_batch: SQLite cannot ALTER most things in place; batch mode rebuilds the table when a later
# revision needs it, and is a no-op on PostgreSQL. transactional_ddl: SQLite's DDL is transactional, as
# PostgreSQL's is (Alembic assumes it is not, and logged "non-transactional DDL"); the whole upgrade runs in the
# caller's one transaction on both.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
