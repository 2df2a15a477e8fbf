"""Tiny, randomly initialised image-to-video pipelines for CPU tests and the benchmark's smoke run.

Each one has the real pipeline's architecture (the same component classes, the same latent layout and
compression factors) at toy width, so it exercises exactly the code path a real model takes: it is saved in
diffusers format and loaded back by `DiffusionEngine` from its directory. Its frames are noise-like.

The component configs are plain dicts from the `*_config()` functions below, so that the benchmark can build
the same tiny transformer without writing a pipeline to disk.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Final

TINY_KINDS: Final = ("wan-ti2v", "wan-i2v", "ltx-i2v")

# Text and image towers, shared by every kind.
_TEXT_WIDTH: Final = 32
_CLIP_WIDTH: Final = 32

# Enough text for a unigram vocabulary that splits ordinary English prompts into real pieces.
_TOKENIZER_CORPUS: Final = (
    "a portrait of a woman smiling and turning her head slowly",
    "the camera pushes in while the wind moves her hair",
    "a cat blinks and looks around the room in soft light",
    "waves roll onto the beach under a bright blue sky",
    "a man waves his hand and nods, cinematic, high quality",
    "leaves fall from the tree as the sun sets behind the hills",
    "static, blurred details, worst quality, low quality, still picture",
)
_TOKENIZER_VOCAB_SIZE: Final = 200


# -- component configs --------------------------------------------------------------------------------


def wan_vae_config(kind: str) -> dict[str, Any]:
    """`AutoencoderKLWan` kwargs. Wan 2.2 TI2V's VAE packs 2x2 pixel patches into channels first (16x spatial
    compression in all); Wan 2.1's compresses 8x. Both compress time 4x."""
    if kind == "wan-ti2v":
        z_dim = 8
        return {
            "base_dim": 8,
            "decoder_base_dim": 8,
            "z_dim": z_dim,
            "dim_mult": [1, 2, 2, 2],
            "num_res_blocks": 1,
            "temperal_downsample": [False, True, True],
            "latents_mean": [0.0] * z_dim,
            "latents_std": [1.0] * z_dim,
            "is_residual": True,
            "in_channels": 12,
            "out_channels": 12,
            "patch_size": 2,
            "scale_factor_spatial": 16,
            "scale_factor_temporal": 4,
        }
    if kind == "wan-i2v":
        z_dim = 4
        return {
            "base_dim": 8,
            "z_dim": z_dim,
            "dim_mult": [1, 2, 2, 2],
            "num_res_blocks": 1,
            "temperal_downsample": [False, True, True],
            "latents_mean": [0.0] * z_dim,
            "latents_std": [1.0] * z_dim,
            "scale_factor_spatial": 8,
            "scale_factor_temporal": 4,
        }
    raise ValueError(f"no Wan VAE for kind {kind!r}")


def wan_transformer_config(kind: str) -> dict[str, Any]:
    """`WanTransformer3DModel` kwargs. TI2V denoises the latents alone (the first frame is mixed into them);
    2.1 I2V takes noise + the image's latents + a 4-channel mask, and attends to CLIP image tokens too."""
    heads, head_dim = 2, 12
    common: dict[str, Any] = {
        "patch_size": (1, 2, 2),
        "num_attention_heads": heads,
        "attention_head_dim": head_dim,
        "text_dim": _TEXT_WIDTH,
        "freq_dim": 32,
        "ffn_dim": 48,
        "num_layers": 2,
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "rope_max_seq_len": 32,
    }
    z_dim = wan_vae_config(kind)["z_dim"]
    if kind == "wan-ti2v":
        return {**common, "in_channels": z_dim, "out_channels": z_dim}
    if kind == "wan-i2v":
        mask_channels = wan_vae_config(kind)["scale_factor_temporal"]
        return {
            **common,
            "in_channels": 2 * z_dim + mask_channels,
            "out_channels": z_dim,
            "image_dim": _CLIP_WIDTH,
            "added_kv_proj_dim": heads * head_dim,
        }
    raise ValueError(f"no Wan transformer for kind {kind!r}")


def umt5_config(vocab_size: int) -> dict[str, Any]:
    """`UMT5Config` kwargs for Wan's text encoder."""
    return {
        "vocab_size": vocab_size,
        "d_model": _TEXT_WIDTH,
        "d_kv": 8,
        "d_ff": 64,
        "num_layers": 1,
        "num_heads": 4,
        "relative_attention_num_buckets": 8,
        "relative_attention_max_distance": 16,
    }


def t5_config(vocab_size: int) -> dict[str, Any]:
    """`T5Config` kwargs for LTX's text encoder."""
    return umt5_config(vocab_size)


def clip_vision_config() -> dict[str, Any]:
    """`CLIPVisionConfig` kwargs for Wan 2.1 I2V's image encoder."""
    return {
        "hidden_size": _CLIP_WIDTH,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "image_size": 32,
        "patch_size": 8,
        "projection_dim": _CLIP_WIDTH,
    }


def ltx_vae_config() -> dict[str, Any]:
    """`AutoencoderKLLTXVideo` kwargs: 32x spatial and 8x temporal compression, like LTX-Video's."""
    return {
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": 8,
        "block_out_channels": (8, 8, 8, 8),
        "decoder_block_out_channels": (8, 8, 8, 8),
        "layers_per_block": (1, 1, 1, 1, 1),
        "decoder_layers_per_block": (1, 1, 1, 1, 1),
        "spatio_temporal_scaling": (True, True, True, False),
        "decoder_spatio_temporal_scaling": (True, True, True, False),
        "decoder_inject_noise": (False, False, False, False, False),
        "upsample_residual": (False, False, False, False),
        "upsample_factor": (1, 1, 1, 1),
        "timestep_conditioning": False,
        "patch_size": 4,
        "patch_size_t": 1,
        "encoder_causal": True,
        "decoder_causal": False,
    }


def ltx_transformer_config() -> dict[str, Any]:
    """`LTXVideoTransformer3DModel` kwargs."""
    return {
        "in_channels": ltx_vae_config()["latent_channels"],
        "out_channels": ltx_vae_config()["latent_channels"],
        "patch_size": 1,
        "patch_size_t": 1,
        "num_attention_heads": 2,
        "attention_head_dim": 8,
        "cross_attention_dim": 16,
        "num_layers": 2,
        "caption_channels": _TEXT_WIDTH,
    }


# -- building -----------------------------------------------------------------------------------------


def build_tiny_pipeline(kind: str, directory: Path, *, seed: int = 0) -> Path:
    """Write a tiny random pipeline of `kind` ("wan-ti2v", "wan-i2v" or "ltx-i2v") in diffusers format to
    `directory` (created if needed) and return it. The same `seed` gives the same weights."""
    import torch

    if kind not in TINY_KINDS:
        raise ValueError(f"unknown tiny pipeline kind {kind!r}; known: {', '.join(TINY_KINDS)}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = train_tokenizer()
    pipe = _ltx_pipeline(tokenizer) if kind == "ltx-i2v" else _wan_pipeline(kind, tokenizer)
    pipe.save_pretrained(str(directory))
    return directory


def train_tokenizer() -> Any:
    """A T5-style unigram tokenizer trained here, offline, on a few prompts (the pipelines expect T5's)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import T5Tokenizer

    specials = ["<pad>", "</s>", "<unk>"]  # T5's order: pad 0, eos 1, unk 2
    trainer = trainers.UnigramTrainer(
        vocab_size=_TOKENIZER_VOCAB_SIZE, special_tokens=specials, unk_token="<unk>", show_progress=False
    )
    raw = Tokenizer(models.Unigram())
    raw.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    raw.train_from_iterator(_TOKENIZER_CORPUS, trainer=trainer)
    # Training is not repeatable to the last bit: scores vary in their last digits, and the single characters
    # it adds at the lowest score get tiny made-up differences in any order. Rounded to 0.1 and sorted (the
    # special tokens staying first), the vocabulary is the same on every run.
    trained = [(piece, round(float(score), 1)) for piece, score in json.loads(raw.to_str())["model"]["vocab"]]
    specials_first = trained[: len(specials)]
    vocab = specials_first + sorted(trained[len(specials) :], key=lambda item: (-item[1], item[0]))
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def _diffusers() -> Any:
    # diffusers' constructors are unannotated; reached through an Any so that strict mypy accepts the calls.
    return importlib.import_module("diffusers")


def _scheduler_for_wan() -> Any:
    diffusers = _diffusers()
    # Wan's own: UniPC on flow-matching sigmas.
    return diffusers.UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)


def _wan_pipeline(kind: str, tokenizer: Any) -> Any:
    diffusers = _diffusers()
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel, UMT5Config, UMT5EncoderModel

    text_encoder = UMT5EncoderModel(UMT5Config(**umt5_config(len(tokenizer))))
    vae = diffusers.AutoencoderKLWan(**wan_vae_config(kind))
    transformer = diffusers.WanTransformer3DModel(**wan_transformer_config(kind))
    image_encoder: Any = None
    image_processor: Any = None
    if kind == "wan-i2v":
        vision = clip_vision_config()
        image_encoder = CLIPVisionModel(CLIPVisionConfig(**vision))
        image_processor = CLIPImageProcessor(
            size={"shortest_edge": vision["image_size"]},
            crop_size={"height": vision["image_size"], "width": vision["image_size"]},
        )
    return diffusers.WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=_scheduler_for_wan(),
        image_processor=image_processor,
        image_encoder=image_encoder,
        transformer=transformer,
        # Wan 2.2 TI2V conditions on the first frame by pinning its latents (and their timestep) to the clean image.
        expand_timesteps=kind == "wan-ti2v",
    )


def _ltx_pipeline(tokenizer: Any) -> Any:
    diffusers = _diffusers()
    from transformers import T5Config, T5EncoderModel

    return diffusers.LTXImageToVideoPipeline(
        scheduler=diffusers.FlowMatchEulerDiscreteScheduler(),
        vae=diffusers.AutoencoderKLLTXVideo(**ltx_vae_config()),
        text_encoder=T5EncoderModel(T5Config(**t5_config(len(tokenizer)))),
        tokenizer=tokenizer,
        transformer=diffusers.LTXVideoTransformer3DModel(**ltx_transformer_config()),
    )
