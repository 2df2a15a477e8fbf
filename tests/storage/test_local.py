"""LocalStorage through the Storage interface: reads, sizes, links capped at a deadline."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from stillmotion.storage import LinkSigner, LocalStorage, Storage

SECRET = b"0123456789abcdef0123456789abcdef"


def test_local_storage_reads_back_what_it_stored(tmp_path: Path) -> None:
    storage: Storage = LocalStorage(tmp_path / "media", signer=LinkSigner(SECRET, base_url="http://x.test"))
    source = tmp_path / "out.mp4"
    source.write_bytes(b"v" * 300_000)
    storage.put_file("videos/1/1.mp4", source)
    assert not source.exists()
    assert storage.size("videos/1/1.mp4") == 300_000
    stored = storage.open("videos/1/1.mp4")
    assert b"".join(stored.chunks(chunk_bytes=65536)) == b"v" * 300_000
    with storage.local_copy("videos/1/1.mp4") as path:
        assert path.read_bytes() == b"v" * 300_000
    assert storage.url("videos/1/1.mp4", ttl_s=600).startswith("http://x.test/media/videos/1/1.mp4?Expires=")
    assert storage.health_problem() is None
    storage.delete("videos/1/1.mp4")
    storage.delete("videos/1/1.mp4")
    assert not storage.exists("videos/1/1.mp4")
    for read in (storage.size, storage.open):
        with pytest.raises(FileNotFoundError):
            read("videos/1/1.mp4")


def test_a_signed_link_stops_at_not_after_even_when_rounding_would_pass_it() -> None:
    signer = LinkSigner(SECRET, base_url="http://x.test")
    # Without a cap the expiry is rounded up to the next whole minute: 1_000_030 + 600 -> 1_000_680.
    uncapped = parse_qs(urlsplit(signer.url("k/1.mp4", ttl_s=600, now=1_000_030)).query)
    assert uncapped["Expires"] == ["1000680"]
    capped = parse_qs(urlsplit(signer.url("k/1.mp4", ttl_s=600, now=1_000_030, not_after=1_000_650.7)).query)
    assert capped["Expires"] == ["1000650"]
    signer.verify("k/1.mp4", expires=capped["Expires"][0], signature=capped["Signature"][0], now=1_000_650)


def test_a_storage_without_a_signer_cannot_make_links(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="LinkSigner"):
        LocalStorage(tmp_path).url("videos/1/1.mp4", ttl_s=60)
