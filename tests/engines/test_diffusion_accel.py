"""apply_speedups on a tiny random Wan transformer (and VAE) on the CPU: off means untouched, levers that cannot
work here are skipped with a reason, levers that apply keep the output within their stated bound."""

from __future__ import annotations

import logging
import types
from typing import Any

import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from stillmotion.engines.base import EngineError  # noqa: E402
from stillmotion.engines.diffusion import accel  # noqa: E402

TEXT_TOKENS = 512  # Wan's attention processor splits image context from exactly 512 text tokens


def tiny_transformer() -> Any:
    torch.manual_seed(0)
    model = diffusers.WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=16,
        in_channels=4,
        out_channels=4,
        text_dim=16,
        freq_dim=16,
        ffn_dim=32,
        num_layers=2,
        rope_max_seq_len=32,
    )
    return model.eval().requires_grad_(False)


def tiny_vae() -> Any:
    return diffusers.AutoencoderKLWan(
        base_dim=8, z_dim=4, dim_mult=[1, 2], num_res_blocks=1, temperal_downsample=[False]
    )


def tiny_inputs(seed: int = 1) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "hidden_states": torch.randn(1, 4, 2, 4, 4, generator=generator),  # (B, C, F, H, W) latents
        "timestep": torch.tensor([500.0]),
        "encoder_hidden_states": torch.randn(1, TEXT_TOKENS, 16, generator=generator),
        "return_dict": False,
    }


def run(transformer: Any, inputs: dict[str, Any]) -> Any:
    with torch.no_grad():
        return transformer(**inputs)[0]


def relative_l2(output: Any, reference: Any) -> float:
    return float((output - reference).norm() / reference.norm())


def pipe_with(transformer: Any, vae: Any = None) -> types.SimpleNamespace:
    return types.SimpleNamespace(transformer=transformer, vae=vae)


def test_no_options_apply_nothing_and_leave_the_output_unchanged() -> None:
    transformer = tiny_transformer()
    inputs = tiny_inputs()
    before = run(transformer, inputs)
    vae = tiny_vae()
    options = {"width": 64, "compile": False, "fp8": False, "vae_tiling": False, "first_block_cache": 0}

    assert accel.apply_speedups(pipe_with(transformer, vae), options) == []
    assert accel.apply_speedups(pipe_with(transformer, vae), {}) == []

    assert torch.equal(run(transformer, inputs), before)
    assert not vae.use_tiling
    assert not transformer.is_cache_enabled


def test_fp8_is_skipped_on_the_cpu_with_a_reason(caplog: pytest.LogCaptureFixture) -> None:
    transformer = tiny_transformer()
    inputs = tiny_inputs()
    before = run(transformer, inputs)
    with caplog.at_level(logging.WARNING, logger=accel.__name__):
        applied = accel.apply_speedups(pipe_with(transformer), {"fp8": True})
    assert applied == []
    assert "speed lever fp8 skipped: needs CUDA with compute capability >= 8.9" in caplog.text
    linears = [module for module in transformer.modules() if isinstance(module, torch.nn.Linear)]
    assert linears and all(type(module.weight.data) is torch.Tensor for module in linears)  # not a quantized subclass
    assert torch.equal(run(transformer, inputs), before)


def test_compile_is_skipped_when_inductor_does_not_work(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(accel, "why_not_compile", lambda device_type: f"inductor does not work on {device_type}")
    transformer = tiny_transformer()
    with caplog.at_level(logging.WARNING, logger=accel.__name__):
        assert accel.apply_speedups(pipe_with(transformer), {"compile": True}) == []
    assert "speed lever compile skipped: inductor does not work on cpu" in caplog.text


def test_a_lever_that_fails_while_applying_is_skipped_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(transformer: Any) -> None:
        raise RuntimeError("no kernel for this shape")

    monkeypatch.setattr(accel, "why_not_fp8", lambda transformer: None)
    monkeypatch.setattr(accel, "quantize_fp8", broken)
    with caplog.at_level(logging.WARNING, logger=accel.__name__):
        assert accel.apply_speedups(pipe_with(tiny_transformer()), {"fp8": True, "vae_tiling": False}) == []
    assert "speed lever fp8 skipped: RuntimeError: no kernel for this shape" in caplog.text


def test_an_attention_backend_that_applies_keeps_the_output_within_its_bound() -> None:
    transformer = tiny_transformer()
    inputs = tiny_inputs()
    reference = run(transformer, inputs)

    applied = accel.apply_speedups(pipe_with(transformer), {"attention_backend": "_native_math"})

    assert applied == ["attention:_native_math"]
    assert relative_l2(run(transformer, inputs), reference) <= accel.RELATIVE_L2_BOUND["attention"]


def test_attention_backends_that_cannot_run_here_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=accel.__name__):
        assert accel.apply_speedups(pipe_with(tiny_transformer()), {"attention_backend": "sage_hub"}) == []
        assert accel.apply_speedups(pipe_with(tiny_transformer()), {"attention_backend": "sage"}) == []
    assert "downloads kernels from the Hub" in caplog.text
    assert "speed lever attention:sage skipped:" in caplog.text


def test_first_block_cache_computes_the_first_step_fully_and_reuses_it_for_a_near_identical_one() -> None:
    transformer = tiny_transformer()
    inputs = tiny_inputs()
    reference = run(transformer, inputs)
    nudged = {**inputs, "hidden_states": inputs["hidden_states"] * 1.001}
    uncached_nudged = run(transformer, nudged)

    assert accel.apply_speedups(pipe_with(transformer), {"first_block_cache": 0.1}) == ["first_block_cache"]

    with transformer.cache_context("cond"):
        first = run(transformer, inputs)
        second = run(transformer, nudged)  # the first block barely changes: the other blocks are skipped
    assert relative_l2(first, reference) < 1e-5
    # Reused, so it equals neither the exact nudged output nor (quite) the first one; but it stays close.
    assert not torch.equal(second, uncached_nudged)
    assert relative_l2(second, uncached_nudged) < 0.05


def test_vae_tiling_is_turned_on_and_a_pipeline_without_a_vae_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    vae = tiny_vae()
    assert accel.apply_speedups(types.SimpleNamespace(vae=vae), {"vae_tiling": True}) == ["vae_tiling"]
    assert vae.use_tiling
    with caplog.at_level(logging.WARNING, logger=accel.__name__):
        assert accel.apply_speedups(types.SimpleNamespace(), {"vae_tiling": True, "compile": True}) == []
    assert "the pipeline has no transformer" in caplog.text and "vae_tiling skipped" in caplog.text


@pytest.mark.parametrize(
    "options",
    [{"compile": "yes"}, {"fp8": 1}, {"first_block_cache": 2.0}, {"first_block_cache": True}, {"attention_backend": 8}],
)
def test_malformed_options_are_an_engine_error(options: dict[str, Any]) -> None:
    with pytest.raises(EngineError) as raised:
        accel.apply_speedups(pipe_with(tiny_transformer()), options)
    assert raised.value.code == "invalid_model_options"
    assert next(iter(options)) in str(raised.value)
