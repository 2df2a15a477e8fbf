"""API keys: a key is a tenant. Only the SHA-256 of a key is ever stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "sm-"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def tenant_for_key(key: str) -> str:
    """The tenant id of a key: stable, and the same whether the key came from the environment or the database."""
    return "t_" + hash_key(key)[:30]


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str  # the first characters of the key, enough to recognise it in a list
    created_at: float
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
