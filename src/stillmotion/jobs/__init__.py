"""The durable job store: the single source of truth for every generation."""

from stillmotion.jobs.faults import DatabaseUnavailable
from stillmotion.jobs.keys import ApiKey, hash_key, tenant_for_key
from stillmotion.jobs.outbox import WebhookDue
from stillmotion.jobs.store import Claim, JobStore, Page

__all__ = ["ApiKey", "Claim", "DatabaseUnavailable", "JobStore", "Page", "WebhookDue", "hash_key", "tenant_for_key"]
