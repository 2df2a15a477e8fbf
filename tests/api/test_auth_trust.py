"""Stored keys are remembered briefly (a poll costs no key lookup) and a revocation still takes effect within
`trust_s`, through the app as well as on the `Authenticator` itself."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stillmotion.api.app import create_app
from stillmotion.api.auth import STORED_KEY_TRUST_S, Authenticator
from stillmotion.config import Settings
from stillmotion.domain import Unauthorized
from stillmotion.jobs import JobStore, tenant_for_key

PATH = "/v2/generate/video/minimax/generation"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(JobStore):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.lookups = 0

    def tenant_for_stored_key(self, key: str) -> str | None:
        self.lookups += 1
        return super().tenant_for_stored_key(key)


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    made = CountingStore(f"sqlite:///{tmp_path / 'keys.db'}")
    made.create_schema()
    return made


def test_a_stored_key_is_trusted_for_trust_s_then_checked_again(store: CountingStore) -> None:
    clock = Clock()
    auth = Authenticator(store, env_keys=[], trust_s=2.0, clock=clock)
    key, record = store.create_key("k")
    header = f"Bearer {key}"
    assert auth.known_tenant(header) is None  # never checked yet: the database must be asked
    assert auth.tenant_for_header(header) == tenant_for_key(key)
    assert store.lookups == 1
    clock.now += 1.9
    assert auth.known_tenant(header) == tenant_for_key(key)

    assert store.revoke_key(record.id)
    clock.now += 0.2  # 2.1 s after the check: no longer trusted
    assert auth.known_tenant(header) is None
    with pytest.raises(Unauthorized, match="not valid"):
        auth.tenant_for_header(header)
    assert store.lookups == 2
    assert auth.known_tenant(header) is None


def test_unknown_keys_and_bad_headers_are_never_remembered(store: CountingStore) -> None:
    auth = Authenticator(store, env_keys=["env-key"], clock=Clock())
    for _ in range(2):
        with pytest.raises(Unauthorized):
            auth.tenant_for_header("Bearer sm-unknown")
        assert auth.known_tenant("Bearer sm-unknown") is None
    assert store.lookups == 2
    for header in (None, "", "Basic abc", "Bearer "):
        assert auth.known_tenant(header) is None
        with pytest.raises(Unauthorized):
            auth.tenant_for_header(header)
    # Environment keys need no database at all.
    assert auth.known_tenant("Bearer env-key") == tenant_for_key("env-key")
    assert store.lookups == 2


def test_through_the_app_a_revoked_key_is_refused_within_the_trust_window(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    app = create_app(settings)
    store: JobStore = app.state.services.store
    key, record = store.create_key("k")
    clock = Clock()
    app.state.authenticator = Authenticator(store, env_keys=[], clock=clock)
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as client:
        assert client.get(PATH, params={"generation_id": "nope"}, headers=headers).status_code == 404
        assert store.revoke_key(record.id)
        # Within the window the key still opens the door (at most STORED_KEY_TRUST_S after revocation) ...
        assert client.get(PATH, params={"generation_id": "nope"}, headers=headers).status_code == 404
        clock.now += STORED_KEY_TRUST_S + 0.01
        # ... and after it the revocation holds.
        refused = client.get(PATH, params={"generation_id": "nope"}, headers=headers)
        assert refused.status_code == 401, refused.text
        assert "not valid" in refused.json()["message"]


class SlowCountingStore(CountingStore):
    """Each lookup takes a while, so that requests arriving meanwhile find it under way."""

    def tenant_for_stored_key(self, key: str) -> str | None:
        time.sleep(0.05)
        return super().tenant_for_stored_key(key)


def test_requests_waiting_for_the_same_key_share_one_database_lookup(tmp_path: Path) -> None:
    store = SlowCountingStore(f"sqlite:///{tmp_path / 'keys.db'}")
    store.create_schema()
    auth = Authenticator(store, env_keys=[], trust_s=2.0)
    key, _record = store.create_key("k")
    other_key, _other = store.create_key("other")

    async def burst() -> list[str]:
        same = [auth.tenant_for_request(f"Bearer {key}") for _ in range(50)]
        return await asyncio.gather(*same, auth.tenant_for_request(f"Bearer {other_key}"))

    tenants = asyncio.run(burst())
    assert tenants == [tenant_for_key(key)] * 50 + [tenant_for_key(other_key)]
    assert store.lookups == 2  # one per key, not one per request

    async def bad_burst() -> list[str | BaseException]:
        waits = [auth.tenant_for_request("Bearer sk-not-a-key") for _ in range(10)]
        return await asyncio.gather(*waits, return_exceptions=True)

    refused = asyncio.run(bad_burst())
    assert all(isinstance(result, Unauthorized) for result in refused)
    assert store.lookups == 3
