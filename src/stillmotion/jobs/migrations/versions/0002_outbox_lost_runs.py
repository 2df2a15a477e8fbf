"""Webhook events in their own table, lost runs counted apart from claims, queued jobs that wait.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

- `webhook_events`: one row per status change owed to a job's `callback_url`, each with its own retry budget,
  delivered in order. Replaces the jobs table's `webhook_sent`, `webhook_attempts`, `webhook_next_at` and
  `webhook_error`, which could only hold the newest status: an event still being retried was overtaken (and its
  failed attempts charged to the next one) when the job moved on. A status owed at upgrade time becomes a
  pending event with its attempts so far.
- `jobs.lost_runs`: runs that ended without an outcome (a worker or engine that died, a lease that ran out).
  `attempt` still grows with every claim, as the fencing token, but a run handed back by a worker that shuts
  down cleanly no longer counts towards giving up. At upgrade a running job has lost `attempt - 1` runs (every
  run before the current one); a queued job was handed back by a drain, and has lost none.
- `jobs.not_before`: a queued job is not claimed before this time (a render that found the disk full waits).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OLD_WEBHOOK_COLUMNS = ("webhook_sent", "webhook_attempts", "webhook_next_at", "webhook_error")


def upgrade() -> None:
    op.add_column("jobs", sa.Column("lost_runs", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("not_before", sa.Float(), nullable=True))
    op.execute("UPDATE jobs SET lost_runs = attempt - 1 WHERE status = 'running' AND attempt > 0")

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_at", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_webhook_events_due", "webhook_events", ["state", "next_at"])
    op.create_index("ix_webhook_events_job", "webhook_events", ["job_id", "id"])
    # The status each job still owes its callback (queued is never sent; an expired job's client had its
    # finished status already).
    op.execute(
        "INSERT INTO webhook_events (job_id, status, state, attempts, next_at, error, created_at) "
        "SELECT id, status, 'pending', webhook_attempts, webhook_next_at, webhook_error, updated_at FROM jobs "
        "WHERE callback_url IS NOT NULL AND status NOT IN ('queued', 'expired') "
        "AND (webhook_sent IS NULL OR webhook_sent <> status)"
    )
    op.drop_index("ix_jobs_webhook_due", table_name="jobs")
    for name in _OLD_WEBHOOK_COLUMNS:
        op.drop_column("jobs", name)


def downgrade() -> None:
    op.add_column("jobs", sa.Column("webhook_sent", sa.String(16), nullable=True))
    op.add_column("jobs", sa.Column("webhook_attempts", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("webhook_next_at", sa.Float(), nullable=True))
    op.add_column("jobs", sa.Column("webhook_error", sa.Text(), nullable=True))
    op.create_index("ix_jobs_webhook_due", "jobs", ["callback_url", "webhook_next_at"])
    # A job with no pending event had its current status sent (or given up on), as the old columns said.
    op.execute(
        "UPDATE jobs SET webhook_sent = status WHERE callback_url IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM webhook_events e WHERE e.job_id = jobs.id AND e.state = 'pending')"
    )
    op.drop_index("ix_webhook_events_job", table_name="webhook_events")
    op.drop_index("ix_webhook_events_due", table_name="webhook_events")
    op.drop_table("webhook_events")
    op.drop_column("jobs", "not_before")
    op.drop_column("jobs", "lost_runs")
