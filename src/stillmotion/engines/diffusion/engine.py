"""The diffusion engine: an open image-to-video model (Wan 2.1 I2V, Wan 2.2 TI2V, LTX-Video) run with diffusers.

Per engine object the pipeline is loaded once, on the first render, and kept: the engine host keeps the engine
alive across jobs. Per render: check the request -> decode and fit the first frame -> denoise (progress per
step; a `Cancelled` from the progress callback stops between steps) -> encode the frames with the project's
video writer.

Model options (the models file's `[models."<id>".options]`; all optional):
    pipeline             "wan" | "ltx" (or a diffusers class name); default: from the weights' model_index.json
    width, height        native output size; default per variant (Wan TI2V 1280x704, Wan I2V 832x480, LTX 704x480)
    num_frames           the longest clip, in frames; default 121 (Wan TI2V, LTX) or 81 (Wan I2V)
    fps                  the model's frame rate, used for the output; default 24 (Wan TI2V, LTX) or 16 (Wan I2V)
    num_inference_steps  default 50
    guidance_scale       default 5.0 (Wan) or 3.0 (LTX)
    negative_prompt      default ""
    max_sequence_length  prompt tokens; default 512 (Wan) or 128 (LTX)
    max_side, max_pixels the largest side / area of a clip (a larger request is shrunk); default the native size's
    dtype                "bfloat16" | "float16" | "float32"; default bfloat16 on CUDA, float32 on the CPU
    device               default "cuda" when available, else "cpu"
Speed levers (e.g. `compile`) are read by `accel.apply_speedups` from the same options.

Size: the native size, turned to portrait when the image is portrait, unless the request's options give
`width` and `height`: that size, fitted to the model (multiples of its spatial factor, within max_side and
max_pixels, the aspect kept). The image is scaled to cover the size and centre-cropped.

Frames: `duration_s` x the model's fps, snapped to the model's rule (Wan 4k+1, LTX 8k+1), at least one step
above a single frame, and capped by `num_frames`. The request's `fps` is not used: a model generates at the
rate it was trained for.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image, ImageOps

from stillmotion.domain.models import ModelSpec
from stillmotion.engines.base import EngineError, ProgressCallback, RenderRequest, RenderResult
from stillmotion.engines.diffusion.accel import apply_speedups
from stillmotion.media.still import decode_image
from stillmotion.media.video import VideoWriter

logger = logging.getLogger(__name__)

# Share of the progress bar given to denoising (reported after each step); encoding takes the rest.
DENOISE_SHARE: Final = 0.95

# model_index.json `_class_name` -> family. TI2V-5B's index names the text-to-video WanPipeline; its
# components run image-to-video in WanImageToVideoPipeline, as diffusers' own TI2V example does.
_FAMILY_BY_CLASS: Final = {
    "WanPipeline": "wan",
    "WanImageToVideoPipeline": "wan",
    "LTXPipeline": "ltx",
    "LTXImageToVideoPipeline": "ltx",
    "LTXConditionPipeline": "ltx",
}
_FAMILIES: Final = ("wan", "ltx")

_DTYPES: Final = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


@dataclass(frozen=True)
class Defaults:
    width: int
    height: int
    num_frames: int
    fps: int
    guidance_scale: float
    max_sequence_length: int


# Native settings of the published checkpoints of each variant.
VARIANT_DEFAULTS: Final = {
    "wan-ti2v": Defaults(width=1280, height=704, num_frames=121, fps=24, guidance_scale=5.0, max_sequence_length=512),
    "wan-i2v": Defaults(width=832, height=480, num_frames=81, fps=16, guidance_scale=5.0, max_sequence_length=512),
    "ltx-i2v": Defaults(width=704, height=480, num_frames=121, fps=24, guidance_scale=3.0, max_sequence_length=128),
}


@dataclass(frozen=True)
class ModelRules:
    """What a loaded pipeline allows, and the settings a render uses unless the request says otherwise."""

    variant: str  # "wan-ti2v" | "wan-i2v" | "ltx-i2v"
    spatial_multiple: int  # width and height must be multiples of this (VAE compression x patch size)
    temporal_factor: int  # frame counts are temporal_factor * k + 1
    width: int
    height: int
    num_frames: int
    fps: int
    num_inference_steps: int
    guidance_scale: float
    negative_prompt: str
    max_sequence_length: int
    max_side: int
    max_pixels: int


# -- pure rules (tested without a model) --------------------------------------------------------------


def snap_frame_count(*, duration_s: float, fps: int, temporal_factor: int, max_frames: int) -> int:
    """`duration_s` x `fps` frames, snapped to the nearest `temporal_factor * k + 1` with k >= 1, and capped
    at the largest such count within `max_frames` (1 frame if even k = 1 exceeds it)."""
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"`duration_s` must be a positive number of seconds, got {duration_s}")
    wanted = duration_s * fps
    steps = max(1, round((wanted - 1) / temporal_factor))
    return temporal_factor * min(steps, max(0, (max_frames - 1) // temporal_factor)) + 1


def output_size(image_width: int, image_height: int, rules: ModelRules, options: Mapping[str, Any]) -> tuple[int, int]:
    """(width, height) of the clip: the native size turned to the image's orientation, or the request's
    `width` x `height` (both positive integers) fitted to what the model allows (see `fit_to_model`)."""
    width, height = options.get("width"), options.get("height")
    if width is None and height is None:
        native_landscape = rules.width >= rules.height
        if (image_width >= image_height) == native_landscape:
            return rules.width, rules.height
        return rules.height, rules.width
    for name, side in (("width", width), ("height", height)):
        if not isinstance(side, int) or isinstance(side, bool) or side <= 0:
            raise ValueError(f"`{name}` must be a positive integer, got {side!r}")
    assert isinstance(width, int) and isinstance(height, int)
    return fit_to_model(width, height, rules)


def fit_to_model(width: int, height: int, rules: ModelRules) -> tuple[int, int]:
    """The size nearest `width` x `height` that the model allows: the same aspect, shrunk if need be to at
    most `max_side` and `max_pixels`, each side rounded to a multiple of the model's spatial factor.

    A request is fitted rather than refused because the dialects ask for their own fixed sizes (OpenAI's
    1280x720 is 1280x704 for Wan 2.2 TI2V, whose sides are multiples of 32)."""
    multiple = rules.spatial_multiple
    scale = min(1.0, math.sqrt(rules.max_pixels / (width * height)), rules.max_side / max(width, height))

    def fits(w: int, h: int) -> bool:
        return w * h <= rules.max_pixels and max(w, h) <= rules.max_side

    nearest = [max(multiple, multiple * round(side * scale / multiple)) for side in (width, height)]
    if fits(*nearest):
        return nearest[0], nearest[1]
    below = [max(multiple, multiple * math.floor(side * scale / multiple)) for side in (width, height)]
    return below[0], below[1]


def fit_image(image: Image.Image, *, width: int, height: int) -> Image.Image:
    """Scale `image` to cover `width` x `height`, then centre-crop to exactly that (no stretching)."""
    return ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)


def to_uint8_frames(video: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint8]:
    """`(T, H, W, 3)` floats in 0..1 -> `(T, H, W, 3)` uint8."""
    return np.asarray(np.clip(np.rint(video * 255.0), 0, 255), dtype=np.uint8)


# -- loading ------------------------------------------------------------------------------------------


def resolve_weights(spec: ModelSpec) -> Path:
    """The local diffusers directory for `spec.weights`: the directory itself, or a Hub id's snapshot in the
    local Hugging Face cache (nothing is downloaded here). EngineError "weights_missing" otherwise."""
    pull = f"run `stillmotion models pull {spec.id}` on a machine that can reach the Hub"
    if not spec.weights:
        raise EngineError("weights_missing", f"model {spec.id!r} names no weights in the models file")
    local = Path(spec.weights).expanduser()
    looks_local = local.is_absolute() or spec.weights.startswith((".", "~")) or local.is_dir()
    if looks_local:
        directory = local
    else:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

        try:
            directory = Path(snapshot_download(spec.weights, revision=spec.revision, local_files_only=True))
        except (LocalEntryNotFoundError, HFValidationError, FileNotFoundError) as error:
            raise EngineError(
                "weights_missing", f"weights {spec.weights!r} for model {spec.id!r} are not in the local cache; {pull}"
            ) from error
    if not (directory / "model_index.json").is_file():
        raise EngineError(
            "weights_missing",
            f"{str(directory)!r} for model {spec.id!r} is not a diffusers pipeline directory "
            f"(no model_index.json); {pull}, or point `weights` at one",
        )
    return directory


def pipeline_family(options: Mapping[str, Any], directory: Path) -> str:
    """The family, "wan" or "ltx": from `options["pipeline"]` when given, else from model_index.json's `_class_name`."""
    chosen = options.get("pipeline")
    if chosen is None:
        chosen = json.loads((directory / "model_index.json").read_text()).get("_class_name")
        source = f"{directory / 'model_index.json'} `_class_name`"
    else:
        source = "option `pipeline`"
    if chosen in _FAMILIES:
        return str(chosen)
    if chosen in _FAMILY_BY_CLASS:
        return _FAMILY_BY_CLASS[chosen]
    known = ", ".join([*_FAMILIES, *sorted(_FAMILY_BY_CLASS)])
    raise EngineError("unsupported_model", f"{source} is {chosen!r}; this engine runs: {known}")


def _positive_int(options: Mapping[str, Any], name: str, default: int) -> int:
    value = options.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise EngineError("invalid_model_options", f"model option `{name}` must be a positive integer, got {value!r}")
    return value


def _number(options: Mapping[str, Any], name: str, default: float) -> float:
    value = options.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise EngineError("invalid_model_options", f"model option `{name}` must be a number >= 0, got {value!r}")
    return float(value)


def model_rules(pipe: Any, family: str, options: Mapping[str, Any]) -> ModelRules:
    if family == "wan":
        variant = "wan-ti2v" if pipe.config.expand_timesteps else "wan-i2v"
        spatial = pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size[1]
        temporal = pipe.vae_scale_factor_temporal
    else:
        variant = "ltx-i2v"
        spatial = pipe.vae_spatial_compression_ratio * pipe.transformer_spatial_patch_size
        temporal = pipe.vae_temporal_compression_ratio
    defaults = VARIANT_DEFAULTS[variant]
    width = _positive_int(options, "width", defaults.width)
    height = _positive_int(options, "height", defaults.height)
    if width % spatial or height % spatial:
        raise EngineError(
            "invalid_model_options", f"model options width x height ({width}x{height}) must be multiples of {spatial}"
        )
    negative_prompt = options.get("negative_prompt", "")
    if not isinstance(negative_prompt, str):
        raise EngineError(
            "invalid_model_options", f"model option `negative_prompt` must be text, got {negative_prompt!r}"
        )
    return ModelRules(
        variant=variant,
        spatial_multiple=int(spatial),
        temporal_factor=int(temporal),
        width=width,
        height=height,
        num_frames=_positive_int(options, "num_frames", defaults.num_frames),
        fps=_positive_int(options, "fps", defaults.fps),
        num_inference_steps=_positive_int(options, "num_inference_steps", 50),
        guidance_scale=_number(options, "guidance_scale", defaults.guidance_scale),
        negative_prompt=negative_prompt,
        max_sequence_length=_positive_int(options, "max_sequence_length", defaults.max_sequence_length),
        max_side=_positive_int(options, "max_side", max(width, height)),
        max_pixels=_positive_int(options, "max_pixels", width * height),
    )


def _free_memory(device: str) -> None:
    gc.collect()
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclass
class _Loaded:
    pipe: Any
    rules: ModelRules
    device: str
    dtype: str
    levers: list[str]


# -- the engine ---------------------------------------------------------------------------------------


class DiffusionEngine:
    """One model of the models file, its pipeline loaded on first use and kept for every later render."""

    name = "diffusion"

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._loaded: _Loaded | None = None

    def load(self) -> None:
        """Load the pipeline now (the first render does it otherwise). A second call does nothing."""
        if self._loaded is None:
            self._loaded = self._load()

    @property
    def pipeline(self) -> Any:
        """The loaded diffusers pipeline (loading it if need be)."""
        self.load()
        assert self._loaded is not None
        return self._loaded.pipe

    def _load(self) -> _Loaded:
        # diffusers' from_pretrained is unannotated; reached through an Any so that strict mypy accepts the call.
        diffusers: Any = importlib.import_module("diffusers")
        options = self.spec.options
        directory = resolve_weights(self.spec)
        family = pipeline_family(options, directory)
        device = str(options.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype_name = str(options.get("dtype") or ("bfloat16" if device.startswith("cuda") else "float32"))
        if dtype_name not in _DTYPES:
            raise EngineError(
                "invalid_model_options", f"model option `dtype` must be one of {', '.join(_DTYPES)}, got {dtype_name!r}"
            )
        pipeline_class = diffusers.WanImageToVideoPipeline if family == "wan" else diffusers.LTXImageToVideoPipeline
        out_of_memory = False
        pipe: Any = None
        try:
            pipe = pipeline_class.from_pretrained(str(directory), dtype=_DTYPES[dtype_name])
            pipe.to(device)
        except torch.cuda.OutOfMemoryError:
            out_of_memory = True
        if out_of_memory:  # outside the except block, so the traceback no longer pins the half-loaded tensors
            pipe = None
            _free_memory(device)
            raise EngineError(
                "out_of_memory",
                f"model {self.spec.id!r} does not fit in {device} memory in {dtype_name}; "
                "use a larger GPU, free the GPU of other processes, or pick a smaller model",
            )
        pipe.set_progress_bar_config(disable=True)
        rules = model_rules(pipe, family, options)
        levers = apply_speedups(pipe, options)
        logger.info("loaded %s (%s, %s on %s; levers: %s)", self.spec.id, rules.variant, dtype_name, device, levers)
        return _Loaded(pipe=pipe, rules=rules, device=device, dtype=dtype_name, levers=levers)

    def render(self, request: RenderRequest, output_path: Path, *, on_progress: ProgressCallback) -> RenderResult:
        self.load()
        assert self._loaded is not None
        loaded = self._loaded
        rules = loaded.rules

        source = Image.fromarray(decode_image(request.image))  # upright RGB, the same decode as live2d's
        width, height = output_size(source.width, source.height, rules, request.options)
        num_frames = snap_frame_count(
            duration_s=request.duration_s,
            fps=rules.fps,
            temporal_factor=rules.temporal_factor,
            max_frames=rules.num_frames,
        )
        first_frame = fit_image(source, width=width, height=height)
        del source
        seed = request.seed if request.seed is not None else random.SystemRandom().randrange(2**31)
        steps = rules.num_inference_steps
        on_progress(0.0)

        def on_step_end(pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
            # A Cancelled raised here unwinds out of the pipeline between two steps.
            on_progress(DENOISE_SHARE * min(1.0, (step + 1) / steps))
            return {}

        call: dict[str, Any] = {
            "image": first_frame,
            "prompt": request.prompt,
            "negative_prompt": rules.negative_prompt,
            "height": height,
            "width": width,
            "num_frames": num_frames,
            "num_inference_steps": steps,
            "guidance_scale": rules.guidance_scale,
            # A CPU generator draws the same noise for a seed on every device.
            "generator": torch.Generator(device="cpu").manual_seed(seed),
            "output_type": "np",
            "max_sequence_length": rules.max_sequence_length,
            "callback_on_step_end": on_step_end,
        }
        if rules.variant == "ltx-i2v":
            call["frame_rate"] = rules.fps
        out_of_memory = False
        try:
            video = to_uint8_frames(loaded.pipe(**call).frames[0])  # (T, H, W, 3) uint8
        except torch.cuda.OutOfMemoryError:
            out_of_memory = True
        if out_of_memory:  # outside the except block, so the traceback no longer pins the step's tensors
            del call, first_frame
            _free_memory(loaded.device)
            raise EngineError(
                "out_of_memory",
                f"{self.spec.id} ran out of {loaded.device} memory rendering {width}x{height}, {num_frames} frames; "
                "try a smaller width/height or a shorter duration, or free the GPU of other processes",
            )

        with VideoWriter(output_path, width=width, height=height, fps=rules.fps) as writer:
            for index, frame in enumerate(video):
                writer.write(frame)
                on_progress(DENOISE_SHARE + (1.0 - DENOISE_SHARE) * (index + 1) / (len(video) + 1))
        try:
            on_progress(1.0)
        except BaseException:
            output_path.unlink(missing_ok=True)  # cancelled after the file was finished: leave nothing behind
            raise

        extra: dict[str, Any] = {
            "model": self.spec.id,
            "variant": rules.variant,
            "steps": steps,
            "guidance_scale": rules.guidance_scale,
            "seed": seed,
            "levers": list(loaded.levers),
            "size": [width, height],
            "device": loaded.device,
            "dtype": loaded.dtype,
        }
        return RenderResult(width=width, height=height, fps=rules.fps, frame_count=len(video), extra=extra)
