"""Where finished videos live, and the expiring links that hand them out.

`open_storage(settings, signer)` picks the back end: files under `<data-dir>/media` served through signed
`/media` links (the default), or an S3-compatible bucket with presigned links (`STILLMOTION_STORAGE_URL=s3://...`).
"""

from __future__ import annotations

from stillmotion.config import Settings
from stillmotion.storage.base import Storage, StorageError, StoredObject, check_key
from stillmotion.storage.local import LocalStorage
from stillmotion.storage.signing import LinkSigner, load_or_create_secret


def open_storage(settings: Settings, signer: LinkSigner) -> Storage:
    """The storage `settings.storage_url` names: None -> local files; `s3://bucket/prefix` -> S3."""
    if settings.storage_url is None:
        return LocalStorage(settings.media_dir, signer=signer)
    from stillmotion.storage.s3 import S3Storage, parse_s3_url

    return S3Storage(
        parse_s3_url(settings.storage_url),
        endpoint_url=settings.s3_endpoint_url,
        public_endpoint_url=settings.s3_public_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=(
            settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key is not None else None
        ),
    )


__all__ = [
    "LinkSigner",
    "LocalStorage",
    "Storage",
    "StorageError",
    "StoredObject",
    "check_key",
    "load_or_create_secret",
    "open_storage",
]
