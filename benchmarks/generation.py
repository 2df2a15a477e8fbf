"""Generation vs encode-only: how much the live2d engine costs on top of just encoding its frames.

Renders the default clip (6 s at 25 fps = 150 frames) of a portrait (the sample photo cropped to
720x1072) with a realistic prompt (`PROMPT`: blink, smile, wind in the hair, a slow zoom), face
detection and prompt parsing included, and in the same run encodes the same 150 frames of 720x1072
with `VideoWriter` alone (same settings, frames decoded into memory before the clock starts). Each is
repeated and the best time kept; runs alternate so that a noisy neighbour hurts both alike. Also
times the engine's stages on their own. Prints a table and rewrites its own section of BENCHMARKS.md
(between the HTML comment markers below), leaving the rest of the file alone.

A second picture, 5:2 (`WIDE_WIDTH` x `WIDE_HEIGHT`, the three sample photos side by side), is timed the
same way (generation and encode-only, same prompt and clip length): both sizes report the ratio and the
seconds per clip. A third, a landscape painted in code (`painted_scenes.landscape`, 1072x720: sky and clouds, hills, a
waterfall, a river), is timed with scene effects on (`SCENE_PROMPT`: falling water, the river, the clouds).
`--baseline` stores the first two in `artefacts_baseline.json` as the "before the rig" figures, printed beside
later runs' own.

Usage: python benchmarks/generation.py [--repeats 3] [--output BENCHMARKS.md] [--no-write] [--baseline]
       python benchmarks/generation.py --scene-only [--repeats 3]   (the landscape alone, printed)
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import av
import cv2
import numpy as np
import numpy.typing as npt
import PIL
from PIL import Image
from rich.console import Console
from rich.table import Table

import stillmotion
from artefacts import BASELINE_JSON, load_baseline
from artefacts import engine_source as source_state
from painted_scenes import landscape
from report import cpu_model, write_section
from stillmotion.engines.base import RenderRequest
from stillmotion.engines.live2d import Live2DEngine
from stillmotion.media.still import decode_image
from stillmotion.media.video import VideoWriter, i420_to_rgb, read_frames, rgb_to_i420

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
FIXTURES: Final = REPO_ROOT / "tests" / "fixtures"
SAMPLE: Final = FIXTURES / "grace_hopper.jpg"
PHOTOS: Final = ("astronaut.png", "grace_hopper.jpg", "coffee.png")
WIDTH: Final = 720
HEIGHT: Final = 1072
SECTION_START: Final = "<!-- benchmark:generation-vs-encode:start -->"
SECTION_END: Final = "<!-- benchmark:generation-vs-encode:end -->"
TARGET_RATIO: Final = 3.5
PROMPT: Final = "she blinks and smiles, hair moving in the wind, the camera slowly zooms in"
# The 5:2 picture: the three sample photos, each cropped to 600x720, side by side.
WIDE_WIDTH: Final = 1800
WIDE_HEIGHT: Final = 720
# The landscape for the scene effects, and what the prompt asks of it.
SCENE_WIDTH: Final = 1072
SCENE_HEIGHT: Final = 720
SCENE_PROMPT: Final = "the waterfall pours into the river, the river flows and clouds drift across the sky"


@dataclass(frozen=True)
class Row:
    name: str
    best_s: float
    all_s: list[float]


def make_input() -> bytes:
    """The sample portrait cropped to 720:1072 about its centre and resized to 720x1072, as PNG."""
    with Image.open(SAMPLE) as opened:
        image = opened.convert("RGB")
    target_aspect = WIDTH / HEIGHT
    crop_w = min(image.width, round(image.height * target_aspect))
    crop_h = min(image.height, round(crop_w / target_aspect))
    left = (image.width - crop_w) // 2
    top = (image.height - crop_h) // 2
    image = image.crop((left, top, left + crop_w, top + crop_h)).resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def make_wide_input() -> bytes:
    """A 5:2 landscape, `WIDE_WIDTH` x `WIDE_HEIGHT`: the sample photos (coffee, astronaut, portrait),
    each resized to the full height and cropped about its centre to a third of the width, as PNG."""
    panel_w = WIDE_WIDTH // len(PHOTOS)
    panels = []
    for name in ("coffee.png", "astronaut.png", "grace_hopper.jpg"):
        with Image.open(FIXTURES / name) as opened:
            image = opened.convert("RGB")
        scale = max(WIDE_HEIGHT / image.height, panel_w / image.width)
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.LANCZOS)
        left, top = (size[0] - panel_w) // 2, (size[1] - WIDE_HEIGHT) // 2
        panels.append(np.asarray(image.crop((left, top, left + panel_w, top + WIDE_HEIGHT)), dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(np.concatenate(panels, axis=1)).save(buffer, format="PNG")
    return buffer.getvalue()


def time_once(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(repeats: int) -> tuple[list[Row], int, dict[str, float], dict[str, object]]:
    request = RenderRequest(image=make_input(), prompt=PROMPT)
    engine = Live2DEngine()
    inline_engine = Live2DEngine(encode_in_background=False)

    with tempfile.TemporaryDirectory(prefix="stillmotion-bench-") as scratch:
        work = Path(scratch)
        clip = work / "generated.mp4"
        result = engine.render(request, clip, on_progress=lambda _fraction: None)  # warm-up
        assert (result.width, result.height) == (WIDTH, HEIGHT), result
        facts: dict[str, object] = dict(result.extra)
        # The same frames the engine produced, so that the encoder sees the same content.
        frames: list[npt.NDArray[np.uint8]] = list(read_frames(clip))  # 150 x (1072, 720, 3) uint8
        frame_count = len(frames)

        def generate(which: Live2DEngine) -> Callable[[], object]:
            def action() -> object:
                target = work / f"gen-{time.monotonic_ns()}.mp4"
                rendered = which.render(request, target, on_progress=lambda _fraction: None)
                target.unlink()
                return rendered

            return action

        def encode_only() -> None:
            target = work / f"enc-{time.monotonic_ns()}.mp4"
            with VideoWriter(target, width=WIDTH, height=HEIGHT, fps=request.fps) as writer:
                for frame in frames:
                    writer.write(frame)
            target.unlink()

        cases: list[tuple[str, Callable[[], object]]] = [
            ("generation (live2d engine)", generate(engine)),
            ("encode only (VideoWriter)", encode_only),
            ("generation, encoder on the calling thread", generate(inline_engine)),
        ]
        timings: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _ in range(repeats):
            for name, action in cases:
                timings[name].append(time_once(action))
        encoded_psnr = first_frame_psnr(work)

    rows = [Row(name=name, best_s=min(times), all_s=times) for name, times in timings.items()]
    return rows, frame_count, encoded_psnr, facts


@dataclass(frozen=True)
class SizeRun:
    """Generation vs encode-only for one picture size: best seconds per clip of each."""

    label: str
    width: int
    height: int
    frame_count: int
    generation_s: float
    encode_s: float

    @property
    def ratio(self) -> float:
        return self.generation_s / self.encode_s


def _run_picture(
    request: RenderRequest, label: str, width: int, height: int, repeats: int
) -> tuple[SizeRun, dict[str, object]]:
    """One picture: the engine's clip and `VideoWriter` alone on the same frames, best of `repeats`, interleaved;
    and what the engine reported about the warm-up clip."""
    engine = Live2DEngine()
    with tempfile.TemporaryDirectory(prefix="stillmotion-bench-picture-") as scratch:
        work = Path(scratch)
        clip = work / "generated.mp4"
        result = engine.render(request, clip, on_progress=lambda _fraction: None)  # warm-up
        assert (result.width, result.height) == (width, height), result
        frames: list[npt.NDArray[np.uint8]] = list(read_frames(clip))

        def generate() -> None:
            target = work / f"gen-{time.monotonic_ns()}.mp4"
            engine.render(request, target, on_progress=lambda _fraction: None)
            target.unlink()

        def encode_only() -> None:
            target = work / f"enc-{time.monotonic_ns()}.mp4"
            with VideoWriter(target, width=width, height=height, fps=request.fps) as writer:
                for frame in frames:
                    writer.write(frame)
            target.unlink()

        generation, encode = [], []
        for _ in range(repeats):
            generation.append(time_once(generate))
            encode.append(time_once(encode_only))
    return SizeRun(label, width, height, len(frames), min(generation), min(encode)), dict(result.extra)


def run_wide(repeats: int) -> SizeRun:
    """The 5:2 picture (no calling-thread variant: the portrait measures what that buys)."""
    request = RenderRequest(image=make_wide_input(), prompt=PROMPT)
    return _run_picture(request, "1800x720 (5:2)", WIDE_WIDTH, WIDE_HEIGHT, repeats)[0]


def make_scene_input() -> bytes:
    """The painted landscape (`painted_scenes.landscape`), `SCENE_WIDTH` x `SCENE_HEIGHT`, as PNG."""
    buffer = io.BytesIO()
    Image.fromarray(landscape(SCENE_WIDTH, SCENE_HEIGHT)).save(buffer, format="PNG")
    return buffer.getvalue()


def run_scene(repeats: int) -> tuple[SizeRun, dict[str, object]]:
    """The landscape with scene effects on (`SCENE_PROMPT`), and what the engine reported (its plan, with the
    regions)."""
    request = RenderRequest(image=make_scene_input(), prompt=SCENE_PROMPT)
    label = f"{SCENE_WIDTH}x{SCENE_HEIGHT} (landscape, scene effects)"
    return _run_picture(request, label, SCENE_WIDTH, SCENE_HEIGHT, repeats)


def scene_lines(facts: dict[str, object]) -> list[str]:
    """The scene case's prompt and what the engine made of it: each scene track and where it was drawn."""
    plan = facts.get("motion_plan")
    tracks = plan.get("tracks", []) if isinstance(plan, dict) else []
    placed = [
        f"{t['part']}.{t['action']}" + (f" {t['direction']}" if t["direction"] else "") + f" at {t.get('region')}"
        for t in tracks
    ]
    return [f'Scene prompt: "{SCENE_PROMPT}" -> {", ".join(placed)}.']


def portrait_run(rows: list[Row], frame_count: int) -> SizeRun:
    by_name = {row.name: row for row in rows}
    return SizeRun(
        f"{WIDTH}x{HEIGHT} (portrait)",
        WIDTH,
        HEIGHT,
        frame_count,
        by_name["generation (live2d engine)"].best_s,
        by_name["encode only (VideoWriter)"].best_s,
    )


def size_key(run: SizeRun) -> str:
    return f"{run.width}x{run.height}"


def save_baseline(runs: list[SizeRun], path: Path = BASELINE_JSON) -> None:
    """Store these figures as the generation baseline in the JSON the artefact table also uses."""
    data = load_baseline(path)
    data["generation"] = {
        "source": source_state(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {cpu_model()}",
        "prompt": PROMPT,
        "sizes": {
            size_key(run): {
                "frames": run.frame_count,
                "generation_s": run.generation_s,
                "encode_s": run.encode_s,
                "ratio": run.ratio,
            }
            for run in runs
        },
    }
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def size_lines(runs: list[SizeRun], baseline: dict[str, Any]) -> list[str]:
    """The two picture sizes, with the stored "before the rig" figures beside them."""
    before = baseline.get("generation") or {}
    sizes = before.get("sizes") or {}
    lines = [
        "| picture | generation (s / clip) | encode only (s) | ratio | before the rig: generation (s / clip) "
        "| before: encode only (s) | before: ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        old = sizes.get(size_key(run))
        then = f"{old['generation_s']:.2f} | {old['encode_s']:.2f} | {old['ratio']:.2f}" if old else "- | - | -"
        lines.append(f"| {run.label} | {run.generation_s:.2f} | {run.encode_s:.2f} | {run.ratio:.2f} | {then} |")
    if before:
        note = f" {before['note']}" if before.get("note") else ""
        lines += [
            "",
            f"Before the rig: engine source {before.get('source')}, {before.get('date')}, "
            f"{before.get('machine')}.{note}",
        ]
    return lines


@dataclass(frozen=True)
class Stage:
    name: str
    best_ms: float
    per_frame: bool = False


def stage_timings(repeats: int) -> list[Stage]:
    """The engine's steps on their own (best of `repeats`): decoding, detection, planning, the renderer's
    per-clip setup, and drawing the 150 frames without encoding them. Empty when the engine no longer
    has these stages (the internals imported here are the warp engine's)."""
    try:
        from stillmotion.engines.live2d.engine import detect_parts, fit_image, make_plan
        from stillmotion.engines.live2d.motion import seed_from_image
        from stillmotion.engines.live2d.render.compositor import ClipRenderer, RenderSettings
    except ImportError:
        return []
    data = make_input()
    request = RenderRequest(image=data, prompt=PROMPT)
    seed = seed_from_image(data)
    parser = Live2DEngine().parser
    names = (
        "decode and fit the image",
        "find the parts (face, eyes, mouth, masks)",
        "parse the prompt",
        "renderer setup (fields, canvas, layers)",
        "draw 150 frames (no encoding)",
    )
    best = dict.fromkeys(names, float("inf"))
    for _ in range(repeats):
        marks = [time.perf_counter()]
        image = fit_image(decode_image(data), width=WIDTH, height=HEIGHT)
        marks.append(time.perf_counter())
        parts = detect_parts(image)
        marks.append(time.perf_counter())
        plan, _ = make_plan(request, seed=seed, parser=parser)
        marks.append(time.perf_counter())
        renderer = ClipRenderer(image, parts, plan, RenderSettings(fps=25, frame_count=150, seed=seed))
        marks.append(time.perf_counter())
        for index in range(150):
            renderer.frame(index)
        marks.append(time.perf_counter())
        for name, begin, end in zip(names, marks[:-1], marks[1:], strict=True):
            best[name] = min(best[name], end - begin)
    stages = [Stage(name, 1000 * seconds) for name, seconds in best.items()]
    return [*stages, Stage("draw one frame", 1000 * best[names[-1]] / 150, per_frame=True)]


@dataclass(frozen=True)
class Conversion:
    name: str
    ms_per_frame: float  # best of a few hundred, 720x1072
    psnr_db: dict[str, float]  # photo -> RGB -> yuv420p -> RGB, no encoder


def psnr(actual: npt.NDArray[np.uint8], expected: npt.NDArray[np.uint8]) -> float:
    mse = float(np.mean((actual.astype(np.float64) - expected.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))


def load_photo(name: str) -> npt.NDArray[np.uint8]:
    """A sample photo resized to a 720 short side (even sizes), as the engine would show it."""
    with Image.open(FIXTURES / name) as opened:
        image = opened.convert("RGB")
    scale = 720 / min(image.size)
    size = (2 * round(image.width * scale / 2), 2 * round(image.height * scale / 2))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS), dtype=np.uint8)


def compare_conversions(*, repeats: int = 200) -> list[Conversion]:
    """RGB -> yuv420p with swscale (PyAV's reformat), with cv2 alone, and with `rgb_to_i420`.

    Each is decoded back with the same converter (cv2 I420 -> RGB, BT.601 limited range) so that the
    PSNR measures the forward conversion only.
    """

    def swscale(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        converted = video_frame.reformat(format="yuv420p", dst_colorspace="ITU601", dst_color_range="MPEG")
        return np.asarray(converted.to_ndarray(), dtype=np.uint8)

    def cv2_only(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)

    methods: list[tuple[str, Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.uint8]]]] = [
        ("swscale (PyAV reformat)", swscale),
        ("cv2 COLOR_RGB2YUV_I420 (point-sampled chroma)", cv2_only),
        ("rgb_to_i420: cv2 luma + 2x2-averaged chroma (used)", rgb_to_i420),
    ]
    timing_frame = load_photo("grace_hopper.jpg")
    timing_frame = np.asarray(cv2.resize(timing_frame, (WIDTH, HEIGHT)), dtype=np.uint8)
    photos = {name: load_photo(name) for name in PHOTOS}
    results = []
    for name, convert in methods:
        convert(timing_frame)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            convert(timing_frame)
            best = min(best, time.perf_counter() - start)
        quality = {photo: psnr(i420_to_rgb(convert(pixels)), pixels) for photo, pixels in photos.items()}
        results.append(Conversion(name=name, ms_per_frame=1000 * best, psnr_db=quality))
    return results


def first_frame_psnr(work: Path) -> dict[str, float]:
    """Each sample photo through the engine (default 6 s clip): frame 0 decoded vs the resized input."""
    engine = Live2DEngine()
    results = {}
    for name in PHOTOS:
        clip = work / f"psnr-{name}.mp4"
        request = RenderRequest(image=(FIXTURES / name).read_bytes(), prompt="benchmark")
        engine.render(request, clip, on_progress=lambda _fraction: None)
        results[name] = psnr(next(read_frames(clip)), load_photo(name))
    return results


def machine_lines() -> list[str]:
    avcodec = ".".join(str(part) for part in av.library_versions.get("libavcodec", ()))
    return [
        f"- machine: {os.cpu_count()} CPUs (`nproc` {len(os.sched_getaffinity(0))}), {cpu_model()}",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- versions: Python {platform.python_version()}, stillmotion {stillmotion.__version__}, "
        f"numpy {np.__version__}, opencv {cv2.__version__}, PyAV {av.__version__} (libavcodec {avcodec}), "
        f"Pillow {PIL.__version__}",
        f"- cv2 threads: {cv2.getNumThreads()}",
    ]


def plan_lines(facts: dict[str, object]) -> list[str]:
    plan = facts.get("motion_plan")
    tracks = plan.get("tracks", []) if isinstance(plan, dict) else []
    described = [
        f"{t['part']}.{t['action']}" + (f" {t['direction']}" if t["direction"] else "") + f" {t['amplitude']:g}"
        for t in tracks
    ]
    parts = facts.get("parts")
    method = parts.get("method") if isinstance(parts, dict) else "?"
    face = parts.get("face") if isinstance(parts, dict) else None
    return [
        f'Prompt: "{PROMPT}" -> {facts.get("plan_source")} plan: {", ".join(described)}.',
        f"Parts: `{method}`, face {face}. Render notes: {facts.get('render_notes') or 'none'}.",
    ]


def render_section(
    rows: list[Row],
    conversions: list[Conversion],
    encoded_psnr: dict[str, float],
    stages: list[Stage],
    facts: dict[str, object],
    *,
    frame_count: int,
    repeats: int,
    sizes: list[SizeRun],
    baseline: dict[str, Any],
    scene_facts: dict[str, object],
) -> str:
    by_name = {row.name: row for row in rows}
    generation = by_name["generation (live2d engine)"].best_s
    encode = by_name["encode only (VideoWriter)"].best_s
    inline = by_name["generation, encoder on the calling thread"].best_s
    lines = [
        SECTION_START,
        "## Generation vs encode-only",
        "",
        f"`python benchmarks/generation.py`: the live2d engine renders {frame_count} frames of "
        f"{WIDTH}x{HEIGHT} (6 s at 25 fps) from a {WIDTH}x{HEIGHT} PNG of the sample portrait, face detection "
        'and prompt parsing included; "encode only" writes the same '
        "frames, already decoded into memory, with `VideoWriter` alone (libx264 `veryfast`, crf 18, "
        f"yuv420p). Best of {repeats}, runs interleaved. Target: generation / encode-only <= {TARGET_RATIO:g}.",
        "",
        *plan_lines(facts),
        "",
        *machine_lines(),
        f"- engine source: {source_state()}",
        "",
        "| case | best (s) | ms / frame | all runs (s) |",
        "|---|---:|---:|---|",
    ]
    for row in rows:
        runs = ", ".join(f"{seconds:.2f}" for seconds in row.all_s)
        lines.append(f"| {row.name} | {row.best_s:.2f} | {1000 * row.best_s / frame_count:.1f} | {runs} |")
    lines += [
        "",
        f"**Ratio generation / encode-only: {generation / encode:.2f}** "
        f"({'meets' if generation / encode <= TARGET_RATIO else 'misses'} the <= {TARGET_RATIO:g} target).",
        f"Encoding on a background thread instead of the calling thread: {inline:.2f} s -> {generation:.2f} s "
        f"({100 * (inline - generation) / inline:.0f}% less time).",
        "",
        "### Picture sizes",
        "",
        f"The same clip and prompt from the portrait above and from a 5:2 picture ({WIDE_WIDTH}x{WIDE_HEIGHT}: "
        "the three sample photos side by side); and the same clip length from a landscape painted in code "
        f"(`benchmarks/painted_scenes.py`, {SCENE_WIDTH}x{SCENE_HEIGHT}) with scene effects on; best of "
        f"{repeats}, generation and encode-only interleaved. Same target for all: ratio <= {TARGET_RATIO:g}.",
        "",
        *scene_lines(scene_facts),
        "",
        *size_lines(sizes, baseline),
        "",
        "### The engine's stages on their own",
        "",
        f"Best of {repeats}, same input and prompt, nothing encoded.",
        "",
        "| stage | best (ms) |",
        "|---|---:|",
        *(f"| {stage.name} | {stage.best_ms:.{2 if stage.per_frame else 0}f} |" for stage in stages),
        "",
        "### RGB -> yuv420p conversion",
        "",
        f"Time for one {WIDTH}x{HEIGHT} frame (best of 200) and PSNR of RGB -> yuv420p -> RGB without the "
        "encoder (decoded with cv2's BT.601 limited-range I420 conversion) on the sample photos at a 720 short "
        "side.",
        "",
        "| conversion | ms / frame | " + " | ".join(f"{name} (dB)" for name in PHOTOS) + " |",
        "|---|---:|" + "---:|" * len(PHOTOS),
    ]
    for conversion in conversions:
        quality = " | ".join(f"{conversion.psnr_db[name]:.1f}" for name in PHOTOS)
        lines.append(f"| {conversion.name} | {conversion.ms_per_frame:.2f} | {quality} |")
    lines += [
        "",
        "Frame 0 of the engine's default clip, decoded, vs the input resized with Pillow's Lanczos: "
        + ", ".join(f"{name} {encoded_psnr[name]:.1f} dB" for name in PHOTOS)
        + " (the engine's tests require >= 35 dB).",
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def print_table(
    console: Console,
    rows: list[Row],
    conversions: list[Conversion],
    encoded_psnr: dict[str, float],
    *,
    frame_count: int,
) -> None:
    table = Table(title=f"Generation vs encode-only ({frame_count} frames, {WIDTH}x{HEIGHT})")
    table.add_column("case")
    table.add_column("best (s)", justify="right")
    table.add_column("ms / frame", justify="right")
    table.add_column("all runs (s)")
    for row in rows:
        table.add_row(
            row.name,
            f"{row.best_s:.2f}",
            f"{1000 * row.best_s / frame_count:.1f}",
            ", ".join(f"{seconds:.2f}" for seconds in row.all_s),
        )
    console.print(table)
    ratio = rows[0].best_s / rows[1].best_s
    console.print(f"ratio generation / encode-only: [bold]{ratio:.2f}[/bold] (target <= {TARGET_RATIO:g})")

    conversion_table = Table(title=f"RGB -> yuv420p ({WIDTH}x{HEIGHT}; PSNR without the encoder)")
    conversion_table.add_column("conversion")
    conversion_table.add_column("ms / frame", justify="right")
    for name in PHOTOS:
        conversion_table.add_column(f"{name} (dB)", justify="right")
    for conversion in conversions:
        conversion_table.add_row(
            conversion.name,
            f"{conversion.ms_per_frame:.2f}",
            *(f"{conversion.psnr_db[name]:.1f}" for name in PHOTOS),
        )
    console.print(conversion_table)
    console.print(
        "engine frame 0 vs resized input, PSNR: " + ", ".join(f"{n} {db:.1f} dB" for n, db in encoded_psnr.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; the best is kept (default 3)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument(
        "--baseline", action="store_true", help=f"store both sizes' figures in {BASELINE_JSON.name} as the baseline"
    )
    parser.add_argument("--scene-only", action="store_true", help="time the landscape with scene effects alone")
    args = parser.parse_args()

    console = Console()
    console.print(f"engine source: {source_state()} ({stillmotion.__file__})")
    repeats = max(1, args.repeats)
    if args.scene_only:
        scene_run, scene_facts = run_scene(repeats)
        for line in [*scene_lines(scene_facts), *size_lines([scene_run], {})]:
            console.print(line)
        return
    rows, frame_count, encoded_psnr, facts = run(repeats)
    scene_run, scene_facts = run_scene(repeats)
    sizes = [portrait_run(rows, frame_count), run_wide(repeats), scene_run]
    if args.baseline:
        save_baseline(sizes[:2])  # the portrait and the 5:2 picture: the "before the rig" sizes
        console.print(f"wrote {BASELINE_JSON}")
    baseline = load_baseline()
    stages = stage_timings(repeats)
    conversions = compare_conversions()
    print_table(console, rows, conversions, encoded_psnr, frame_count=frame_count)
    for line in plan_lines(facts):
        console.print(line)
    for stage in stages:
        console.print(f"{stage.name}: {stage.best_ms:.{2 if stage.per_frame else 0}f} ms")
    for line in [*scene_lines(scene_facts), *size_lines(sizes, baseline)]:
        console.print(line)
    if not args.no_write:
        section = render_section(
            rows,
            conversions,
            encoded_psnr,
            stages,
            facts,
            frame_count=frame_count,
            repeats=repeats,
            sizes=sizes,
            baseline=baseline,
            scene_facts=scene_facts,
        )
        write_section(args.output, section, start=SECTION_START, end=SECTION_END)
        console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
