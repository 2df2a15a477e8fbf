"""Tables, written in portable SQLAlchemy Core so the same schema serves SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Times are UTC epoch seconds (float): comparable in SQL on both back ends without time-zone surprises.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("model", String(64), nullable=False),
    Column("engine", String(32), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("prompt_optimizer", Boolean, nullable=False),
    Column("options", JSON, nullable=False),
    Column("image_format", String(8), nullable=False),
    Column("image_width", Integer, nullable=False),
    Column("image_height", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Float, nullable=False, default=0.0),
    # Incremented by every claim; every write by a worker names the attempt it holds (fencing).
    Column("attempt", Integer, nullable=False, default=0),
    Column("worker_id", String(64)),
    Column("lease_expires_at", Float),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("media_key", String(255)),
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("result", JSON, nullable=False),
    Column("dialect", String(16), nullable=False, default="aimlapi"),
    Column("idempotency_key", String(255)),
    Column("request_hash", String(64)),
    # The id of the HTTP request that created the job: logs of the API and of the worker both carry it.
    Column("request_id", String(64)),
    Column("callback_url", Text),
    # Runs that ended without an outcome (their worker or engine died, their lease ran out): after
    # `max_attempts` of them the job fails. A run handed back by a worker shutting down is not counted.
    Column("lost_runs", Integer, nullable=False, default=0, server_default="0"),
    # A queued job is not claimed before this time (a render that found the disk full waits a while).
    Column("not_before", Float),
)
Index("ix_jobs_status_created", jobs.c.status, jobs.c.created_at)
Index("ix_jobs_tenant_created", jobs.c.tenant, jobs.c.created_at, jobs.c.id)
Index("ux_jobs_tenant_idempotency", jobs.c.tenant, jobs.c.idempotency_key, unique=True)

# The webhook outbox: one row per status change owed to the job's `callback_url`, written in the transaction
# that changed the status, so nothing is lost when a process dies before delivering it. Each event has its own
# retry budget; a job's events go out in order (`id`).
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # pending, sent or abandoned
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),  # failed deliveries so far
    Column("next_at", Float),  # retry time, or how long the dispatcher holding it may take
    Column("error", Text),
    Column("created_at", Float, nullable=False),
)
Index("ix_webhook_events_due", webhook_events.c.state, webhook_events.c.next_at)
Index("ix_webhook_events_job", webhook_events.c.job_id, webhook_events.c.id)

# The first frame lives apart so that status polls never read megabytes of image.
job_inputs = Table(
    "job_inputs",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)
