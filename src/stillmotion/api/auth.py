"""Bearer-key authentication. Each key is a tenant; jobs are visible only to the tenant that made them.

Every route that names `CurrentTenant` is also subject to the per-key request rate limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from stillmotion.api.limits import RateLimiter
from stillmotion.domain import Unauthorized
from stillmotion.jobs import JobStore, tenant_for_key
from stillmotion.jobs.keys import hash_key

# How long a stored key found valid is trusted without asking the database again: a revoked key stops working
# within this many seconds in every API process, and a status poll costs no key lookup in between.
STORED_KEY_TRUST_S = 2.0
# Valid keys remembered at most; past this the memory is cleared (it only ever holds keys that were valid).
_MAX_REMEMBERED_KEYS = 10_000


class Authenticator:
    def __init__(
        self,
        store: JobStore,
        *,
        env_keys: list[str],
        trust_s: float = STORED_KEY_TRUST_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._env_hashes = {hash_key(key) for key in env_keys}
        self._trust_s = trust_s
        self._clock = clock
        self._trusted: dict[str, tuple[str, float]] = {}  # key hash -> (tenant, trusted until)
        self._lookups: dict[str, asyncio.Future[str]] = {}  # key hash -> the database lookup under way

    async def tenant_for_request(self, authorization: str | None) -> str:
        """`tenant_for_header` for a request on the event loop: a key known here is answered in place; otherwise
        one database lookup per key runs on the thread pool and every request with that key waiting meanwhile
        shares it. (When a busy key's trust runs out, hundreds of polls would otherwise each ask the database.)"""
        tenant = self.known_tenant(authorization)
        if tenant is not None:
            return tenant
        digest = hash_key(_bearer_key(authorization))
        lookup = self._lookups.get(digest)
        if lookup is None:
            lookup = asyncio.ensure_future(run_in_threadpool(self.tenant_for_header, authorization))
            self._lookups[digest] = lookup
            lookup.add_done_callback(lambda _done: self._lookups.pop(digest, None))
        # Shielded: a client that disconnects cancels its own wait, not the lookup the others wait for.
        return await asyncio.shield(lookup)

    def known_tenant(self, authorization: str | None) -> str | None:
        """The tenant when the header's key is an environment key or a stored key checked less than `trust_s`
        ago; None when the database must be asked (or the header is malformed). Does no I/O."""
        try:
            key = _bearer_key(authorization)
        except Unauthorized:
            return None
        digest = hash_key(key)
        if digest in self._env_hashes:
            return tenant_for_key(key)
        trusted = self._trusted.get(digest)
        if trusted is not None and self._clock() < trusted[1]:
            return trusted[0]
        return None

    def tenant_for_header(self, authorization: str | None) -> str:
        key = _bearer_key(authorization)
        digest = hash_key(key)
        if digest in self._env_hashes:
            return tenant_for_key(key)
        checked_at = self._clock()
        tenant = self._store.tenant_for_stored_key(key)
        if tenant is None:
            self._trusted.pop(digest, None)
            raise Unauthorized("the API key is not valid")
        if self._trust_s > 0:
            if len(self._trusted) >= _MAX_REMEMBERED_KEYS:
                self._trusted.clear()
            self._trusted[digest] = (tenant, checked_at + self._trust_s)
        return tenant


def _bearer_key(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("missing Authorization header; send `Authorization: Bearer <API key>`")
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("the Authorization header must be `Bearer <API key>`")
    return key


async def current_tenant(request: Request) -> str:
    """The caller's tenant, after its key passed the rate limit (a request without a valid key is refused
    before it can spend anyone's quota)."""
    authenticator: Authenticator = request.app.state.authenticator
    authorization = request.headers.get("authorization")
    tenant = await authenticator.tenant_for_request(authorization)
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.check(tenant)
    return tenant


CurrentTenant = Annotated[str, Depends(current_tenant)]
