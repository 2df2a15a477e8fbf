"""The live2d engine: output format, first frame, smooth bounded motion, determinism, progress, cancel."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from stillmotion.engines import Cancelled, RenderRequest, RenderResult, load_engine
from stillmotion.engines.live2d import Live2DEngine
from stillmotion.engines.live2d.engine import decode_image, output_size
from stillmotion.engines.live2d.motion import FloatField, MotionPlan, PushIn, idle_plan, smoothstep
from stillmotion.engines.live2d.warp import FrameWarper
from stillmotion.media.video import probe_video, read_frames

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

Frame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB


def psnr(actual: Frame, expected: Frame) -> float:
    mse = float(np.mean((actual.astype(np.float64) - expected.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def resized_input(data: bytes, size: tuple[int, int]) -> Frame:
    """The input as the first frame should show it, resized independently of the engine's code."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB").resize(size, Image.Resampling.LANCZOS), dtype=np.uint8)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def bright_texture(width: int, height: int) -> bytes:
    """A light, detailed picture with no dark pixels, so that any dark border would stand out."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    red = 170 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
    green = 190 + 50 * np.cos(xx / 17.0 + yy / 11.0)
    blue = 200 + 40 * np.sin((xx + yy) / 7.0)
    pixels = np.stack([red, green, blue], axis=-1).clip(120, 255).astype(np.uint8)  # (H, W, 3)
    return png_bytes(Image.fromarray(pixels))


@dataclass
class Rendered:
    result: RenderResult
    path: Path
    frames: list[Frame]
    progress: list[float]
    image: bytes


def render(tmp_path: Path, image: bytes, *, duration_s: float = 0.4, fps: int = 25, seed: int | None = 1) -> Rendered:
    progress: list[float] = []
    path = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.mp4"
    request = RenderRequest(image=image, prompt="a person breathing", duration_s=duration_s, fps=fps, seed=seed)
    result = Live2DEngine().render(request, path, on_progress=progress.append)
    return Rendered(result=result, path=path, frames=list(read_frames(path)), progress=progress, image=image)


@pytest.fixture(scope="module")
def default_clip(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The full default clip (6 s at 25 fps) of the portrait, rendered once for the module."""
    return render(
        tmp_path_factory.mktemp("default"), (FIXTURES / "grace_hopper.jpg").read_bytes(), duration_s=6.0, seed=None
    )


# -- the default clip -------------------------------------------------------------------------------


def test_registry_loads_the_engine() -> None:
    engine = load_engine("live2d")
    assert isinstance(engine, Live2DEngine) and engine.name == "live2d"


def test_default_clip_is_150_frames_of_h264_at_25_fps(default_clip: Rendered) -> None:
    info = probe_video(default_clip.path)

    assert default_clip.result == RenderResult(width=720, height=844, fps=25, frame_count=150, extra={})
    assert (info.width, info.height, info.frame_count, info.fps) == (720, 844, 150, 25.0)
    assert (info.codec, info.pix_fmt, info.faststart) == ("h264", "yuv420p", True)
    assert info.duration_s == pytest.approx(6.0)
    assert len(default_clip.frames) == 150


def test_first_frame_is_the_resized_input(default_clip: Rendered) -> None:
    expected = resized_input(default_clip.image, (720, 844))
    assert psnr(default_clip.frames[0], expected) >= 35.0


def test_motion_is_smooth_and_visible(default_clip: Rendered) -> None:
    frames = [frame.astype(np.int16) for frame in default_clip.frames]
    steps = [float(np.abs(after - before).mean()) for before, after in itertools.pairwise(frames)]

    # No jumps: every step is small, and none stands out from the typical one.
    assert max(steps) < 4.0
    assert max(steps) < 3.0 * float(np.median(steps)) + 0.5
    # Eased in: the first step is among the smallest (only encoder noise, no motion yet).
    assert steps[0] <= float(np.percentile(steps, 25)) + 0.1
    # But there is motion: late frames are clearly not the first one.
    assert float(np.abs(frames[-1] - frames[0]).mean()) > 5.0
    assert float(np.abs(frames[75] - frames[0]).mean()) > 3.0


def test_progress_is_monotonic_frequent_and_ends_at_one(default_clip: Rendered) -> None:
    progress = default_clip.progress
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert all(later >= earlier for earlier, later in itertools.pairwise(progress))
    assert all(0.0 <= fraction <= 1.0 for fraction in progress)
    assert len(progress) >= 150 // 5  # at least every five frames


def test_no_dark_borders_appear(tmp_path: Path) -> None:
    rendered = render(tmp_path, bright_texture(600, 800), duration_s=6.0, fps=5)
    first = rendered.frames[0].astype(np.float32)

    def strips(frame: npt.NDArray[np.float32]) -> list[float]:
        # Mean brightness of the outer two rows / columns on each side.
        return [
            float(frame[:2].mean()),
            float(frame[-2:].mean()),
            float(frame[:, :2].mean()),
            float(frame[:, -2:].mean()),
        ]

    reference = strips(first)
    for index, frame in enumerate(rendered.frames):
        current = frame.astype(np.float32)
        for side, (now, then) in enumerate(zip(strips(current), reference, strict=True)):
            assert now > then - 25.0, f"frame {index} side {side}: {now:.0f} vs {then:.0f} in frame 0"
        assert current[:2].min() > 60 and current[-2:].min() > 60  # no black pixel at all on the edges
        assert current[:, :2].min() > 60 and current[:, -2:].min() > 60


# -- sizes and inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "size"),
    [("astronaut.png", (720, 720)), ("grace_hopper.jpg", (720, 844)), ("coffee.png", (1080, 720))],
)
def test_sample_photos_keep_their_aspect_with_a_720_short_side(
    tmp_path: Path, name: str, size: tuple[int, int]
) -> None:
    data = (FIXTURES / name).read_bytes()
    rendered = render(tmp_path, data, duration_s=0.2)

    assert (rendered.result.width, rendered.result.height) == size
    assert rendered.frames[0].shape == (size[1], size[0], 3)
    assert rendered.result.frame_count == len(rendered.frames) == 5
    assert psnr(rendered.frames[0], resized_input(data, size)) >= 35.0


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ((720, 1072), (720, 1072)),
        ((512, 600), (720, 844)),
        ((600, 512), (844, 720)),
        ((512, 512), (720, 720)),
        ((1920, 1080), (1280, 720)),
        ((1000, 2499), (720, 1800)),
        ((301, 751), (720, 1796)),
    ],
)
def test_output_size_keeps_aspect_with_even_sides(source: tuple[int, int], expected: tuple[int, int]) -> None:
    width, height = output_size(*source)
    assert (width, height) == expected
    assert width % 2 == 0 and height % 2 == 0
    assert abs(width / height - source[0] / source[1]) < 2.0 / min(width, height)


def test_extreme_aspect_is_refused() -> None:
    with pytest.raises(ValueError, match="aspect ratio"):
        output_size(300, 1500)


def test_rgba_png_is_composited_over_white(tmp_path: Path) -> None:
    pixels = np.zeros((400, 300, 4), dtype=np.uint8)
    pixels[..., 0] = 200  # red where opaque
    pixels[:, 150:, 3] = 255  # left half transparent, right half opaque
    decoded = decode_image(png_bytes(Image.fromarray(pixels, mode="RGBA")))

    assert decoded.shape == (400, 300, 3)
    assert (decoded[:, :150] == 255).all()
    assert (decoded[:, 150:] == (200, 0, 0)).all()
    assert render(tmp_path, png_bytes(Image.fromarray(pixels, mode="RGBA")), duration_s=0.12).result.frame_count == 3


@pytest.mark.parametrize("mode", ["L", "LA", "P", "I;16", "CMYK"])
def test_other_image_modes_render(tmp_path: Path, mode: str) -> None:
    with Image.open(FIXTURES / "coffee.png") as photo:
        base = photo.convert("RGB")
    if mode == "I;16":
        grey = np.asarray(base.convert("L"), dtype=np.uint16) * 257
        data = png_bytes(Image.fromarray(grey))  # uint16 -> mode I;16
    elif mode == "CMYK":
        buffer = io.BytesIO()
        base.convert("CMYK").save(buffer, format="JPEG", quality=95)
        data = buffer.getvalue()
    elif mode == "P":
        data = png_bytes(base.quantize(colors=256))  # an adaptive palette, as image editors save it
    else:
        data = png_bytes(base.convert(mode))

    decoded = decode_image(data)
    assert decoded.shape == (400, 600, 3) and decoded.dtype == np.uint8
    # Same picture, whatever the storage: close to the plain greyscale or colour version.
    reference = np.asarray(base if mode in ("P", "CMYK") else base.convert("L").convert("RGB"), dtype=np.uint8)
    assert psnr(decoded, reference) >= 25.0
    rendered = render(tmp_path, data, duration_s=0.12)
    assert (rendered.result.width, rendered.result.height) == (1080, 720)


def test_exif_orientation_is_applied() -> None:
    with Image.open(FIXTURES / "coffee.png") as photo:
        base = photo.convert("RGB")  # 600x400, landscape
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": stored landscape, shown portrait
    buffer = io.BytesIO()
    base.save(buffer, format="JPEG", exif=exif, quality=95)

    decoded = decode_image(buffer.getvalue())

    assert decoded.shape == (600, 400, 3)
    expected = np.asarray(base.transpose(Image.Transpose.ROTATE_270), dtype=np.uint8)
    assert psnr(decoded, expected) >= 30.0


def test_undecodable_bytes_are_a_value_error(tmp_path: Path) -> None:
    request = RenderRequest(image=b"\x89PNG\r\n\x1a\n not really", prompt="x")
    with pytest.raises(ValueError, match="could not be decoded"):
        Live2DEngine().render(request, tmp_path / "out.mp4", on_progress=lambda _f: None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("duration_s", "fps"), [(0.0, 25), (-1.0, 25), (float("nan"), 25), (6.0, 0), (0.01, 25)])
def test_impossible_timing_is_refused(tmp_path: Path, duration_s: float, fps: int) -> None:
    request = RenderRequest(image=bright_texture(320, 320), prompt="x", duration_s=duration_s, fps=fps)
    with pytest.raises(ValueError, match=r"duration_s|fps"):
        Live2DEngine().render(request, tmp_path / "out.mp4", on_progress=lambda _f: None)


# -- determinism ------------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames_and_another_seed_differs(tmp_path: Path) -> None:
    data = (FIXTURES / "astronaut.png").read_bytes()
    first = render(tmp_path, data, duration_s=2.0, fps=10, seed=7)
    again = render(tmp_path, data, duration_s=2.0, fps=10, seed=7)
    other = render(tmp_path, data, duration_s=2.0, fps=10, seed=8)

    assert all(np.array_equal(a, b) for a, b in zip(first.frames, again.frames, strict=True))
    # t = 0 is the input whatever the seed (x264 may spend bits on it a little differently).
    assert psnr(first.frames[0], other.frames[0]) > 40.0
    assert not np.array_equal(first.frames[-1], other.frames[-1])


def test_seed_none_is_derived_from_the_image(tmp_path: Path) -> None:
    data = (FIXTURES / "astronaut.png").read_bytes()
    first = render(tmp_path, data, duration_s=1.0, fps=5, seed=None)
    again = render(tmp_path, data, duration_s=1.0, fps=5, seed=None)
    assert all(np.array_equal(a, b) for a, b in zip(first.frames, again.frames, strict=True))


# -- cancellation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cancel_at", [0.0, 0.3, 1.0])
def test_cancel_stops_and_leaves_no_file(tmp_path: Path, cancel_at: float) -> None:
    seen: list[float] = []

    def on_progress(fraction: float) -> None:
        seen.append(fraction)
        if fraction >= cancel_at:
            raise Cancelled

    request = RenderRequest(image=bright_texture(400, 400), prompt="x", duration_s=2.0, fps=25)
    with pytest.raises(Cancelled):
        Live2DEngine().render(request, tmp_path / "out.mp4", on_progress=on_progress)

    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary file
    assert seen[-1] >= cancel_at
    if cancel_at < 1.0:
        assert seen[-1] < 1.0  # it stopped early rather than finishing the clip


# -- the motion itself, checked on the sampling maps ------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(720, 1072), (1080, 720)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_samples_stay_inside_the_image_and_stretch_stays_mild(width: int, height: int, seed: int) -> None:
    warper = FrameWarper(idle_plan(duration_s=6.0, seed=seed), width=width, height=height)
    for t_s in np.linspace(0.0, 6.0, 31):
        sample = warper.sample_map(float(t_s)).astype(np.float64)  # (H, W, 2)
        assert sample[..., 0].min() >= -1e-3 and sample[..., 0].max() <= width - 1 + 1e-3
        assert sample[..., 1].min() >= -1e-3 and sample[..., 1].max() <= height - 1 + 1e-3
        # Sampling step per output pixel; the content is stretched by its inverse.
        step_x = np.diff(sample[..., 0], axis=1)
        step_y = np.diff(sample[..., 1], axis=0)
        for step in (step_x, step_y):
            assert step.min() >= 1 / 1.4 and step.max() <= 1 / 0.7


def test_motion_starts_at_rest_and_changes_smoothly() -> None:
    warper = FrameWarper(idle_plan(duration_s=6.0, seed=3), width=720, height=1072)
    identity = warper.sample_map(0.0)
    assert np.array_equal(identity[..., 0], np.broadcast_to(np.arange(720, dtype=np.float32), (1072, 720)))
    assert np.array_equal(identity[..., 1], np.broadcast_to(np.arange(1072, dtype=np.float32)[:, None], (1072, 720)))

    times = np.arange(151) / 25.0
    maps = [warper.sample_map(float(t)) for t in times[::5]]  # every 0.2 s
    moves = [float(np.abs(after - before).max()) for before, after in itertools.pairwise(maps)]
    # Eased in: hardly any movement in the first 0.2 s, then never more than a few px per 0.2 s.
    assert moves[0] < 0.2
    assert max(moves) < 6.0
    assert float(np.abs(maps[-1] - identity).max()) > 15.0  # and it does move


def test_push_in_ends_between_5_and_8_percent_and_never_zooms_out() -> None:
    for seed in range(5):
        plan = idle_plan(duration_s=6.0, seed=seed)
        zooms = [plan.zoom(float(t), width=720, height=1072) for t in np.linspace(0.0, 6.0, 151)]
        assert zooms[0] == 1.0
        assert 1.05 <= zooms[-1] <= 1.08
        assert all(later >= earlier for earlier, later in itertools.pairwise(zooms))


@dataclass(frozen=True)
class Drift:
    """A track of the kind a prompt-driven planner might add: the whole scene drifts right and down."""

    fraction: float

    def offset_px(
        self, t_s: float, x_n: FloatField, y_n: FloatField, *, width: int, height: int
    ) -> tuple[FloatField, FloatField]:
        amount = self.fraction * smoothstep(t_s / 2.0)
        return np.full_like(x_n, -amount * width), np.full_like(y_n, -amount * height)

    def bound_px(self, t_s: float, *, width: int, height: int) -> tuple[float, float]:
        amount = self.fraction * smoothstep(t_s / 2.0)
        return amount * width, amount * height


def test_any_track_is_hidden_by_the_zoom_it_declares() -> None:
    plan = MotionPlan(push_in=PushIn(scale_end=1.0, duration_s=2.0), tracks=(Drift(0.05),))
    warper = FrameWarper(plan, width=400, height=300)

    end = warper.sample_map(2.0)
    # Pushed close to the top-left edge (the drift is 20 px x 15 px), never past it.
    assert end[..., 0].min() >= -1e-3 and end[..., 1].min() >= -1e-3
    assert end[..., 0].min() < 6.0 and end[..., 1].min() < 6.0
    assert plan.zoom(2.0, width=400, height=300) > 1.1


def test_offsets_too_large_to_hide_are_refused() -> None:
    plan = MotionPlan(push_in=PushIn(), tracks=(Drift(0.3),))
    with pytest.raises(ValueError, match="half-frame"):
        plan.zoom(2.0, width=400, height=300)
