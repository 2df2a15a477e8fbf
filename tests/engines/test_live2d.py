"""The live2d engine: output format, first frame, smooth bounded motion, determinism, progress, cancel,
and what it reports (plan, seed, parts), with detection or the prompt parser missing or failing.

Most renders here use the idle plan (`IDLE`), so that they test the engine, not what the prompt parser
makes of a prompt; the renderer's actions are tested one by one in `test_motion_fields.py`."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from stillmotion.domain import ModelSpec
from stillmotion.engines import Cancelled, RenderRequest, RenderResult, load_engine
from stillmotion.engines.live2d import Live2DEngine
from stillmotion.engines.live2d import engine as engine_module
from stillmotion.engines.live2d.engine import output_size
from stillmotion.engines.live2d.motion import Clock, idle_plan
from stillmotion.engines.live2d.plan import MotionPlan, Track
from stillmotion.engines.live2d.regions import fallback_parts
from stillmotion.engines.live2d.render.camera import CameraPath
from stillmotion.engines.live2d.render.compositor import ClipRenderer, RenderSettings
from stillmotion.media.still import decode_image
from stillmotion.media.video import probe_video, read_frames
from support import psnr

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

Frame = npt.NDArray[np.uint8]  # (H, W, 3) uint8 RGB


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


def idle_parser(prompt: str, *, duration_s: float, optimize: bool, seed: int = 0) -> MotionPlan:
    return idle_plan(duration_s=duration_s, prompt=prompt)


IDLE = Live2DEngine(parser=idle_parser)


@dataclass
class Rendered:
    result: RenderResult
    path: Path
    frames: list[Frame]
    progress: list[float]
    image: bytes


def render(
    tmp_path: Path,
    image: bytes,
    *,
    duration_s: float = 0.4,
    fps: int = 25,
    seed: int | None = 1,
    loop: bool = False,
    engine: Live2DEngine = IDLE,
    prompt: str = "a person breathing",
) -> Rendered:
    progress: list[float] = []
    path = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.mp4"
    request = RenderRequest(image=image, prompt=prompt, duration_s=duration_s, fps=fps, seed=seed, loop=loop)
    result = engine.render(request, path, on_progress=progress.append)
    return Rendered(result=result, path=path, frames=list(read_frames(path)), progress=progress, image=image)


@pytest.fixture(scope="module")
def default_clip(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The full default clip (6 s at 25 fps) of the portrait, rendered once for the module."""
    return render(
        tmp_path_factory.mktemp("default"), (FIXTURES / "grace_hopper.jpg").read_bytes(), duration_s=6.0, seed=None
    )


# -- the default clip -------------------------------------------------------------------------------


def test_registry_loads_the_engine() -> None:
    engine = load_engine(ModelSpec(id="video-01-live2d", engine="live2d"))
    assert isinstance(engine, Live2DEngine) and engine.name == "live2d"


def test_default_clip_is_150_frames_of_h264_at_25_fps(default_clip: Rendered) -> None:
    info = probe_video(default_clip.path)

    result = default_clip.result
    assert (result.width, result.height, result.fps, result.frame_count) == (720, 844, 25, 150)
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
        IDLE.render(request, tmp_path / "out.mp4", on_progress=lambda _f: None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("duration_s", "fps"), [(0.0, 25), (-1.0, 25), (float("nan"), 25), (6.0, 0), (0.01, 25)])
def test_impossible_timing_is_refused(tmp_path: Path, duration_s: float, fps: int) -> None:
    request = RenderRequest(image=bright_texture(320, 320), prompt="x", duration_s=duration_s, fps=fps)
    with pytest.raises(ValueError, match=r"duration_s|fps"):
        IDLE.render(request, tmp_path / "out.mp4", on_progress=lambda _f: None)


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
        IDLE.render(request, tmp_path / "out.mp4", on_progress=on_progress)

    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary file
    assert seen[-1] >= cancel_at
    if cancel_at < 1.0:
        assert seen[-1] < 1.0  # it stopped early rather than finishing the clip


# -- the motion itself, checked on the sampling maps ------------------------------------------------


def idle_renderer(width: int, height: int, *, seed: int, duration_s: float = 6.0, fps: int = 25) -> ClipRenderer:
    image = np.full((height, width, 3), 200, dtype=np.uint8)
    settings = RenderSettings(fps=fps, frame_count=round(duration_s * fps), seed=seed)
    return ClipRenderer(image, fallback_parts(width, height), idle_plan(duration_s=duration_s), settings)


@pytest.mark.parametrize(("width", "height"), [(720, 1072), (1080, 720)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_samples_stay_inside_the_canvas_and_stretch_stays_mild(width: int, height: int, seed: int) -> None:
    clip = idle_renderer(width, height, seed=seed, fps=5)
    canvas_h, canvas_w = clip.canvas.shape[:2]
    for index in range(clip.frame_count):
        sample = clip.sample_map(index).astype(np.float64)  # (H, W, 2)
        assert sample[..., 0].min() >= -1e-3 and sample[..., 0].max() <= canvas_w - 1 + 1e-3
        assert sample[..., 1].min() >= -1e-3 and sample[..., 1].max() <= canvas_h - 1 + 1e-3
        # Sampling step per output pixel; the content is stretched by its inverse.
        step_x = np.diff(sample[..., 0], axis=1)
        step_y = np.diff(sample[..., 1], axis=0)
        for step in (step_x, step_y):
            assert step.min() >= 1 / 1.4 and step.max() <= 1 / 0.7


def test_motion_starts_at_rest_and_changes_smoothly() -> None:
    clip = idle_renderer(720, 1072, seed=3)
    identity = clip.sample_map(0) - np.float32([clip.margins.left, clip.margins.top])
    assert np.array_equal(identity[..., 0], np.broadcast_to(np.arange(720, dtype=np.float32), (1072, 720)))
    assert np.array_equal(identity[..., 1], np.broadcast_to(np.arange(1072, dtype=np.float32)[:, None], (1072, 720)))

    maps = [clip.sample_map(index) for index in range(0, 150, 5)]  # every 0.2 s
    moves = [float(np.abs(after - before).max()) for before, after in itertools.pairwise(maps)]
    # Eased in: hardly any movement in the first 0.2 s, then never more than a few px per 0.2 s.
    assert moves[0] < 0.2
    assert max(moves) < 6.0
    assert float(np.abs(maps[-1] - maps[0]).max()) > 15.0  # and it does move


def test_idle_push_in_ends_between_4_and_8_percent_and_never_zooms_out() -> None:
    for seed in range(3):
        plan = idle_plan(duration_s=6.0)
        clock = Clock.for_frames(150, fps=25, loop=False)
        cameras = tuple(track for track in plan.tracks if track.part == "camera")
        zooms = CameraPath.from_tracks(cameras, clock, width=720, height=1072).zoom
        assert zooms[0] == 1.0, seed
        assert 1.04 <= zooms[-1] <= 1.08
        assert all(later >= earlier for earlier, later in itertools.pairwise(zooms))


# -- what the engine reports, and what it does without detection or a parser --------------------------


def test_the_result_carries_the_plan_the_seed_and_the_parts(tmp_path: Path) -> None:
    rendered = render(tmp_path, (FIXTURES / "astronaut.png").read_bytes(), duration_s=0.2, seed=42)
    extra = rendered.result.extra
    plan = idle_plan(duration_s=0.2, prompt="a person breathing")
    assert extra["motion_plan"] == plan.to_dict()
    assert extra["optimized_prompt"] == "a person breathing"
    assert extra["seed"] == 42
    assert set(extra["parts"]) == {"method", "face"}
    face = extra["parts"]["face"]
    assert face is None or (len(face) == 4 and all(isinstance(v, float) for v in face))
    assert extra["plan_source"] == "prompt" and isinstance(extra["render_notes"], list)


def test_the_derived_seed_is_reported_and_fits_the_api(tmp_path: Path) -> None:
    rendered = render(tmp_path, bright_texture(200, 200), duration_s=0.12, seed=None)
    assert 0 <= rendered.result.extra["seed"] <= 2**32 - 1


def test_failed_detection_falls_back_and_still_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(image: npt.NDArray[np.uint8]) -> object:
        raise RuntimeError("detector crashed")

    monkeypatch.setattr(engine_module, "find_parts", broken)
    data = (FIXTURES / "grace_hopper.jpg").read_bytes()
    prompt = "she blinks and nods"
    blinking = Live2DEngine(parser=lambda text, **_: MotionPlan(2.0, (Track("eyes", "blink"), Track("head", "nod"))))
    rendered = render(tmp_path, data, duration_s=1.0, engine=blinking, prompt=prompt)
    assert rendered.result.extra["parts"] == {"method": "fallback (RuntimeError)", "face": None}
    notes = rendered.result.extra["render_notes"]
    assert "eyes.blink: no face found; skipped" in notes
    assert "head.nod: no face found; drawn as a gentle bob of the subject" in notes
    assert psnr(rendered.frames[0], resized_input(data, (720, 844))) >= 35.0


def test_a_missing_or_unfinished_parser_gives_idle_life(tmp_path: Path) -> None:
    def unfinished(prompt: str, *, duration_s: float, optimize: bool, seed: int = 0) -> MotionPlan:
        raise NotImplementedError

    data = bright_texture(240, 240)
    for engine in (Live2DEngine(parser=unfinished), Live2DEngine(parser=None)):
        rendered = render(tmp_path, data, duration_s=0.2, engine=engine, prompt="waves hello")
        assert rendered.result.extra["plan_source"] == "idle"
        # A texture has no character: of the idle life only the camera's push-in fits it, and the plan says so.
        idle = idle_plan(duration_s=0.2, prompt="waves hello")
        camera = [track.to_dict() for track in idle.tracks if track.part == "camera"]
        assert rendered.result.extra["motion_plan"]["tracks"] == camera
        assert rendered.result.extra["optimized_prompt"] == "The camera slowly zooms in."


def test_the_parser_gets_the_request(tmp_path: Path) -> None:
    seen: list[tuple[str, float, bool, int]] = []

    def recording(prompt: str, *, duration_s: float, optimize: bool, seed: int = 0) -> MotionPlan:
        seen.append((prompt, duration_s, optimize, seed))
        return MotionPlan(duration_s, (Track("camera", "pan", "right", end_s=duration_s),), optimized_prompt="pans")

    request = RenderRequest(
        image=bright_texture(240, 240), prompt="pan", prompt_optimizer=False, duration_s=0.4, seed=9
    )
    result = Live2DEngine(parser=recording).render(request, tmp_path / "out.mp4", on_progress=lambda _f: None)
    assert seen == [("pan", 0.4, False, 9)]
    assert result.extra["optimized_prompt"] == "pans" and result.extra["motion_plan"]["tracks"][0]["action"] == "pan"


def test_a_looping_clip_ends_on_its_first_frame(tmp_path: Path) -> None:
    data = (FIXTURES / "astronaut.png").read_bytes()
    rendered = render(tmp_path, data, duration_s=2.0, fps=10, loop=True)
    assert psnr(rendered.frames[-1], rendered.frames[0]) >= 35.0
    assert psnr(rendered.frames[10], rendered.frames[0]) < 35.0  # but it moved in between


def test_a_motion_the_picture_has_no_place_for_is_named_in_the_notes(tmp_path: Path) -> None:
    # A texture has no face: the smile it asks for cannot be drawn, and the plan says so instead of dropping it.
    rendered = render(
        tmp_path, bright_texture(240, 240), duration_s=0.4, engine=Live2DEngine(), prompt="she smiles, pan right"
    )
    plan = rendered.result.extra["motion_plan"]
    assert [track["action"] for track in plan["tracks"]] == ["pan"]
    assert "not drawn: mouth smile (no face was found in the picture), for 'smiles'" in plan["notes"]


def test_the_prompt_parser_is_used_by_default(tmp_path: Path) -> None:
    rendered = render(tmp_path, bright_texture(240, 240), duration_s=0.4, engine=Live2DEngine(), prompt="pan right")
    assert rendered.result.extra["plan_source"] == "prompt"
    assert any(track["action"] == "pan" for track in rendered.result.extra["motion_plan"]["tracks"])
