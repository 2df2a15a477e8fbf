"""The diffusion engine on tiny random pipelines (built here, saved in diffusers format, loaded back through
the same code path a real model takes): output format, seeds, progress, cancel, out-of-memory, missing
weights, and the size and frame-count rules."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import torch
from PIL import Image

from stillmotion.domain.models import ModelSpec
from stillmotion.engines.base import Cancelled, EngineError, RenderRequest, RenderResult
from stillmotion.engines.diffusion import DiffusionEngine
from stillmotion.engines.diffusion.engine import ModelRules, output_size, pipeline_family, snap_frame_count
from stillmotion.engines.diffusion.tiny import build_tiny_pipeline
from stillmotion.media.video import probe_video, read_frames

Frames = list[npt.NDArray[np.uint8]]  # each (H, W, 3) uint8 RGB

# Small enough for a render in about a second on a CPU; 9 frames = 4k+1 (Wan) and 8k+1 (LTX).
TINY_OPTIONS: dict[str, Any] = {
    "width": 64,
    "height": 64,
    "num_frames": 9,
    "fps": 8,
    "num_inference_steps": 2,
    "max_sequence_length": 16,
}


def png_bytes(width: int, height: int) -> bytes:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    pixels = np.stack([128 + 100 * np.sin(xx / 5), 128 + 100 * np.cos(yy / 7), 0 * xx + 90], axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


IMAGE = png_bytes(80, 60)


def request(**changes: Any) -> RenderRequest:
    fields: dict[str, Any] = {"image": IMAGE, "prompt": "a cat blinks", "duration_s": 1.0, "seed": 7}
    return RenderRequest(**{**fields, **changes})


def render(engine: DiffusionEngine, path: Path, **changes: Any) -> tuple[RenderResult, list[float]]:
    progress: list[float] = []
    return engine.render(request(**changes), path, on_progress=progress.append), progress


@pytest.fixture(scope="module")
def ti2v_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_pipeline("wan-ti2v", tmp_path_factory.mktemp("tiny") / "wan-ti2v")


@pytest.fixture(scope="module")
def engine(ti2v_dir: Path) -> DiffusionEngine:
    """One engine for the module: its pipeline loads once, as in the engine host."""
    return DiffusionEngine(
        ModelSpec(id="tiny-wan-ti2v", engine="diffusion", weights=str(ti2v_dir), options=TINY_OPTIONS)
    )


def test_renders_a_playable_mp4_at_the_model_fps(engine: DiffusionEngine, tmp_path: Path) -> None:
    result, _ = render(engine, tmp_path / "out.mp4", duration_s=1.0, fps=25)

    info = probe_video(tmp_path / "out.mp4")
    assert (info.width, info.height, info.codec, info.pix_fmt) == (64, 64, "h264", "yuv420p")
    assert info.frame_count == 9  # 1 s x 8 fps -> 8, snapped to 4k+1
    assert info.fps == 8.0  # the model's rate, not the request's 25
    assert (result.width, result.height, result.fps, result.frame_count) == (64, 64, 8, 9)
    assert result.extra["model"] == "tiny-wan-ti2v"
    assert result.extra["variant"] == "wan-ti2v"
    assert result.extra["steps"] == 2
    assert result.extra["seed"] == 7
    assert result.extra["size"] == [64, 64]
    assert isinstance(result.extra["levers"], list)
    assert len(list(read_frames(tmp_path / "out.mp4"))) == 9


def test_same_seed_same_frames_and_another_seed_other_frames(engine: DiffusionEngine, tmp_path: Path) -> None:
    def frames(name: str, seed: int) -> Frames:
        render(engine, tmp_path / name, seed=seed)
        return list(read_frames(tmp_path / name))

    first, again, other = frames("a.mp4", 11), frames("b.mp4", 11), frames("c.mp4", 12)
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(first, other, strict=True))


def test_without_a_seed_one_is_drawn_reported_and_reproducible(engine: DiffusionEngine, tmp_path: Path) -> None:
    drawn, _ = render(engine, tmp_path / "a.mp4", seed=None)
    seed = drawn.extra["seed"]
    assert isinstance(seed, int)
    render(engine, tmp_path / "b.mp4", seed=seed)
    pairs = zip(read_frames(tmp_path / "a.mp4"), read_frames(tmp_path / "b.mp4"), strict=True)
    assert all(np.array_equal(x, y) for x, y in pairs)


def test_progress_rises_once_per_step_then_through_encoding(engine: DiffusionEngine, tmp_path: Path) -> None:
    _, progress = render(engine, tmp_path / "out.mp4")

    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert progress == sorted(progress)
    assert [p for p in progress if 0.0 < p <= 0.95] == pytest.approx([0.475, 0.95])  # one report per step


def test_cancel_from_progress_stops_at_a_step_boundary(engine: DiffusionEngine, tmp_path: Path) -> None:
    forwards: list[int] = []
    hook = engine.pipeline.transformer.register_forward_hook(lambda *_: forwards.append(1))

    def cancel_after_first_step(fraction: float) -> None:
        if fraction > 0.0:
            raise Cancelled()

    try:
        with pytest.raises(Cancelled):
            engine.render(request(), tmp_path / "out.mp4", on_progress=cancel_after_first_step)
    finally:
        hook.remove()
    assert len(forwards) == 2  # one step: the conditional and the unconditional (CFG) forward, not 4
    assert list(tmp_path.iterdir()) == []  # no output, no partial file


def test_cuda_out_of_memory_fails_clearly_and_the_engine_recovers(
    engine: DiffusionEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_memory(*args: Any, **kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(engine.pipeline.transformer, "forward", out_of_memory)
    with pytest.raises(EngineError) as caught:
        render(engine, tmp_path / "out.mp4")
    assert caught.value.code == "out_of_memory"
    assert "64x64" in str(caught.value) and "9 frames" in str(caught.value)
    assert not (tmp_path / "out.mp4").exists()

    monkeypatch.undo()
    result, _ = render(engine, tmp_path / "after.mp4")
    assert result.frame_count == 9


def test_the_pipeline_loads_once_per_engine(ti2v_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import diffusers

    loads: list[str] = []
    original = diffusers.WanImageToVideoPipeline.from_pretrained

    def counting(*args: Any, **kwargs: Any) -> Any:
        loads.append(str(args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(diffusers.WanImageToVideoPipeline, "from_pretrained", counting)
    engine = DiffusionEngine(ModelSpec(id="m", engine="diffusion", weights=str(ti2v_dir), options=TINY_OPTIONS))
    render(engine, tmp_path / "a.mp4")
    render(engine, tmp_path / "b.mp4", options={"width": 32, "height": 64})
    assert loads == [str(ti2v_dir)]
    assert probe_video(tmp_path / "b.mp4").width == 32  # a requested size within the model's limits


@pytest.mark.parametrize(
    "options", [{"width": 64, "height": 0}, {"width": 64}, {"width": 64.0, "height": 64}, {"width": True, "height": 64}]
)
def test_requested_sizes_that_are_not_positive_integers_are_refused(
    engine: DiffusionEngine, tmp_path: Path, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=r"width|height"):
        render(engine, tmp_path / "out.mp4", options=options)
    assert list(tmp_path.iterdir()) == []


def test_a_requested_size_the_model_cannot_make_is_fitted_to_it(engine: DiffusionEngine, tmp_path: Path) -> None:
    result, _ = render(engine, tmp_path / "out.mp4", options={"width": 200, "height": 100})
    info = probe_video(tmp_path / "out.mp4")
    # 64x64 at most (the tiny model's native size), sides multiples of 32, the aspect kept as well as they allow.
    assert (info.width, info.height) == (result.width, result.height) == (64, 32)


@pytest.mark.parametrize(
    ("duration_s", "fps", "factor", "max_frames", "expected"),
    [
        (1.0, 8, 4, 121, 9),  # 8 frames -> nearest 4k+1
        (5.0, 24, 4, 121, 121),  # Wan 2.2 TI2V's native clip
        (6.0, 24, 4, 121, 121),  # capped by num_frames
        (5.0, 16, 4, 81, 81),  # Wan 2.1
        (0.05, 24, 4, 121, 5),  # never a single frame when a step fits
        (2.0, 24, 8, 121, 49),  # LTX: 8k+1
        (10.0, 24, 8, 100, 97),  # capped at the largest 8k+1 within 100
        (1.0, 8, 4, 3, 1),  # no 4k+1 above 1 fits
    ],
)
def test_frame_count_rule(duration_s: float, fps: int, factor: int, max_frames: int, expected: int) -> None:
    frames = snap_frame_count(duration_s=duration_s, fps=fps, temporal_factor=factor, max_frames=max_frames)
    assert frames == expected


@pytest.mark.parametrize("duration_s", [0.0, -1.0, float("nan"), float("inf")])
def test_frame_count_refuses_durations_that_are_not_positive(duration_s: float) -> None:
    with pytest.raises(ValueError, match="duration_s"):
        snap_frame_count(duration_s=duration_s, fps=24, temporal_factor=4, max_frames=121)


def wan_ti2v_rules() -> ModelRules:
    return ModelRules(
        variant="wan-ti2v", spatial_multiple=32, temporal_factor=4, width=1280, height=704, num_frames=121,
        fps=24, num_inference_steps=50, guidance_scale=5.0, negative_prompt="", max_sequence_length=512,
        max_side=1280, max_pixels=1280 * 704,
    )  # fmt: skip


def test_native_size_follows_the_image_orientation() -> None:
    rules = wan_ti2v_rules()
    assert output_size(1920, 1080, rules, {}) == (1280, 704)
    assert output_size(1080, 1920, rules, {}) == (704, 1280)
    assert output_size(500, 500, rules, {}) == (1280, 704)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ((704, 1280), (704, 1280)),  # allowed: kept exactly
        ((640, 352), (640, 352)),
        ((1280, 720), (1280, 704)),  # OpenAI's landscape size: sides to multiples of 32
        ((720, 1280), (704, 1280)),
        ((1920, 1080), (1280, 704)),  # too large: shrunk to the native area, the aspect kept
        ((1280, 1280), (928, 928)),  # within max_side but over max_pixels
        ((3000, 300), (1280, 128)),  # over max_side
        ((10, 10), (32, 32)),  # never below one multiple
    ],
)
def test_a_requested_size_is_fitted_to_the_model(requested: tuple[int, int], expected: tuple[int, int]) -> None:
    rules = wan_ti2v_rules()
    width, height = output_size(1920, 1080, rules, {"width": requested[0], "height": requested[1]})
    assert (width, height) == expected
    assert width % 32 == 0 and height % 32 == 0
    assert width * height <= rules.max_pixels and max(width, height) <= rules.max_side


def test_missing_local_weights_say_how_to_pull(tmp_path: Path) -> None:
    engine = DiffusionEngine(ModelSpec(id="wan-local", engine="diffusion", weights=str(tmp_path / "absent")))
    with pytest.raises(EngineError) as caught:
        render(engine, tmp_path / "out.mp4")
    assert caught.value.code == "weights_missing"
    assert "stillmotion models pull wan-local" in str(caught.value)


def test_a_directory_that_is_not_a_pipeline_is_missing_weights(tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    engine = DiffusionEngine(ModelSpec(id="m", engine="diffusion", weights=str(tmp_path / "weights")))
    with pytest.raises(EngineError, match=r"model_index\.json") as caught:
        render(engine, tmp_path / "out.mp4")
    assert caught.value.code == "weights_missing"


def test_a_hub_id_missing_from_the_local_cache_is_missing_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    spec = ModelSpec(id="wan2.2-ti2v-5b", engine="diffusion", weights="Wan-AI/Wan2.2-TI2V-5B-Diffusers")
    with pytest.raises(EngineError) as caught:
        render(DiffusionEngine(spec), tmp_path / "out.mp4")
    assert caught.value.code == "weights_missing"
    assert "stillmotion models pull wan2.2-ti2v-5b" in str(caught.value)


def test_an_unknown_pipeline_class_is_refused(ti2v_dir: Path, tmp_path: Path) -> None:
    weights = tmp_path / "weights"
    weights.mkdir()
    index = json.loads((ti2v_dir / "model_index.json").read_text())
    (weights / "model_index.json").write_text(json.dumps({**index, "_class_name": "StableDiffusionPipeline"}))
    engine = DiffusionEngine(ModelSpec(id="m", engine="diffusion", weights=str(weights)))
    with pytest.raises(EngineError, match="StableDiffusionPipeline") as caught:
        render(engine, tmp_path / "out.mp4")
    assert caught.value.code == "unsupported_model"


@pytest.mark.parametrize("kind", ["wan-i2v", "ltx-i2v"])
def test_other_pipelines_render_through_the_same_path(kind: str, tmp_path: Path) -> None:
    weights = build_tiny_pipeline(kind, tmp_path / kind)
    engine = DiffusionEngine(
        ModelSpec(id=f"tiny-{kind}", engine="diffusion", weights=str(weights), options=TINY_OPTIONS)
    )
    result, _ = render(engine, tmp_path / "out.mp4")
    info = probe_video(tmp_path / "out.mp4")
    assert (info.width, info.height, info.frame_count, info.fps) == (64, 64, 9, 8.0)
    assert result.extra["variant"] == kind


@pytest.mark.parametrize(
    ("option", "expected"),
    [("wan", "wan"), ("ltx", "ltx"), ("WanImageToVideoPipeline", "wan"), ("LTXImageToVideoPipeline", "ltx")],
)
def test_the_pipeline_option_overrides_model_index(ti2v_dir: Path, option: str, expected: str) -> None:
    assert pipeline_family({}, ti2v_dir) == "wan"  # TI2V's index names WanPipeline
    assert pipeline_family({"pipeline": option}, ti2v_dir) == expected


@pytest.mark.parametrize(
    "options",
    [
        {"num_inference_steps": 0},
        {"num_frames": "121"},
        {"width": 48},  # not a multiple of the tiny TI2V's 32
        {"guidance_scale": -1.0},
        {"dtype": "int8"},
        {"negative_prompt": 3},
    ],
)
def test_bad_model_options_are_reported_as_such(ti2v_dir: Path, tmp_path: Path, options: dict[str, Any]) -> None:
    spec = ModelSpec(id="m", engine="diffusion", weights=str(ti2v_dir), options={**TINY_OPTIONS, **options})
    with pytest.raises(EngineError) as caught:
        render(DiffusionEngine(spec), tmp_path / "out.mp4")
    assert caught.value.code == "invalid_model_options"
    assert next(iter(options)) in str(caught.value)


def test_the_tiny_builder_is_repeatable(ti2v_dir: Path, tmp_path: Path) -> None:
    again = build_tiny_pipeline("wan-ti2v", tmp_path / "again", seed=0)
    other = build_tiny_pipeline("wan-ti2v", tmp_path / "other", seed=1)
    weights = "transformer/diffusion_pytorch_model.safetensors"
    assert (again / weights).read_bytes() == (ti2v_dir / weights).read_bytes()
    assert (other / weights).read_bytes() != (ti2v_dir / weights).read_bytes()
    assert (again / "tokenizer" / "tokenizer.json").read_text() == (
        ti2v_dir / "tokenizer" / "tokenizer.json"
    ).read_text()
