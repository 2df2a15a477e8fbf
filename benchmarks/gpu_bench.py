"""GPU engine: one Wan transformer forward, stock diffusers vs ours, lever by lever, in one process.

For a preset (a full-size public model config, or "tiny" for the CPU smoke run) this builds diffusers'
`WanTransformer3DModel` with random weights directly on the device (speed does not depend on weight values;
building on the device in the target dtype avoids minutes of CPU initialisation for 5-14 B parameters), builds
inputs of the shapes the pipeline feeds it, and times one forward per variant:

- stock eager: bf16 weights (the modules diffusers keeps in fp32 kept so), torch's default attention kernel
- torch.compile, FP8 linear layers (torchao), 8-bit attention (SageAttention, if installed): one lever each
- ours: the levers the engine turns on, applied by `stillmotion.engines.diffusion.accel.apply_speedups`
- classifier-free guidance: two batch-1 forwards vs one batch-2 forward, timed per CFG step
- first-block cache (opt-in, lossy): a forward whose first block says "recompute" vs one that reuses the cache;
  it saves steps, not per-forward time, and how many steps hit depends on real weights, so it is reported apart
- VAE decode with and without tiling (with --vae, or for the tiny preset): peak memory and time

Each variant is built afresh from the same seed (same weights) and reports seconds per forward (CUDA events
on the GPU, after warm-up; the median of --repeats), achieved TFLOP/s, peak memory and the relative L2 error
of its output against stock eager. A variant that cannot run here, or fails, is a row saying why.

FLOPs per forward (batch 1), counted from the model's own modules:
    linear = sum over linear/conv layers of 2 * rows * weight parameters, rows being the tokens the layer is
             applied to (video tokens N, text tokens 512, image tokens 257, or 1 for a per-sample timestep)
    attention = layers * (4 * N^2 * d  [self]  +  4 * N * 512 * d  [text cross]  +  4 * N * 257 * d  [image])
    with d = heads * head_dim. Elementwise work (norms, RoPE, activations) is not counted.

Usage:
    python benchmarks/gpu_bench.py --preset wan2.2-ti2v-5b [--write] [--vae]
    python benchmarks/gpu_bench.py --preset tiny --device cpu [--skip compile] [--write --output /tmp/B.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import platform
import statistics
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import torch

from report import cpu_model, write_section

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "src"))

from stillmotion.engines.diffusion import accel  # noqa: E402

TEXT_TOKENS: Final = 512  # umT5 context length; Wan's attention processor hard-codes it
CLIP_IMAGE_TOKENS: Final = 257  # CLIP ViT-H/14 at 224 px: 16 x 16 patches + the class token
TIMESTEP: Final = 500.0
SEED: Final = 1234
SECTION_START: Final = "<!-- benchmark:gpu-engine:{preset}:start -->"
SECTION_END: Final = "<!-- benchmark:gpu-engine:{preset}:end -->"
# A random-weight VAE has no locality for the tile overlap to hide, so its tiled output differs much more than
# a trained one's: the error is printed, but not held to accel's bound.
TILING_ERROR_NOTE: Final = "; error vs untiled with random weights: not representative of trained weights"
VARIANTS: Final = ("eager", "compile", "fp8", "attention8", "ours", "cfg", "fbc", "vae")
# diffusers keeps these modules in fp32 when it loads a model in bf16 (WanTransformer3DModel._keep_in_fp32_modules
# in 0.42); the stock variant mirrors that so it is what `from_pretrained(torch_dtype=torch.bfloat16)` gives.
KEEP_IN_FP32_FALLBACK: Final = ("rope", "time_embedder", "scale_shift_table", "norm1", "norm2", "norm3")


@dataclass(frozen=True)
class Preset:
    """A transformer config plus the video it denoises. Shapes follow the Wan VAEs: frames compress
    4x in time ((F - 1) / 4 + 1 latent frames), pixels `vae_spatial`x in each spatial dimension."""

    name: str
    transformer: dict[str, Any]
    width: int
    height: int
    num_frames: int
    vae_spatial: int
    vae_temporal: int
    latent_channels: int  # the VAE's z_dim; the transformer may take more (I2V: + 4 mask + z condition)
    expand_timesteps: bool  # Wan 2.2 TI2V: one timestep per token (0 on the first frame's tokens)
    image_tokens: int | None  # Wan 2.1 I2V: CLIP image tokens prepended to the text context
    vae: dict[str, Any] = field(default_factory=dict)  # AutoencoderKLWan config
    vae_tile: tuple[int, int] | None = None  # (tile, stride) in pixels; None: diffusers' defaults (256, 192)

    @property
    def latent_shape(self) -> tuple[int, int, int, int]:
        """(channels, frames, height, width) of the transformer's input for one sample."""
        frames = (self.num_frames - 1) // self.vae_temporal + 1
        return (
            int(self.transformer["in_channels"]),
            frames,
            self.height // self.vae_spatial,
            self.width // self.vae_spatial,
        )

    @property
    def tokens(self) -> int:
        _, frames, height, width = self.latent_shape
        p_t, p_h, p_w = self.transformer["patch_size"]
        return (frames // p_t) * (height // p_h) * (width // p_w)

    @property
    def hidden_dim(self) -> int:
        return int(self.transformer["num_attention_heads"]) * int(self.transformer["attention_head_dim"])


# Wan-AI/Wan2.2-TI2V-5B-Diffusers: transformer/config.json and vae/config.json (the Wan 2.2 VAE: 16x spatial,
# 4x temporal, 48 latent channels, a 2x2 pixel patchify in front).
WAN22_TI2V_5B: Final = Preset(
    name="wan2.2-ti2v-5b",
    transformer={
        "patch_size": (1, 2, 2),
        "num_attention_heads": 24,
        "attention_head_dim": 128,
        "in_channels": 48,
        "out_channels": 48,
        "text_dim": 4096,
        "freq_dim": 256,
        "ffn_dim": 14336,
        "num_layers": 30,
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "eps": 1e-6,
        "image_dim": None,
        "added_kv_proj_dim": None,
        "rope_max_seq_len": 1024,
    },
    width=1280,
    height=704,
    num_frames=121,
    vae_spatial=16,
    vae_temporal=4,
    latent_channels=48,
    expand_timesteps=True,
    image_tokens=None,
    vae={
        "base_dim": 160,
        "decoder_base_dim": 256,
        "z_dim": 48,
        "dim_mult": [1, 2, 4, 4],
        "num_res_blocks": 2,
        "attn_scales": [],
        "temperal_downsample": [False, True, True],
        "in_channels": 12,
        "out_channels": 12,
        "patch_size": 2,
        "is_residual": True,
        "scale_factor_spatial": 16,
        "scale_factor_temporal": 4,
        "latents_mean": [0.0] * 48,
        "latents_std": [1.0] * 48,
    },
)

# Wan-AI/Wan2.1-I2V-14B-480P-Diffusers: 36 input channels = 16 noise + 4 first-frame mask + 16 condition latents;
# 257 CLIP image tokens of 1280 features. The Wan 2.1 VAE is 8x spatial, 4x temporal, 16 channels (the
# AutoencoderKLWan defaults).
WAN21_I2V_14B: Final = Preset(
    name="wan2.1-i2v-14b",
    transformer={
        "patch_size": (1, 2, 2),
        "num_attention_heads": 40,
        "attention_head_dim": 128,
        "in_channels": 36,
        "out_channels": 16,
        "text_dim": 4096,
        "freq_dim": 256,
        "ffn_dim": 13824,
        "num_layers": 40,
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "eps": 1e-6,
        "image_dim": 1280,
        "added_kv_proj_dim": 5120,
        "rope_max_seq_len": 1024,
    },
    width=832,
    height=480,
    num_frames=81,
    vae_spatial=8,
    vae_temporal=4,
    latent_channels=16,
    expand_timesteps=False,
    image_tokens=CLIP_IMAGE_TOKENS,
    vae={},
)

# A few-thousand-parameter Wan for the CPU smoke run: the I2V code path (image tokens, added K/V) and
# per-token timesteps, so every branch of the forward the full presets use runs.
TINY: Final = Preset(
    name="tiny",
    transformer={
        "patch_size": (1, 2, 2),
        "num_attention_heads": 2,
        "attention_head_dim": 16,
        "in_channels": 12,
        "out_channels": 4,
        "text_dim": 32,
        "freq_dim": 32,
        "ffn_dim": 64,
        "num_layers": 2,
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "eps": 1e-6,
        "image_dim": 24,
        "added_kv_proj_dim": 32,  # the image embedder maps image_dim to the hidden size, which add_k_proj reads
        "rope_max_seq_len": 64,
    },
    width=64,
    height=64,
    num_frames=5,
    vae_spatial=8,
    vae_temporal=4,
    latent_channels=4,
    expand_timesteps=True,
    image_tokens=CLIP_IMAGE_TOKENS,
    vae={"base_dim": 8, "z_dim": 4, "dim_mult": [1, 2, 2, 2], "num_res_blocks": 1},
    vae_tile=(32, 24),
)

PRESETS: Final = {preset.name: preset for preset in (WAN22_TI2V_5B, WAN21_I2V_14B, TINY)}


@dataclass(frozen=True)
class Flops:
    linear: float
    attention: float

    @property
    def total(self) -> float:
        return self.linear + self.attention


@dataclass(frozen=True)
class Outcome:
    """One row of the table. `status` is "ok", or "skipped: why" / "failed: why" with no numbers."""

    name: str
    status: str = "ok"
    seconds: float | None = None  # per forward, or per CFG step for the CFG rows
    tflops: float | None = None
    peak_gib: float | None = None
    rel_l2: float | None = None
    bound: float | None = None
    note: str = ""


@dataclass
class Context:
    preset: Preset
    device: torch.device
    dtype: torch.dtype
    warmup: int
    repeats: int
    flops: Flops
    reference: torch.Tensor | None = None  # stock eager output, cond inputs
    reference_uncond: torch.Tensor | None = None  # stock eager output, uncond inputs


# --- building the model and its inputs ---------------------------------------------------------------------------


def build_transformer(preset: Preset, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """The transformer with seeded random weights, built on `device` in `dtype` directly (every build gives
    the same weights); the modules diffusers keeps in fp32 are fp32, as after `from_pretrained`."""
    from diffusers import WanTransformer3DModel

    torch.manual_seed(SEED)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = WanTransformer3DModel(**preset.transformer)
    finally:
        torch.set_default_dtype(previous)
    keep = tuple(getattr(model, "_keep_in_fp32_modules", None) or KEEP_IN_FP32_FALLBACK)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if any(part in keep for part in name.split(".")):
                parameter.data = parameter.data.float()
    model.eval().requires_grad_(False)
    return model


def build_inputs(preset: Preset, device: torch.device, dtype: torch.dtype, *, batch: int = 1) -> dict[str, Any]:
    """Transformer inputs as the Wan pipelines build them, cond first then uncond (batch 2 = one CFG step):
    hidden_states (B, C_in, F_lat, H_lat, W_lat); timestep (B, N) for TI2V, else (B,); encoder_hidden_states
    (B, 512, text_dim), the uncond half another prompt; encoder_hidden_states_image (B, 257, image_dim) for I2V."""
    generator = torch.Generator(device="cpu").manual_seed(SEED + 1)

    def noise(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator).to(device=device, dtype=dtype)

    latent = noise(1, *preset.latent_shape)
    text = noise(2, TEXT_TOKENS, int(preset.transformer["text_dim"]))[:batch] if batch <= 2 else None
    if text is None:
        raise ValueError("batch is 1 (cond) or 2 (cond + uncond)")
    inputs: dict[str, Any] = {
        "hidden_states": latent.expand(batch, -1, -1, -1, -1).contiguous(),
        "encoder_hidden_states": text,
        "return_dict": False,
    }
    if preset.expand_timesteps:
        _, frames, height, width = preset.latent_shape
        p_t, p_h, p_w = preset.transformer["patch_size"]
        per_token = torch.full((frames // p_t, height // p_h, width // p_w), TIMESTEP, device=device)
        per_token[0] = 0.0  # the first latent frame is the given image: already clean
        inputs["timestep"] = per_token.flatten().unsqueeze(0).expand(batch, -1)
    else:
        inputs["timestep"] = torch.full((batch,), TIMESTEP, device=device)
    if preset.image_tokens is not None:
        image = noise(1, preset.image_tokens, int(preset.transformer["image_dim"]))
        inputs["encoder_hidden_states_image"] = image.expand(batch, -1, -1).contiguous()
    return inputs


def uncond_inputs(inputs: dict[str, Any], preset: Preset, device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    """Batch-1 inputs for the uncond branch: the second text of `build_inputs(batch=2)`."""
    both = build_inputs(preset, device, dtype, batch=2)
    return {**inputs, "encoder_hidden_states": both["encoder_hidden_states"][1:]}


def count_flops(preset: Preset) -> Flops:
    """FLOPs of one batch-1 forward (see the module docstring), from a model built on the meta device."""
    from diffusers import WanTransformer3DModel

    with torch.device("meta"):
        model = WanTransformer3DModel(**preset.transformer)
    tokens = preset.tokens
    image_tokens = preset.image_tokens or 0

    def rows(name: str) -> int:
        if name.startswith("condition_embedder.text_embedder") or name.endswith(("attn2.to_k", "attn2.to_v")):
            return TEXT_TOKENS
        if name.startswith("condition_embedder.image_embedder") or name.endswith(("add_k_proj", "add_v_proj")):
            return image_tokens
        if name.startswith(("condition_embedder.time_embedder", "condition_embedder.time_proj")):
            return tokens if preset.expand_timesteps else 1
        return tokens

    linear = sum(
        2 * rows(name) * module.weight.numel()
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear | torch.nn.Conv3d)
    )
    d = preset.hidden_dim
    per_layer = 4 * tokens * tokens * d + 4 * tokens * TEXT_TOKENS * d + 4 * tokens * image_tokens * d
    return Flops(linear=float(linear), attention=float(int(preset.transformer["num_layers"]) * per_layer))


# --- measuring ---------------------------------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(action: Callable[[], object], device: torch.device) -> float:
    """Seconds one call takes: CUDA events on a GPU, the wall clock elsewhere."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        action()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end)) / 1000
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def median_seconds(action: Callable[[], object], ctx: Context) -> float:
    for _ in range(ctx.warmup):
        action()
    synchronize(ctx.device)
    return statistics.median(time_call(action, ctx.device) for _ in range(ctx.repeats))


def relative_l2(output: torch.Tensor, reference: torch.Tensor) -> float:
    difference = output.float() - reference.float()
    return float(difference.norm() / reference.float().norm().clamp_min(1e-30))


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**30


def release(device: torch.device) -> None:
    gc.collect()
    torch._dynamo.reset()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def forward(model: torch.nn.Module, inputs: dict[str, Any]) -> torch.Tensor:
    output = model(**inputs)
    return output[0] if isinstance(output, tuple) else output.sample  # (B, C_out, F_lat, H_lat, W_lat)


@contextmanager
def guarded(rows: list[Outcome], name: str, device: torch.device) -> Iterator[None]:
    """Turn any failure inside into a "failed" row; free what the variant held either way."""
    try:
        yield
    except Exception as error:  # a variant that breaks is a row of the table, never a crash of the benchmark
        message = " ".join(str(error).split())[:160]
        rows.append(Outcome(name, status=f"failed: {type(error).__name__}: {message}"))
    finally:
        release(device)


def measure_forward(
    ctx: Context,
    name: str,
    prepare: Callable[[torch.nn.Module], str | None],
    *,
    bound: float | None,
    note: str = "",
) -> Outcome:
    """Build the model, let `prepare` apply a lever (or return why it cannot), and time one batch-1 forward."""
    model = build_transformer(ctx.preset, ctx.device, ctx.dtype)
    why_not = prepare(model)
    if why_not is not None:
        return Outcome(name, status=f"skipped: {why_not}")
    inputs = build_inputs(ctx.preset, ctx.device, ctx.dtype)
    with torch.no_grad():
        reset_peak(ctx.device)
        seconds = median_seconds(lambda: forward(model, inputs), ctx)
        output = forward(model, inputs)
        peak = peak_gib(ctx.device)
        if ctx.reference is None:  # this is stock eager: it becomes the reference
            ctx.reference = output.detach().clone()
            ctx.reference_uncond = forward(model, uncond_inputs(inputs, ctx.preset, ctx.device, ctx.dtype)).clone()
    return Outcome(
        name,
        seconds=seconds,
        tflops=ctx.flops.total / seconds / 1e12,
        peak_gib=peak,
        rel_l2=relative_l2(output, ctx.reference),
        bound=bound,
        note=note,
    )


def measure_cfg(ctx: Context, name: str, prepare: Callable[[torch.nn.Module], str | None], *, batched: bool) -> Outcome:
    """One CFG step: cond + uncond as two batch-1 forwards, or as one batch-2 forward."""
    model = build_transformer(ctx.preset, ctx.device, ctx.dtype)
    why_not = prepare(model)
    if why_not is not None:
        return Outcome(name, status=f"skipped: {why_not}")
    both = build_inputs(ctx.preset, ctx.device, ctx.dtype, batch=2)
    cond = build_inputs(ctx.preset, ctx.device, ctx.dtype)
    uncond = uncond_inputs(cond, ctx.preset, ctx.device, ctx.dtype)

    def step() -> torch.Tensor:
        if batched:
            return forward(model, both)
        return torch.cat([forward(model, cond), forward(model, uncond)])

    with torch.no_grad():
        reset_peak(ctx.device)
        seconds = median_seconds(step, ctx)
        output = step()
        peak = peak_gib(ctx.device)
    assert ctx.reference is not None and ctx.reference_uncond is not None
    reference = torch.cat([ctx.reference, ctx.reference_uncond])
    return Outcome(
        name,
        seconds=seconds,
        tflops=2 * ctx.flops.total / seconds / 1e12,
        peak_gib=peak,
        rel_l2=relative_l2(output, reference),
        note="per CFG step (2 forwards)",
    )


def measure_first_block_cache(ctx: Context, threshold: float) -> list[Outcome]:
    """A forward that recomputes every block (the cache is reset first: "miss") and one that reuses the cached
    residual of the other blocks ("hit": identical inputs, so the first block's change is 0)."""
    model = build_transformer(ctx.preset, ctx.device, ctx.dtype)
    accel.enable_first_block_cache(model, threshold)
    inputs = build_inputs(ctx.preset, ctx.device, ctx.dtype)
    cache_model: Any = model

    def miss() -> torch.Tensor:
        cache_model._reset_stateful_cache()
        with cache_model.cache_context("cond"):
            return forward(model, inputs)

    def hit() -> torch.Tensor:
        with cache_model.cache_context("cond"):
            return forward(model, inputs)

    rows = []
    assert ctx.reference is not None
    with torch.no_grad():
        for label, action, note in (
            ("miss", miss, "every block computed, plus the cache check"),
            ("hit", hit, "first block only; a step saved"),
        ):
            reset_peak(ctx.device)
            seconds = median_seconds(action, ctx)
            output = action()
            rows.append(
                Outcome(
                    f"first-block cache {threshold:g}, {label} (opt-in)",
                    seconds=seconds,
                    peak_gib=peak_gib(ctx.device),
                    rel_l2=relative_l2(output, ctx.reference),
                    note=note,
                )
            )
    return rows


def measure_vae(ctx: Context) -> list[Outcome]:
    """Peak memory and time of decoding the preset's latents (fp32 VAE, as the Wan pipelines recommend) with
    and without spatial tiling; the tiled output's error is against the untiled one."""
    from diffusers import AutoencoderKLWan

    torch.manual_seed(SEED)
    with torch.device(ctx.device):
        vae: Any = AutoencoderKLWan(**ctx.preset.vae).eval().requires_grad_(False)
    _, frames, height, width = ctx.preset.latent_shape
    generator = torch.Generator(device="cpu").manual_seed(SEED + 2)
    latents = torch.randn(1, ctx.preset.latent_channels, frames, height, width, generator=generator)
    latents = latents.to(ctx.device)
    size = f"{ctx.preset.width}x{ctx.preset.height}x{ctx.preset.num_frames}"
    rows: list[Outcome] = []
    untiled: torch.Tensor | None = None
    with torch.no_grad():
        for tiled in (False, True):
            if tiled:
                tile = ctx.preset.vae_tile
                if tile is None:
                    vae.enable_tiling()
                else:
                    vae.enable_tiling(
                        tile_sample_min_height=tile[0],
                        tile_sample_min_width=tile[0],
                        tile_sample_stride_height=tile[1],
                        tile_sample_stride_width=tile[1],
                    )
            reset_peak(ctx.device)
            video = vae.decode(latents, return_dict=False)[0]  # (1, 3, F, H, W) in -1 .. 1; also the warm-up
            seconds = time_call(lambda: vae.decode(latents, return_dict=False), ctx.device)
            if untiled is None:
                untiled = video
            rows.append(
                Outcome(
                    f"VAE decode, {'tiled' if tiled else 'untiled'}",
                    seconds=seconds,
                    peak_gib=peak_gib(ctx.device),
                    rel_l2=relative_l2(video, untiled) if tiled else None,
                    note=f"{size}, one timed run after one warm-up" + (TILING_ERROR_NOTE if tiled else ""),
                )
            )
    return rows


# --- the variants --------------------------------------------------------------------------------------------------


def eight_bit_backend() -> str:
    return "sage"


def ours_options() -> dict[str, Any]:
    """The model options the engine is run with for "ours": every per-forward lever that stays in its bound."""
    options: dict[str, Any] = {"fp8": True, "compile": True}
    if accel.why_not_attention_backend(eight_bit_backend()) is None:
        options["attention_backend"] = eight_bit_backend()
    return options


def run(ctx: Context, *, skip: set[str], cache_threshold: float) -> list[Outcome]:
    rows: list[Outcome] = []
    device = ctx.device
    compile_reason = accel.why_not_compile(device.type) if "compile" not in skip else "skipped with --skip compile"

    def nothing(_model: torch.nn.Module) -> str | None:
        return None

    def compiled(model: torch.nn.Module) -> str | None:
        if compile_reason is not None:
            return compile_reason
        accel.compile_transformer(model)
        return None

    def fp8(model: torch.nn.Module) -> str | None:
        why_not = accel.why_not_fp8(model)
        if why_not is None:
            accel.quantize_fp8(model)
        return why_not

    def attention8(model: torch.nn.Module) -> str | None:
        why_not = accel.why_not_attention_backend(eight_bit_backend())
        if why_not is None:
            accel.set_attention(model, eight_bit_backend())
        return why_not

    options = ours_options()
    if "compile" in skip:
        options["compile"] = False
    applied: list[str] = []  # what apply_speedups applied on the last "ours" build

    def ours(model: torch.nn.Module) -> str | None:
        # The engine's own entry point, on a pipeline-shaped holder of the transformer.
        applied[:] = accel.apply_speedups(types.SimpleNamespace(transformer=model), options)
        return None

    def name_ours(row: Outcome) -> Outcome:
        if row.status != "ok":
            return row
        wanted = _lever_names(options)
        left_out = [lever for lever in wanted if lever not in applied]
        label = " + ".join(applied) if applied else "no lever applies here"
        missing = f"not applicable here: {', '.join(left_out)} (see the rows above)" if left_out else ""
        note = "; ".join(part for part in (row.note, missing) if part)
        bound = sum(accel.RELATIVE_L2_BOUND[lever.split(":")[0]] for lever in applied) or None
        return replace(row, name=row.name.replace("ours", f"ours: {label}"), note=note, bound=bound)

    with guarded(rows, "stock eager", device):
        rows.append(measure_forward(ctx, "stock eager", nothing, bound=None, note="torch's default attention"))
    if ctx.reference is None:
        rows.append(Outcome("(all other variants)", status="skipped: stock eager failed, no reference"))
        return rows

    forward_variants: list[tuple[str, str, Callable[[torch.nn.Module], str | None], float | None]] = [
        ("compile", "torch.compile (repeated blocks)", compiled, accel.RELATIVE_L2_BOUND["compile"]),
        ("fp8", "fp8 linear layers (torchao)", fp8, accel.RELATIVE_L2_BOUND["fp8"]),
        ("attention8", "8-bit attention (sage)", attention8, accel.RELATIVE_L2_BOUND["attention"]),
        ("ours", "ours", ours, None),
    ]
    for key, name, prepare, bound in forward_variants:
        if key in skip:
            rows.append(Outcome(name, status=f"skipped with --skip {key}"))
            continue
        with guarded(rows, name, device):
            row = measure_forward(ctx, name, prepare, bound=bound)
            rows.append(name_ours(row) if key == "ours" else row)

    if "cfg" not in skip:
        for name, prepare, batched in (
            ("CFG step, two batch-1 forwards (stock)", nothing, False),
            ("CFG step, one batch-2 forward (stock)", nothing, True),
            ("CFG step, one batch-2 forward (ours)", ours, True),
        ):
            with guarded(rows, name, device):
                row = measure_cfg(ctx, name, prepare, batched=batched)
                rows.append(name_ours(replace(row, bound=None)) if prepare is ours else row)
    if "fbc" not in skip:
        with guarded(rows, f"first-block cache {cache_threshold:g}", device):
            rows.extend(measure_first_block_cache(ctx, cache_threshold))
    return rows


def _lever_names(options: dict[str, Any]) -> list[str]:
    names = [f"attention:{options['attention_backend']}"] if options.get("attention_backend") else []
    return names + [key for key in ("fp8", "compile") if options.get(key)]


# --- reporting -------------------------------------------------------------------------------------------------


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    return f"CPU: {cpu_model()}, {torch.get_num_threads()} torch threads"


def versions() -> str:
    import diffusers

    parts = [f"Python {platform.python_version()}", f"torch {torch.__version__}", f"diffusers {diffusers.__version__}"]
    try:
        import torchao

        parts.append(f"torchao {torchao.__version__}")
    except Exception:
        parts.append("torchao not importable")
    return ", ".join(parts)


def shape_lines(preset: Preset, flops: Flops, dtype: torch.dtype) -> list[str]:
    channels, frames, height, width = preset.latent_shape
    image = (
        f"; image context (1, {preset.image_tokens}, {preset.transformer['image_dim']}) (CLIP tokens)"
        if preset.image_tokens
        else ""
    )
    timestep = f"(1, {preset.tokens}) per token" if preset.expand_timesteps else "(1,)"
    params = sum(math.prod(shape) for shape in _parameter_shapes(preset))
    return [
        f"- video {preset.width}x{preset.height}x{preset.num_frames} -> latents (1, {channels}, {frames}, {height}, "
        f"{width}) (VAE {preset.vae_spatial}x spatial, {preset.vae_temporal}x temporal) -> "
        f"{preset.tokens} tokens (patch {tuple(preset.transformer['patch_size'])}), hidden size {preset.hidden_dim}, "
        f"{preset.transformer['num_layers']} layers, {_count(params)} parameters",
        f"- text context (1, {TEXT_TOKENS}, {preset.transformer['text_dim']}); timestep {timestep}{image}; "
        f"weights {str(dtype).removeprefix('torch.')} (diffusers' fp32 modules kept fp32)",
        f"- FLOPs per forward: {flops.total / 1e12:.4g} TFLOP = linear {flops.linear / 1e12:.4g} + attention "
        f"{flops.attention / 1e12:.4g} ({100 * flops.attention / flops.total:.0f}% attention)",
    ]


def _count(value: float) -> str:
    return f"{value / 1e9:.2f} B" if value >= 1e8 else f"{value / 1e3:.1f} k"


def _parameter_shapes(preset: Preset) -> list[tuple[int, ...]]:
    from diffusers import WanTransformer3DModel

    with torch.device("meta"):
        model = WanTransformer3DModel(**preset.transformer)
    return [tuple(parameter.shape) for parameter in model.parameters()]


def _cell(value: float | None, spec: str, missing: str = "n/a") -> str:
    return missing if value is None else format(value, spec)


def table_rows(rows: list[Outcome], device: torch.device) -> list[list[str]]:
    """Cells per row: variant, s, TFLOP/s, peak GiB, rel L2, bound, status/note."""
    baseline = next((row.seconds for row in rows if row.name == "stock eager" and row.seconds), None)
    cells = []
    for row in rows:
        if row.status != "ok":
            cells.append([row.name, "-", "-", "-", "-", "-", "-", row.status])
            continue
        speedup = (
            f"{baseline / row.seconds:.2f}x"
            if baseline and row.seconds and not row.name.startswith(("CFG", "VAE", "first-block"))
            else ""
        )
        within = ""
        if row.bound is not None and row.rel_l2 is not None:
            within = f"{row.bound:g} ({'ok' if row.rel_l2 <= row.bound else 'OVER'})"
        cells.append(
            [
                row.name,
                _cell(row.seconds, ".4f"),
                speedup,
                _cell(row.tflops, ".3g" if device.type == "cpu" else ".0f"),
                _cell(row.peak_gib, ".2f", "n/a (CPU)" if device.type == "cpu" else "n/a"),
                _cell(row.rel_l2, ".2e", ""),
                within,
                row.note,
            ]
        )
    return cells


HEADERS: Final = ["variant", "s / forward", "vs eager", "TFLOP/s", "peak GiB", "rel. L2 vs eager", "bound", "note"]


def render_section(
    ctx: Context, rows: list[Outcome], *, cpu_smoke: bool, repeats: int, warmup: int, notes: list[str]
) -> str:
    preset = ctx.preset
    start, end = SECTION_START.format(preset=preset.name), SECTION_END.format(preset=preset.name)
    title = f"### {preset.name}" + (" (CPU smoke run, tiny config: not a speed figure)" if cpu_smoke else "")
    lines = [
        start,
        title,
        "",
        f"- device: {device_name(ctx.device)}",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- versions: {versions()}",
        *shape_lines(preset, ctx.flops, ctx.dtype),
        f"- timing: median of {repeats} after {warmup} warm-up forwards"
        + (", CUDA events" if ctx.device.type == "cuda" else ", wall clock"),
        *(f"- {note}" for note in notes),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|---|" + "---:|" * 6 + "---|",
        *("| " + " | ".join(cells) + " |" for cells in table_rows(rows, ctx.device)),
        end,
    ]
    return "\n".join(lines) + "\n"


def print_table(ctx: Context, rows: list[Outcome]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    table = Table(title=f"{ctx.preset.name} on {device_name(ctx.device)}")
    for header in HEADERS:
        table.add_column(header, justify="left" if header in ("variant", "note") else "right")
    for cells in table_rows(rows, ctx.device):
        table.add_row(*cells)
    console.print(table)
    for line in shape_lines(ctx.preset, ctx.flops, ctx.dtype):
        console.print(line)
    console.print(
        "FLOP formula: linear = sum 2 * rows * weight params (rows: tokens the layer sees); attention = layers * "
        "(4 N^2 d + 4 N 512 d + 4 N 257 d [I2V])"
    )


def main(argv: list[str] | None = None) -> list[Outcome]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default=WAN22_TI2V_5B.name)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=("bfloat16", "float32"), help="default: bfloat16 on CUDA, float32 on CPU")
    parser.add_argument("--repeats", type=int, default=5, help="timed forwards per variant; the median is kept")
    parser.add_argument("--warmup", type=int, default=2, help="untimed forwards first (compilation happens here)")
    parser.add_argument("--skip", action="append", default=[], choices=VARIANTS, help="leave a variant out")
    parser.add_argument("--first-block-cache", type=float, default=0.1, help="threshold of the opt-in cache row")
    parser.add_argument("--vae", action="store_true", help="also decode with and without VAE tiling (full presets)")
    parser.add_argument("--write", action="store_true", help="write the table to BENCHMARKS.md (or --output)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)

    preset = PRESETS[args.preset]
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype) if args.dtype else (torch.bfloat16 if device.type == "cuda" else torch.float32)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but CUDA is not available; use --preset tiny --device cpu for the smoke run")
    skip = set(args.skip)
    ctx = Context(
        preset=preset,
        device=device,
        dtype=dtype,
        warmup=max(0, args.warmup),
        repeats=max(1, args.repeats),
        flops=count_flops(preset),
    )
    rows = run(ctx, skip=skip, cache_threshold=args.first_block_cache)
    notes: list[str] = []
    if "vae" not in skip and (args.vae or preset is TINY):
        with guarded(rows, "VAE decode", device):
            rows.extend(measure_vae(ctx))
    else:
        notes.append("VAE decode with and without tiling: not measured in this run (pass --vae)")
    print_table(ctx, rows)
    if args.write:
        section = render_section(
            ctx, rows, cpu_smoke=device.type == "cpu", repeats=ctx.repeats, warmup=ctx.warmup, notes=notes
        )
        start, end = SECTION_START.format(preset=preset.name), SECTION_END.format(preset=preset.name)
        write_section(args.output, section, start=start, end=end)
        print(f"wrote {args.output}")
    return rows


if __name__ == "__main__":
    main()
