"""What every place that keeps videos offers: the `Storage` protocol, and the key rule all back ends share.

Keys are relative, slash-separated names such as `videos/<job>/<attempt>.mp4`. A missing object is reported
the way Python reports a missing file, with `FileNotFoundError`, whatever the back end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$")

# Reads are handed to HTTP responses in pieces of this size, so a video is never held whole in memory.
CHUNK_BYTES = 256 * 1024


class StorageError(Exception):
    """The back end could not do what was asked (after its retries); the operation may be tried again later."""


def check_key(key: str) -> str:
    """`key` itself, or `ValueError` for a key that is empty, absolute or could step outside its root."""
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key


@dataclass
class StoredObject:
    """An object opened for reading: its size in bytes and a stream of its bytes. Close it when done."""

    size: int
    stream: IO[bytes]

    def chunks(self, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The bytes in pieces; the stream is closed at the end, or when the consumer stops early."""
        try:
            while chunk := self.stream.read(chunk_bytes):
                yield chunk
        finally:
            self.stream.close()

    def close(self) -> None:
        self.stream.close()


class Storage(Protocol):
    """Where finished videos live. `LocalStorage` (files) and `S3Storage` (S3-compatible servers) satisfy it."""

    def put_file(self, key: str, source: Path) -> None:
        """Store the file at `source` under `key`; `source` is consumed (moved or deleted) once it is stored.
        Raises `StorageError` when the back end keeps failing."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; removing a key that is already gone is not an error."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """The object's size in bytes; `FileNotFoundError` if there is none."""
        ...

    def open(self, key: str) -> StoredObject:
        """The object for reading; `FileNotFoundError` if there is none."""
        ...

    def local_copy(self, key: str) -> AbstractContextManager[Path]:
        """A local file holding the object's bytes while the context lasts (for decoders that want a path)."""
        ...

    def url(self, key: str, *, ttl_s: int, not_after: float | None = None) -> str:
        """A link that downloads `key` without credentials, valid for `ttl_s` seconds and never past the epoch
        time `not_after`."""
        ...

    def health_problem(self) -> str | None:
        """Why videos cannot be stored right now, or None when they can."""
        ...
