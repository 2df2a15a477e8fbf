"""HTTP: `create_app(settings)` builds the app; one module per API dialect."""

from stillmotion.api.app import create_app

__all__ = ["create_app"]
