"""stillmotion: turn one still image and a prompt into a short video, behind the hosted APIs' wire formats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stillmotion._version import __version__

# The SDK is the public face of `import stillmotion` (`from stillmotion import Client`); it is imported when one of
# its names (`__all__` below) is first used, so that the server, the worker and the command line do not load it.
if TYPE_CHECKING:
    from stillmotion.client import (
        ApiConnectionError,
        ApiError,
        ApiTimeoutError,
        AsyncClient,
        AuthenticationError,
        BadRequestError,
        Client,
        ClientError,
        Generation,
        GenerationError,
        GenerationFailed,
        NotFoundError,
        NotSupported,
        RateLimitError,
        UnexpectedResponse,
        WaitTimeout,
    )


__all__ = [
    "ApiConnectionError",
    "ApiError",
    "ApiTimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ClientError",
    "Generation",
    "GenerationError",
    "GenerationFailed",
    "NotFoundError",
    "NotSupported",
    "RateLimitError",
    "UnexpectedResponse",
    "WaitTimeout",
    "__version__",
]

# The SDK's names: imported from `stillmotion.client` when first used.
_SDK_NAMES = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    if name in _SDK_NAMES:
        from stillmotion import client

        return getattr(client, name)
    raise AttributeError(f"module 'stillmotion' has no attribute {name!r}")
