"""stillmotion: turn one still image and a prompt into a short video, behind the hosted APIs' wire formats."""

__version__ = "0.1.0"

# The SDK is the public face of `import stillmotion`; it needs httpx only (no numpy, cv2 or fastapi).
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
