"""Videos as files under one directory, keyed by relative paths such as `videos/<job>/<attempt>.mp4`.

Links are HMAC-signed `/media/<key>?Expires=...&Signature=...` URLs served by the API process itself.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stillmotion.storage.base import StoredObject, check_key
from stillmotion.storage.signing import LinkSigner


class LocalStorage:
    def __init__(self, root: Path, *, signer: LinkSigner | None = None) -> None:
        self.root = root
        self.signer = signer
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """The file for `key`; refuses keys that could step outside the root."""
        return self.root / check_key(key)

    def put_file(self, key: str, source: Path) -> None:
        """Move `source` into place atomically (a reader sees the whole file or none of it)."""
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError:
            # Different filesystems: copy beside the target, then rename over it.
            partial = target.with_name(target.name + ".partial")
            shutil.copyfile(source, partial)
            os.replace(partial, target)
            source.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        path = self.path_for(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return path.stat().st_size

    def open(self, key: str) -> StoredObject:
        path = self.path_for(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        stream = path.open("rb")
        return StoredObject(size=os.fstat(stream.fileno()).st_size, stream=stream)

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path_for(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path  # already a local file: no copy needed

    def url(self, key: str, *, ttl_s: int, not_after: float | None = None) -> str:
        if self.signer is None:
            raise RuntimeError("this LocalStorage was built without a LinkSigner, so it cannot make links")
        return self.signer.url(check_key(key), ttl_s=ttl_s, not_after=not_after)

    def health_problem(self) -> str | None:
        if not os.access(self.root, os.W_OK):
            return "media directory is not writable"
        return None
