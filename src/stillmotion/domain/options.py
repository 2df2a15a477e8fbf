"""Render options beyond the seed API's fields, with the bounds every dialect enforces."""

from __future__ import annotations

from typing import Final

DEFAULT_DURATION_S: Final = 6.0
MIN_DURATION_S: Final = 1.0
MAX_DURATION_S: Final = 12.0  # OpenAI's longest `seconds` is 12
DEFAULT_FPS: Final = 25
MIN_FPS: Final = 12
MAX_FPS: Final = 30
MAX_SEED: Final = 2**32 - 1
