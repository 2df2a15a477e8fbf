"""Built-in model ids and the engine each one runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stillmotion.domain.errors import InvalidInput


@dataclass(frozen=True)
class ModelSpec:
    """One model id as the models file (or the built-in table) declares it. Pure data: no engine imports."""

    id: str
    engine: str  # "live2d" | "diffusion"
    # Where the weights are: a local directory in diffusers format, or a Hub repo id (`models pull` fetches it).
    weights: str | None = None
    revision: str | None = None  # a Hub revision (branch, tag or commit) when `weights` is a repo id
    # Engine-specific settings from the models file, e.g. for diffusion: pipeline, width, height, num_frames,
    # fps, num_inference_steps, guidance_scale, dtype, compile. Plain TOML values only.
    options: dict[str, Any] = field(default_factory=dict)

# `video-01-live2d` is the seed API's name; `I2V-01-live` is MiniMax's name for the same model.
MODEL_ENGINES: dict[str, str] = {
    "video-01-live2d": "live2d",
    "I2V-01-live": "live2d",
    # OpenAI's Videos API names (its default is `sora-2`), accepted so that unmodified OpenAI clients work;
    # both run our live2d engine.
    "sora-2": "live2d",
    "sora-2-pro": "live2d",
}


def engine_for_model(model_id: str, *, field: str = "model") -> str:
    """The engine name for `model_id`, or `InvalidInput` naming the allowed ids."""
    try:
        return MODEL_ENGINES[model_id]
    except KeyError:
        allowed = ", ".join(sorted(MODEL_ENGINES))
        raise InvalidInput(field, f"must be one of: {allowed} (got {model_id!r})") from None
