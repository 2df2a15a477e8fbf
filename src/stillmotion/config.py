"""One `Settings` object, read from `STILLMOTION_*` environment variables by the entry points and passed down."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WEBHOOK_SECRET_PREFIX = "whsec_"


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a webhook secret: `whsec_<base64>` decoded, a `ValueError` naming the rule when it is not
    base64 or shorter than 16 bytes; a secret in the earlier plain form (any other text) is its own bytes."""
    text = secret.strip()
    if not text.startswith(WEBHOOK_SECRET_PREFIX):
        return text.encode()
    try:
        key = base64.b64decode(text.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("`whsec_` must be followed by base64") from None
    if len(key) < 16:
        raise ValueError("the key after `whsec_` must be at least 16 bytes")
    return key


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STILLMOTION_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Database, media and secrets live here.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite (WAL) at `<data-dir>/stillmotion.db`."
    )
    public_url: str | None = Field(
        None, description="Base URL put in video links, e.g. `https://video.example.com`; default: the bind address."
    )
    # Secrets are `SecretStr`: a settings object printed or logged shows '**********' for them.
    api_keys: SecretStr = Field(
        SecretStr(""), description="Comma-separated API keys accepted besides those made with `keys create`."
    )
    signing_secret: SecretStr | None = Field(
        None, description="HMAC secret for media links; default: generated once into `<data-dir>/signing.key`."
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Key that signs webhook events (Standard Webhooks), `whsec_<base64>`; default: generated once "
        "into `<data-dir>/webhook.key`.",
    )
    webhook_max_attempts: int = Field(8, ge=1, description="Deliveries tried per status event before giving up.")
    link_ttl_s: int = Field(6 * 3600, ge=60, description="How long a video link stays valid, in seconds.")
    db_wait_s: float = Field(
        120.0, ge=0, description="How long `serve` and `worker` wait at start-up for a database that cannot be reached."
    )
    db_timeout_s: float = Field(
        5.0,
        gt=0,
        description="Bound on each wait for the job database: a connection (PostgreSQL: at least 2 s), a statement, "
        "a pool checkout, SQLite's write lock. Past it the request is answered 503 with `Retry-After`.",
    )
    min_free_mb: int = Field(
        512, ge=0, description="Below this much free disk under the data directory `/healthz` answers 503 (degraded)."
    )
    allow_private_urls: bool = Field(
        False, description="Let `first_frame_image` URLs reach private, loopback and link-local addresses."
    )
    fetch_timeout_s: float = Field(15.0, gt=0, description="Deadline for fetching a `first_frame_image` URL.")
    fetch_slots: int = Field(
        16,
        ge=1,
        description="Image downloads and callback checks of creates at once, per API process, on threads "
        "of their own (never the pool that serves polls and `/healthz`).",
    )
    fetch_slots_per_key: int = Field(
        8,
        ge=1,
        description="How many of those one API key may hold (running or waiting); past it a create is "
        "refused with 429.",
    )
    decode_slots: int = Field(2, ge=1, description="Images decoded at once, per API process.")
    decode_budget_megapixels: float = Field(
        80.0,
        gt=0,
        description="Decoded pixels the images being decoded may hold between them, per API process; "
        "a decode that does not fit waits (one larger than the whole budget runs alone).",
    )
    max_request_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest request body accepted (a 20 MB image in base64 fits)."
    )
    storage_url: str | None = Field(
        None, description="Where videos are kept: `s3://bucket/prefix` (S3-compatible); default: `<data-dir>/media`."
    )
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint, e.g. `http://127.0.0.1:9000`; default: AWS.")
    s3_public_endpoint_url: str | None = Field(
        None,
        description="The S3 endpoint put in video links, where clients reach the bucket by another address than "
        "the service does (e.g. `http://localhost:9000` outside a container network); default: the S3 endpoint.",
    )
    s3_region: str = Field("us-east-1", description="S3 region (signs requests and presigned links).")
    s3_access_key_id: str | None = Field(None, description="S3 access key; default: the AWS credential chain.")
    s3_secret_access_key: SecretStr | None = Field(
        None, description="S3 secret key; default: the AWS credential chain."
    )
    retention_s: int = Field(
        0, ge=0, description="Finished jobs older than this lose their video and read as expired; 0 keeps them."
    )
    cleanup_interval_s: float = Field(60.0, gt=0, description="How often retention cleanup runs.")
    rate_limit_per_min: int = Field(
        0, ge=0, description="Requests per minute allowed to one API key, per API process; 0 means no limit."
    )
    max_unfinished_jobs: int = Field(
        0, ge=0, description="Queued plus running jobs one API key may have at once; 0 means no cap."
    )
    models_file: Path | None = Field(
        None, description="TOML file of extra model ids (diffusion); default: `<data-dir>/models.toml` if present."
    )
    log_format: Literal["text", "json"] = Field("text", description="`json` writes one JSON object per log line.")
    workers: int = Field(1, ge=0, description="In-process workers started by `stillmotion serve`.")
    worker_models: str = Field(
        "", description="Comma-separated model ids whose jobs this process's workers take; empty: all."
    )
    worker_engines: str = Field(
        "", description="Comma-separated engines whose jobs this process's workers take (e.g. `diffusion`); empty: all."
    )
    lease_s: float = Field(
        30.0, gt=0, description="A claimed job returns to the queue if its worker is silent this long."
    )
    max_attempts: int = Field(
        3, ge=1, description="Lost runs (dead workers or engines) of one job before it fails; stops do not count."
    )
    render_stall_s: float = Field(
        120.0,
        ge=0,
        description="A render that reports no progress this long (after its model loaded) is stopped and retried; "
        "0: never.",
    )
    disk_retry_s: float = Field(
        60.0, gt=0, description="A render that found the disk full goes back to the queue for this long."
    )
    poll_interval_s: float = Field(0.5, gt=0, description="How often an idle worker looks for work.")
    keep_alive_s: int = Field(
        5, ge=1, description="`serve` closes a client connection with no request under way after this many seconds."
    )
    client_timeout_s: float = Field(
        30.0,
        gt=0,
        description="A request's headers and body must arrive within this many seconds, plus 1 s per 64 KiB of "
        "body (slow or stalled clients are cut off).",
    )
    max_connections: int = Field(
        1000,
        ge=8,
        description="Client connections `serve` keeps open at most (and at most half its open-file limit): past "
        "it the longest-idle connection makes room, or when none is idle new requests but `/healthz` get a 503.",
    )
    host: str = Field("127.0.0.1", description="Bind address of `stillmotion serve`.")
    port: int = Field(8000, ge=0, le=65535, description="Port of `stillmotion serve`.")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'stillmotion.db').resolve()}"

    @property
    def engines_to_run(self) -> frozenset[str] | None:
        """`worker_engines` as a set; None when empty (every engine)."""
        return _name_set(self.worker_engines)

    @property
    def models_to_run(self) -> frozenset[str] | None:
        """`worker_models` as a set; None when empty (every model)."""
        return _name_set(self.worker_models)

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def work_dir(self) -> Path:
        """Scratch space for renders in progress; on the media filesystem so finished files move atomically."""
        return self.data_dir / "work"

    @property
    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        if host in ("0.0.0.0", "[::]"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    @field_validator("storage_url")
    @classmethod
    def _storage_url_names_a_bucket(cls, value: str | None) -> str | None:
        # Checked with the other settings: one error line at start-up, not a traceback while storage is opened.
        if value is not None:
            from stillmotion.storage.s3 import parse_s3_url  # the storage package imports this module

            parse_s3_url(value)
        return value

    @field_validator("s3_endpoint_url", "s3_public_endpoint_url")
    @classmethod
    def _endpoint_is_an_http_url(cls, value: str | None) -> str | None:
        if value is not None:
            split = urlsplit(value)
            if split.scheme not in ("http", "https") or not split.hostname:
                raise ValueError("must be an http(s) URL with a host, such as http://127.0.0.1:9000")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_in_whsec_form(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked with the other settings at start-up: one error line, not a traceback once the service is up.
        if value is not None:
            webhook_key(value.get_secret_value())
        return value

    def env_api_keys(self) -> list[str]:
        return [key.strip() for key in self.api_keys.get_secret_value().split(",") if key.strip()]


def _name_set(names: str) -> frozenset[str] | None:
    """A comma-separated list as a set; None when it names nothing."""
    found = frozenset(name.strip() for name in names.split(",") if name.strip())
    return found or None
