"""Generation vs encode-only: how much the live2d engine costs on top of just encoding its frames.

Renders the default clip (6 s at 25 fps = 150 frames) from a 720x1072 input with the engine, and in
the same run encodes the same 150 frames of 720x1072 with `VideoWriter` alone (same settings, frames
decoded into memory before the clock starts). Each is repeated and the best time kept; runs alternate
so that a noisy neighbour hurts both alike. Prints a table and rewrites its own section of
BENCHMARKS.md (between the HTML comment markers below), leaving the rest of the file alone.

Usage: python benchmarks/generation.py [--repeats 3] [--output BENCHMARKS.md] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import av
import cv2
import numpy as np
import numpy.typing as npt
import PIL
from PIL import Image
from rich.console import Console
from rich.table import Table

import stillmotion
from stillmotion.engines.base import RenderRequest
from stillmotion.engines.live2d import Live2DEngine
from stillmotion.media.video import VideoWriter, read_frames

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
SAMPLE: Final = REPO_ROOT / "tests" / "fixtures" / "grace_hopper.jpg"
WIDTH: Final = 720
HEIGHT: Final = 1072
SECTION_START: Final = "<!-- benchmark:generation-vs-encode:start -->"
SECTION_END: Final = "<!-- benchmark:generation-vs-encode:end -->"
TARGET_RATIO: Final = 2.0


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


def time_once(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(repeats: int) -> tuple[list[Row], int]:
    request = RenderRequest(image=make_input(), prompt="benchmark")
    engine = Live2DEngine()
    inline_engine = Live2DEngine(encode_in_background=False)

    with tempfile.TemporaryDirectory(prefix="stillmotion-bench-") as scratch:
        work = Path(scratch)
        clip = work / "generated.mp4"
        result = engine.render(request, clip, on_progress=lambda _fraction: None)  # warm-up
        assert (result.width, result.height) == (WIDTH, HEIGHT), result
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

    rows = [Row(name=name, best_s=min(times), all_s=times) for name, times in timings.items()]
    return rows, frame_count


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


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


def render_section(rows: list[Row], *, frame_count: int, repeats: int) -> str:
    by_name = {row.name: row for row in rows}
    generation = by_name["generation (live2d engine)"].best_s
    encode = by_name["encode only (VideoWriter)"].best_s
    inline = by_name["generation, encoder on the calling thread"].best_s
    lines = [
        SECTION_START,
        "## Generation vs encode-only",
        "",
        f"`python benchmarks/generation.py`: the live2d engine renders {frame_count} frames of "
        f'{WIDTH}x{HEIGHT} (6 s at 25 fps) from a {WIDTH}x{HEIGHT} PNG; "encode only" writes the same '
        "frames, already decoded into memory, with `VideoWriter` alone (libx264 `veryfast`, crf 18, "
        f"yuv420p). Best of {repeats}, runs interleaved. Target: generation / encode-only <= {TARGET_RATIO:g}.",
        "",
        *machine_lines(),
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
        f"Encoding on a background thread vs on the calling thread: {inline:.2f} s -> {generation:.2f} s "
        f"({100 * (inline - generation) / inline:+.0f}% time saved).",
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's marked section of `path`, or append it; everything else is kept."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(SECTION_START) + r".*?" + re.escape(SECTION_END) + r"\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def print_table(console: Console, rows: list[Row], *, frame_count: int) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; the best is kept (default 3)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()

    console = Console()
    rows, frame_count = run(max(1, args.repeats))
    print_table(console, rows, frame_count=frame_count)
    if not args.no_write:
        write_section(args.output, render_section(rows, frame_count=frame_count, repeats=max(1, args.repeats)))
        console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
