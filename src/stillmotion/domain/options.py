"""Render options beyond the seed API's fields, with the bounds every dialect enforces."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from stillmotion.domain.errors import InvalidInput

DEFAULT_DURATION_S: Final = 6.0
MIN_DURATION_S: Final = 1.0
MAX_DURATION_S: Final = 12.0  # OpenAI's longest `seconds` is 12
DEFAULT_FPS: Final = 25
MIN_FPS: Final = 12
MAX_FPS: Final = 30
MAX_SEED: Final = 2**32 - 1
MAX_PROMPT_CHARS: Final = 2000  # the seed API's (OpenAI's dialect allows more: its own limit)


def check_render_options(
    *,
    prompt: str | None = None,
    duration_s: float | None = None,
    fps: int | None = None,
    seed: int | None = None,
    max_prompt_chars: int = MAX_PROMPT_CHARS,
    names: Mapping[str, str] | None = None,
) -> None:
    """The bounds of a render's options, shared by every dialect's create and the local command line: an
    `InvalidInput` naming the first field that breaks its rule (by `names`, the caller's name for each of
    `prompt`, `duration`, `fps` and `seed`). None: not given (the default applies)."""

    def name(key: str) -> str:
        return (names or {}).get(key, key)

    if prompt is not None:
        if not prompt.strip():
            raise InvalidInput(name("prompt"), "must not be blank")
        if len(prompt) > max_prompt_chars:
            raise InvalidInput(name("prompt"), f"must be at most {max_prompt_chars} characters (got {len(prompt)})")
    if duration_s is not None and not (math.isfinite(duration_s) and MIN_DURATION_S <= duration_s <= MAX_DURATION_S):
        raise InvalidInput(
            name("duration"), f"must be from {MIN_DURATION_S:g} to {MAX_DURATION_S:g} seconds (got {duration_s:g})"
        )
    if fps is not None and not MIN_FPS <= fps <= MAX_FPS:
        raise InvalidInput(name("fps"), f"must be from {MIN_FPS} to {MAX_FPS} (got {fps})")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise InvalidInput(name("seed"), f"must be from 0 to {MAX_SEED} (got {seed})")
