"""Bearer-key authentication. Each key is a tenant; jobs are visible only to the tenant that made them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stillmotion.domain import Unauthorized
from stillmotion.jobs import JobStore, tenant_for_key
from stillmotion.jobs.keys import hash_key


class Authenticator:
    def __init__(self, store: JobStore, *, env_keys: list[str]) -> None:
        self._store = store
        self._env_hashes = {hash_key(key) for key in env_keys}

    def tenant_for_header(self, authorization: str | None) -> str:
        if not authorization:
            raise Unauthorized("missing Authorization header; send `Authorization: Bearer <API key>`")
        scheme, _, key = authorization.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise Unauthorized("the Authorization header must be `Bearer <API key>`")
        if hash_key(key) in self._env_hashes:
            return tenant_for_key(key)
        tenant = self._store.tenant_for_stored_key(key)
        if tenant is None:
            raise Unauthorized("the API key is not valid")
        return tenant


def current_tenant(request: Request) -> str:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.tenant_for_header(request.headers.get("authorization"))


CurrentTenant = Annotated[str, Depends(current_tenant)]
