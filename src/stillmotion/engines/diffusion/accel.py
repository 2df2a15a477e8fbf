"""Speed levers for a loaded diffusers video pipeline, each turned on by a model option.

Model options (all off by default; see BENCHMARKS.md "GPU engine" for what each is worth):

    compile = true              torch.compile of the transformer's repeated blocks (needs a working inductor)
    fp8 = true                  FP8 (e4m3, per-row scales) linear layers in the transformer blocks via torchao
                                (needs CUDA with compute capability >= 8.9: Ada, Hopper or newer)
    attention_backend = "sage"  a diffusers attention backend, e.g. "sage" (8-bit attention from the
                                `sageattention` package); backends that download kernels ("*_hub") are refused
    vae_tiling = true           decode the video in overlapping spatial tiles (less peak memory)
    first_block_cache = 0.1     opt-in step caching: skip the remaining blocks while the first block's residual
                                changes by less than this fraction (saves steps, not per-forward time; lossy)

`apply_speedups` applies only the levers that can work on this machine, logs why any other was skipped, and
returns the names of those applied. `benchmarks/gpu_bench.py` uses the same functions for its "ours" rows, so
the benchmark measures what the engine runs. torch, diffusers and torchao are imported only when a lever needs
them: this module itself imports nothing heavy.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
from collections.abc import Mapping
from typing import Any, Final

from stillmotion.engines.base import EngineError

log = logging.getLogger(__name__)

# The relative L2 error (against bf16 eager, one transformer forward) each lever is allowed; the benchmark
# reports each variant's error next to its bound.
RELATIVE_L2_BOUND: Final[Mapping[str, float]] = {
    "compile": 0.01,
    "fp8": 0.08,
    "attention": 0.08,
    "vae_tiling": 0.05,
}
MIN_FP8_CAPABILITY: Final = (8, 9)
# Linear layers with fewer input or output features than this stay in bf16: too small to gain, and torchao's
# FP8 matmul wants dimensions divisible by 16.
MIN_FP8_FEATURES: Final = 128
KNOWN_OPTIONS: Final = ("compile", "fp8", "attention_backend", "vae_tiling", "first_block_cache")


def apply_speedups(pipe: Any, options: Mapping[str, Any]) -> list[str]:
    """Apply the levers that `options` turns on to `pipe` (a diffusers pipeline) in place; return the names of
    those applied, e.g. ["fp8", "compile"]. Raises EngineError("invalid_model_options") for a malformed value."""
    compile_on = _flag(options, "compile")
    fp8_on = _flag(options, "fp8")
    vae_tiling_on = _flag(options, "vae_tiling")
    backend = _backend_option(options)
    cache_threshold = _threshold_option(options)

    transformers = [
        module for name in ("transformer", "transformer_2") if (module := getattr(pipe, name, None)) is not None
    ]
    applied: list[str] = []

    def attempt(lever: str, why_not: str | None, action: Any) -> None:
        if why_not is None:
            try:
                for transformer in transformers:
                    action(transformer)
            except Exception as error:  # a lever that breaks must cost speed, never the model
                why_not = f"{type(error).__name__}: {error}"
        if why_not is None:
            applied.append(lever)
        else:
            log.warning("speed lever %s skipped: %s", lever, why_not)

    if not transformers and (compile_on or fp8_on or backend or cache_threshold):
        log.warning("speed levers for the transformer skipped: the pipeline has no transformer")
    elif transformers:
        # Order matters: the attention backend and FP8 change the modules that compile then traces.
        if backend is not None:
            attempt(f"attention:{backend}", why_not_attention_backend(backend), lambda t: set_attention(t, backend))
        if fp8_on:
            attempt("fp8", why_not_fp8(transformers[0]), quantize_fp8)
        if cache_threshold is not None:
            attempt(
                "first_block_cache",
                None,
                lambda t: enable_first_block_cache(t, cache_threshold),
            )
        if compile_on:
            attempt("compile", why_not_compile(_device_type(transformers[0])), compile_transformer)

    if vae_tiling_on:
        vae = getattr(pipe, "vae", None)
        if vae is None or not hasattr(vae, "enable_tiling"):
            log.warning("speed lever vae_tiling skipped: the pipeline's VAE has no tiled decode")
        else:
            vae.enable_tiling()
            applied.append("vae_tiling")
    return applied


# --- the levers one by one (also called by benchmarks/gpu_bench.py) -------------------------------------------


def why_not_compile(device_type: str) -> str | None:
    """None when torch.compile's default (inductor) backend works on `device_type`, else why not."""
    return _inductor_probe(device_type)


@functools.cache
def _inductor_probe(device_type: str) -> str | None:
    try:
        import torch

        probe = torch.compile(lambda x: (x * 2.0 + 1.0).relu(), fullgraph=True)
        result = probe(torch.ones(8, device=device_type))
        if float(result.sum()) != 24.0:
            return "inductor produced a wrong result on a probe"
    except Exception as error:
        return f"inductor does not work on {device_type}: {type(error).__name__}: {str(error)[:200]}"
    return None


def compile_transformer(transformer: Any) -> None:
    """Compile the transformer's repeated blocks (one compilation serves every block) or, for a model that
    does not declare them, the whole module."""
    if getattr(transformer, "_repeated_blocks", None) and hasattr(transformer, "compile_repeated_blocks"):
        transformer.compile_repeated_blocks(fullgraph=False)
    else:
        transformer.compile()


def why_not_fp8(transformer: Any) -> str | None:
    """None when FP8 linear layers can run for `transformer`, else why not."""
    import torch

    device = _device_type(transformer)
    if device != "cuda" or not torch.cuda.is_available():
        return f"needs CUDA with compute capability >= 8.9 (the transformer is on {device})"
    capability = torch.cuda.get_device_capability()
    if capability < MIN_FP8_CAPABILITY:
        return f"needs compute capability >= 8.9, this GPU has {capability[0]}.{capability[1]}"
    if importlib.util.find_spec("torchao") is None:
        return "torchao is not installed (pip install torchao)"
    return None


def quantize_fp8(transformer: Any) -> None:
    """Replace the large linear layers of the transformer blocks with FP8 ones (dynamic per-row activation
    scales, per-row weight scales). Embedders, norms and the output projection stay in their dtype."""
    import torch

    # Imported by name: torchao ships no type information.
    torchao_quantization = importlib.import_module("torchao.quantization")

    def in_blocks(module: torch.nn.Module, name: str) -> bool:
        return (
            isinstance(module, torch.nn.Linear)
            and name.startswith("blocks.")
            and min(module.in_features, module.out_features) >= MIN_FP8_FEATURES
            and module.in_features % 16 == 0
            and module.out_features % 16 == 0
        )

    config = torchao_quantization.Float8DynamicActivationFloat8WeightConfig(granularity=torchao_quantization.PerRow())
    torchao_quantization.quantize_(transformer, config, filter_fn=in_blocks)


def why_not_attention_backend(backend: str) -> str | None:
    """None when the diffusers attention backend `backend` can run here without downloading anything."""
    if backend.endswith("_hub"):
        return f"backend {backend!r} downloads kernels from the Hub at run time; refused"
    if backend.startswith("sage") or backend.startswith("_sage"):
        if importlib.util.find_spec("sageattention") is None:
            return "the `sageattention` package is not installed"
        import torch

        if not torch.cuda.is_available():
            return "8-bit attention needs CUDA"
    return None


def set_attention(transformer: Any, backend: str) -> None:
    transformer.set_attention_backend(backend)


def enable_first_block_cache(transformer: Any, threshold: float) -> None:
    diffusers = importlib.import_module("diffusers")  # by name: its config classes are untyped
    transformer.enable_cache(diffusers.FirstBlockCacheConfig(threshold=threshold))


# --- option parsing ---------------------------------------------------------------------------------------------


def _flag(options: Mapping[str, Any], key: str) -> bool:
    value = options.get(key, False)
    if not isinstance(value, bool):
        raise EngineError("invalid_model_options", f"model option `{key}` must be true or false, not {value!r}")
    return value


def _backend_option(options: Mapping[str, Any]) -> str | None:
    value = options.get("attention_backend")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EngineError("invalid_model_options", f"model option `attention_backend` must be a name, not {value!r}")
    return value


def _threshold_option(options: Mapping[str, Any]) -> float | None:
    value = options.get("first_block_cache")
    if value is None or value is False or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise EngineError(
            "invalid_model_options",
            f"model option `first_block_cache` must be a threshold between 0 and 1 (e.g. 0.1), not {value!r}",
        )
    return float(value)


def _device_type(module: Any) -> str:
    for parameter in module.parameters():
        return str(parameter.device.type)
    return "cpu"
