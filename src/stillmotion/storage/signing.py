"""HMAC-signed, expiring media links shaped like the hosted CDN's: `...?Expires=<epoch>&Signature=<mac>`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import os
import secrets
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from stillmotion.domain import Forbidden

# Expiry times are rounded up to this step so that repeated polls hand out the same URL for a while.
_EXPIRY_STEP_S = 60


def write_private(path: Path, data: bytes, *, replace: bool = False) -> bool:
    """Write `data` to `path` (mode 0600) and sync it. Without `replace` only where there is no file yet
    (O_EXCL: of two processes starting at once, one writes it): False when one was there. With `replace`,
    through a temporary file renamed over `path`, so that a reader never sees half of it."""
    target = path.with_name(path.name + ".new") if replace else path
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if replace:
        os.replace(target, path)
    return True


def load_or_create_secret(path: Path) -> bytes:
    """The signing secret kept at `path`, created (mode 0600) on first use."""
    if path.is_file():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    # If another process made the file first, its secret is the one.
    return secret if write_private(path, secret) else path.read_bytes().strip()


class LinkSigner:
    def __init__(self, secret: bytes, *, base_url: str, route: str = "/media") -> None:
        if len(secret) < 16:
            raise ValueError("the signing secret must be at least 16 bytes")
        self._secret = secret
        self._base = base_url.rstrip("/") + route

    def _signature(self, key: str, expires: int) -> str:
        mac = hmac.new(self._secret, f"{key}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def url(self, key: str, *, ttl_s: int, now: float | None = None, not_after: float | None = None) -> str:
        """A link valid for about `ttl_s` seconds, and never past the epoch time `not_after` (the rounding up
        to a whole step stops there)."""
        current = time.time() if now is None else now
        expires = math.ceil((current + ttl_s) / _EXPIRY_STEP_S) * _EXPIRY_STEP_S
        if not_after is not None:
            expires = min(expires, math.floor(not_after))
        query = urlencode({"Expires": expires, "Signature": self._signature(key, expires)})
        return f"{self._base}/{quote(key)}?{query}"

    def verify(self, key: str, *, expires: str | None, signature: str | None, now: float | None = None) -> None:
        """Raise `Forbidden` unless the link for `key` is authentic and not yet expired."""
        if not expires or not signature:
            raise Forbidden("the link is missing its Expires or Signature parameter")
        try:
            expires_at = int(expires)
        except ValueError:
            raise Forbidden("the link's Expires parameter is not an integer") from None
        if not hmac.compare_digest(self._signature(key, expires_at), signature):
            raise Forbidden("the link's signature does not match")
        current = time.time() if now is None else now
        if current > expires_at:
            raise Forbidden("the link has expired")
