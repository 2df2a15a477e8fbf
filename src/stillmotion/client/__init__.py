"""The Python SDK: `Client` and `AsyncClient` for the AI/ML API's video routes, on a stillmotion server or
the hosted API. It depends on httpx only; nothing of the server side is imported."""

from stillmotion.client._core import DEFAULT_BASE_URL, DEFAULT_MODEL, GENERATION_PATH, ImageInput
from stillmotion.client.async_client import AsyncClient
from stillmotion.client.errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    GenerationFailed,
    NotFoundError,
    NotSupported,
    RateLimitError,
    UnexpectedResponse,
    WaitTimeout,
)
from stillmotion.client.models import Generation, GenerationError, MotionPlan, PlanTrack, Status
from stillmotion.client.sync import Client

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "GENERATION_PATH",
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
    "ImageInput",
    "MotionPlan",
    "NotFoundError",
    "NotSupported",
    "PlanTrack",
    "RateLimitError",
    "Status",
    "UnexpectedResponse",
    "WaitTimeout",
]
