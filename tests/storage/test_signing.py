from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from stillmotion.domain import Forbidden
from stillmotion.storage import LinkSigner, LocalStorage, load_or_create_secret

SECRET = b"0123456789abcdef0123456789abcdef"


def _parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.removeprefix("/media/"), query["Expires"][0], query["Signature"][0]


def test_a_fresh_link_verifies() -> None:
    signer = LinkSigner(SECRET, base_url="http://example.test")
    url = signer.url("videos/1/1.mp4", ttl_s=600, now=1_000_000)
    assert url.startswith("http://example.test/media/videos/1/1.mp4?Expires=")
    key, expires, signature = _parts(url)
    signer.verify(key, expires=expires, signature=signature, now=1_000_100)


@pytest.mark.parametrize("part", ["key", "expires", "signature"])
def test_a_tampered_link_is_refused(part: str) -> None:
    signer = LinkSigner(SECRET, base_url="http://example.test")
    key, expires, signature = _parts(signer.url("videos/1/1.mp4", ttl_s=600, now=1_000_000))
    if part == "key":
        key = "videos/2/1.mp4"
    elif part == "expires":
        expires = str(int(expires) + 3600)
    else:
        signature = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    with pytest.raises(Forbidden, match="signature"):
        signer.verify(key, expires=expires, signature=signature, now=1_000_100)


def test_an_expired_link_is_refused() -> None:
    signer = LinkSigner(SECRET, base_url="http://example.test")
    key, expires, signature = _parts(signer.url("videos/1/1.mp4", ttl_s=600, now=1_000_000))
    with pytest.raises(Forbidden, match="expired"):
        signer.verify(key, expires=expires, signature=signature, now=int(expires) + 1)


def test_a_link_signed_with_another_secret_is_refused() -> None:
    mine = LinkSigner(SECRET, base_url="http://example.test")
    theirs = LinkSigner(b"another-secret-of-32-bytes-long!", base_url="http://example.test")
    key, expires, signature = _parts(theirs.url("videos/1/1.mp4", ttl_s=600, now=1_000_000))
    with pytest.raises(Forbidden):
        mine.verify(key, expires=expires, signature=signature, now=1_000_100)


def test_missing_parameters_are_refused() -> None:
    signer = LinkSigner(SECRET, base_url="http://example.test")
    with pytest.raises(Forbidden, match="missing"):
        signer.verify("videos/1/1.mp4", expires=None, signature="x")
    with pytest.raises(Forbidden, match="integer"):
        signer.verify("videos/1/1.mp4", expires="soon", signature="x")


def test_the_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    first = load_or_create_secret(path)
    assert len(first) >= 32
    assert load_or_create_secret(path) == first
    assert path.stat().st_mode & 0o777 == 0o600


def test_local_storage_moves_files_in_and_refuses_escaping_keys(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    source = tmp_path / "out.mp4"
    source.write_bytes(b"video")
    storage.put_file("videos/1/1.mp4", source)
    assert not source.exists()
    assert storage.path_for("videos/1/1.mp4").read_bytes() == b"video"
    for bad in ("../etc/passwd", "/abs", "videos/../../x", "videos//x"):
        with pytest.raises(ValueError):
            storage.path_for(bad)
