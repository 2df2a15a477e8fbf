"""Videos in an S3-compatible bucket, handed out as presigned GET links.

boto3 is imported when an `S3Storage` is built, never at module import, so the core install (without the
`s3` extra) still imports `stillmotion.storage`.

Uploads retry twice over: botocore's own retries (standard mode: throttling, 5xx and connection errors, with
jittered backoff) inside each attempt, and a bounded loop of whole-upload attempts with exponential backoff
around them, so that an S3 outage of a few seconds costs a delay instead of a failed job.
"""

from __future__ import annotations

import logging
import math
import mimetypes
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stillmotion.storage.base import StorageError, StoredObject, check_key

log = logging.getLogger("stillmotion.storage")

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or a path without leading or trailing slashes


def parse_s3_url(url: str) -> S3Location:
    """`s3://bucket/optional/prefix` -> its parts; `ValueError` naming the rule otherwise (the settings check
    `STILLMOTION_STORAGE_URL` with it at start-up, and say which variable and value)."""
    split = urlsplit(url)
    if split.scheme != "s3":
        raise ValueError("must start with s3://")
    bucket = split.netloc
    if not 3 <= len(bucket) <= 63 or not all(ch.islower() or ch.isdigit() or ch in ".-" for ch in bucket):
        raise ValueError(f"its bucket {bucket!r} must be 3 to 63 lower-case letters, digits, '.' or '-'")
    if split.query or split.fragment:
        raise ValueError("must not have a query or fragment")
    prefix = split.path.strip("/")
    if prefix:
        check_key(prefix)
    return S3Location(bucket=bucket, prefix=prefix)


class S3Storage:
    def __init__(
        self,
        location: S3Location,
        *,
        endpoint_url: str | None = None,
        public_endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        upload_attempts: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        botocore_attempts: int = 3,
        timeout_s: float = 10.0,
    ) -> None:
        try:
            import boto3  # type: ignore[import-untyped]
            from botocore.config import Config  # type: ignore[import-untyped]
        except ImportError:
            raise RuntimeError(
                "S3 storage (STILLMOTION_STORAGE_URL=s3://...) needs boto3: from the clone, "
                ".venv/bin/pip install -e '.[s3]'"
            ) from None

        if upload_attempts < 1:
            raise ValueError("upload_attempts must be at least 1")
        self.location = location
        self.upload_attempts = upload_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        config = Config(
            region_name=region,
            signature_version="s3v4",
            retries={"mode": "standard", "total_max_attempts": botocore_attempts},
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            # Path-style (`endpoint/bucket/key`) works with every S3-compatible server; AWS keeps virtual hosts.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=region
        )
        # The client is thread-safe; API request threads and worker threads share this one.
        self.client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        # Health checks answer fast instead of waiting through retries: one try, short timeouts.
        quick = config.merge(Config(retries={"mode": "standard", "total_max_attempts": 1},
                                    connect_timeout=2.0, read_timeout=2.0))
        self._health_client: Any = session.client("s3", endpoint_url=endpoint_url, config=quick)
        # Links are signed for the address clients download from, which may differ from the one this process uses
        # (a bucket server known as `minio:9000` inside a container network and as `localhost:9000` outside it).
        # Signing makes no request, so this client never has to reach that address.
        self._link_client: Any = (
            self.client if public_endpoint_url is None
            else session.client("s3", endpoint_url=public_endpoint_url, config=config)
        )

    def _object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.location.prefix}/{key}" if self.location.prefix else key

    def put_file(self, key: str, source: Path) -> None:
        from boto3.exceptions import S3UploadFailedError  # type: ignore[import-untyped]
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

        object_key = self._object_key(key)
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        for attempt in range(1, self.upload_attempts + 1):
            try:
                self.client.upload_file(
                    str(source), self.location.bucket, object_key, ExtraArgs={"ContentType": content_type}
                )
                break
            except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
                if attempt == self.upload_attempts:
                    raise StorageError(
                        f"upload of {key} to s3://{self.location.bucket} failed {attempt} times; last error: {exc}"
                    ) from exc
                pause = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                log.warning("upload of %s failed (attempt %d/%d): %s; retrying in %.1f s",
                            key, attempt, self.upload_attempts, exc, pause)
                time.sleep(pause)
        source.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        # S3 answers 204 for a key that does not exist, so deleting twice is fine.
        self._call("delete_object", Bucket=self.location.bucket, Key=self._object_key(key))

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        head = self._call("head_object", Bucket=self.location.bucket, Key=self._object_key(key), missing=key)
        return int(head["ContentLength"])

    def open(self, key: str) -> StoredObject:
        got = self._call("get_object", Bucket=self.location.bucket, Key=self._object_key(key), missing=key)
        return StoredObject(size=int(got["ContentLength"]), stream=got["Body"])

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        stored = self.open(key)
        fd, name = tempfile.mkstemp(prefix="stillmotion-", suffix=Path(key).suffix)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in stored.chunks():
                    handle.write(chunk)
            yield path
        finally:
            path.unlink(missing_ok=True)

    def url(self, key: str, *, ttl_s: int, not_after: float | None = None) -> str:
        if not_after is not None:
            ttl_s = min(ttl_s, math.floor(not_after - time.time()))
        # SigV4 links last at least 1 second and at most 7 days.
        expires_in = max(1, min(ttl_s, 7 * 24 * 3600))
        url: str = self._link_client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.location.bucket, "Key": self._object_key(key)},
            ExpiresIn=expires_in,
        )
        return url

    def health_problem(self) -> str | None:
        try:
            self._call("head_bucket", Bucket=self.location.bucket, client=self._health_client)
        except StorageError as exc:
            return f"storage: {exc}"
        return None

    def _call(self, operation: str, *, missing: str | None = None, client: Any = None, **params: Any) -> Any:
        """One S3 call; a 404 becomes `FileNotFoundError(missing)` when `missing` names the key, any other
        failure (after botocore's retries) a `StorageError`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(client or self.client, operation)(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if missing is not None and code in _NOT_FOUND:
                raise FileNotFoundError(missing) from None
            raise StorageError(f"S3 {operation} failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {operation} failed: {exc}") from exc
