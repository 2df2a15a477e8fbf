"""Where finished videos live, and the signed, expiring links that hand them out."""

from stillmotion.storage.local import LocalStorage
from stillmotion.storage.signing import LinkSigner, load_or_create_secret

__all__ = ["LinkSigner", "LocalStorage", "load_or_create_secret"]
