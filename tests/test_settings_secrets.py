"""Secrets in the settings never show when the settings are printed or logged."""

from __future__ import annotations

import pytest

from stillmotion.config import Settings

SECRETS = {
    "api_keys": "sk-one,sk-two",
    "signing_secret": "signing-secret-value",
    "webhook_secret": "whsec-secret-value",
    "s3_secret_access_key": "s3-secret-value",
}


def test_secrets_are_masked_in_repr_and_str_but_read_by_what_uses_them() -> None:
    settings = Settings(**SECRETS)  # type: ignore[arg-type]
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        for value in SECRETS.values():
            for part in value.split(","):
                assert part not in shown, (part, shown)
    assert settings.env_api_keys() == ["sk-one", "sk-two"]
    assert settings.signing_secret is not None and settings.signing_secret.get_secret_value() == "signing-secret-value"


def test_secrets_come_from_the_environment_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STILLMOTION_API_KEYS", "k1, k2")
    monkeypatch.setenv("STILLMOTION_WEBHOOK_SECRET", "from-env")
    settings = Settings()
    assert settings.env_api_keys() == ["k1", "k2"]
    assert settings.webhook_secret is not None and settings.webhook_secret.get_secret_value() == "from-env"
