"""Hostile intake benchmark: what pixel bombs and image URLs that trickle cost an API process.

Each case starts its own `stillmotion serve --workers 0` on a loopback port with a temporary data directory
(SQLite; no worker, so what is measured is the API process alone):

(a) pixels: 16 OpenAI multipart creates at once, each uploading the same 6324x6324 PNG (40.0 megapixels, a
    drawing that compresses to about 400 KB). The API process's RSS is sampled every 50 ms: peak growth over its
    RSS before the burst (goal <= 1 GB), and growth 10 s after the last answer (goal <= +300 MB).
(b) tarpit: 40 AI/ML creates (5 keys x 8) whose `first_frame_image` URL is a loopback server that sends its
    headers, then one byte a second (private URLs allowed, fetch deadline 12 s). While they hang, `/healthz` is
    asked every 100 ms for 8 s: the worst latency (goal <= 0.5 s). Then the tarpit lets go and every create must
    be answered.

Usage: python benchmarks/hostile_intake.py [--variant before=/path/to/old/checkout --variant after]
       [--output BENCHMARKS.md] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import httpx
import psutil
from PIL import Image, ImageDraw
from rich.console import Console
from rich.table import Table

import stillmotion
from report import cpu_model, write_section

SECTION_START: Final = "<!-- benchmark:hostile-intake:start -->"
SECTION_END: Final = "<!-- benchmark:hostile-intake:end -->"
KEYS: Final = tuple(f"bench-key-{index}" for index in range(5))
BOMB_SIDE: Final = 6324  # 6324 x 6324 = 39,992,976 pixels, just under the 40-megapixel limit
PARALLEL_UPLOADS: Final = 16
TARPIT_CREATES_PER_KEY: Final = 8
FETCH_TIMEOUT_S: Final = 12.0
HEALTH_WINDOW_S: Final = 8.0
SETTLE_S: Final = 10.0
GOAL_PEAK_MB: Final = 1024.0
GOAL_SETTLED_MB: Final = 300.0
GOAL_HEALTH_S: Final = 0.5
MB: Final = 1024 * 1024


@dataclass
class Figures:
    variant: str
    uploads_ok: int = 0
    burst_s: float = 0.0
    peak_growth_mb: float = 0.0
    settled_growth_mb: float = 0.0
    tarpit_reached: int = 0
    worst_health_s: float = 0.0
    health_probes: int = 0
    tarpit_answers: dict[int, int] = field(default_factory=dict)


# ---- the server ----


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(source: str | None, scratch: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`stillmotion serve --workers 0` from source tree `source` (None: this one); yields (base URL, process)."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STILLMOTION_")},
        "STILLMOTION_API_KEYS": ",".join(KEYS),
        "STILLMOTION_ALLOW_PRIVATE_URLS": "true",
        "STILLMOTION_FETCH_TIMEOUT_S": str(FETCH_TIMEOUT_S),
        "STILLMOTION_MIN_FREE_MB": "0",
    }
    if source is not None:
        env["PYTHONPATH"] = str(Path(source).resolve() / "src")
    log = (scratch / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "stillmotion", "serve", "--port", str(port), "--data-dir", str(scratch / "data"),
         "--workers", "0"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited during start-up:\n{(scratch / 'server.log').read_text()}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not become healthy within 60 s")
            time.sleep(0.1)
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# ---- (a) pixels ----


def pixel_bomb() -> bytes:
    """A 40-megapixel drawing: a few hundred KB on the wire, 160 MB once decoded (Pillow keeps RGB in 4 bytes a
    pixel)."""
    image = Image.new("RGB", (BOMB_SIDE, BOMB_SIDE), (236, 232, 220))
    draw = ImageDraw.Draw(image)
    for index in range(12):
        inset = index * BOMB_SIDE // 26
        draw.ellipse((inset, inset, BOMB_SIDE - inset, BOMB_SIDE - inset), outline=(40 + index * 15, 80, 160),
                     width=24)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class RssSampler:
    def __init__(self, pid: int, *, every_s: float = 0.05) -> None:
        self._process = psutil.Process(pid)
        self._every_s = every_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        return int(self._process.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            self._stop.wait(self._every_s)

    def __enter__(self) -> RssSampler:
        self.peak = self.now()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure_pixels(figures: Figures, source: str | None, bomb: bytes, console: Console) -> None:
    with tempfile.TemporaryDirectory(prefix="stillmotion-hostile-") as scratch, serve(source, Path(scratch)) as (
        base, process
    ):
        small = io.BytesIO()
        Image.new("RGB", (640, 400), (200, 100, 50)).save(small, format="PNG")
        warm = _upload(base, small.getvalue(), KEYS[0])  # imports and first-request work are not the figure
        assert warm.status_code == 200, warm.text
        time.sleep(1.0)
        with RssSampler(process.pid) as rss:
            before = rss.now()
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=PARALLEL_UPLOADS) as pool:
                answers = list(pool.map(lambda _n: _upload(base, bomb, KEYS[0]), range(PARALLEL_UPLOADS)))
            figures.burst_s = time.monotonic() - started
            time.sleep(SETTLE_S)
            settled = rss.now()
        figures.uploads_ok = sum(answer.status_code == 200 for answer in answers)
        figures.peak_growth_mb = (rss.peak - before) / MB
        figures.settled_growth_mb = (settled - before) / MB
        for answer in answers:
            if answer.status_code != 200:
                console.print(f"  an upload was answered {answer.status_code}: {answer.text[:200]}")
                break


def _upload(base: str, image: bytes, key: str) -> httpx.Response:
    return httpx.post(
        base + "/v1/videos",
        data={"prompt": "she smiles", "size": "1280x720"},
        files={"input_reference": ("frame.png", image, "image/png")},
        headers=_auth(key),
        timeout=300.0,
    )


# ---- (b) tarpit ----


@contextmanager
def tarpit() -> Iterator[tuple[str, threading.Event, list[int]]]:
    """A loopback server that sends headers, then a byte a second until let go; yields (URL, let go, reached)."""
    let_go = threading.Event()
    reached = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                reached[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                while not let_go.wait(1.0):
                    self.wfile.write(b"\x89")
                    self.wfile.flush()
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slow.png", let_go, reached
    finally:
        let_go.set()
        server.shutdown()
        server.server_close()


def measure_tarpit(figures: Figures, source: str | None) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="stillmotion-hostile-") as scratch,
        serve(source, Path(scratch)) as (base, _process),
        tarpit() as (url, let_go, reached),
        ThreadPoolExecutor(max_workers=len(KEYS) * TARPIT_CREATES_PER_KEY) as pool,
    ):
        body = {"model": "video-01-live2d", "prompt": "she smiles", "first_frame_image": url}
        creates = [
            pool.submit(
                httpx.post, base + "/v2/generate/video/minimax/generation", json=body, headers=_auth(key),
                timeout=120.0,
            )
            for key in KEYS
            for _ in range(TARPIT_CREATES_PER_KEY)
        ]
        deadline = time.monotonic() + 5.0
        while reached[0] < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        figures.tarpit_reached = reached[0]
        worst = 0.0
        probes = 0
        window_ends = time.monotonic() + HEALTH_WINDOW_S
        with httpx.Client(timeout=60.0) as client:
            while time.monotonic() < window_ends:
                started = time.monotonic()
                client.get(base + "/healthz")
                took = time.monotonic() - started
                worst, probes = max(worst, took), probes + 1
                time.sleep(max(0.0, 0.1 - took))
        figures.worst_health_s, figures.health_probes = worst, probes
        figures.tarpit_reached = max(figures.tarpit_reached, reached[0])
        let_go.set()
        for future in creates:
            status = future.result(timeout=120).status_code
            figures.tarpit_answers[status] = figures.tarpit_answers.get(status, 0) + 1


# ---- report ----


def _verdict(value: float, goal: float) -> str:
    return "meets" if value <= goal else "misses"


def rows(figures: Figures) -> list[tuple[str, str, str, str]]:
    answers = ", ".join(f"{count} x {status}" for status, count in sorted(figures.tarpit_answers.items()))
    return [
        (
            f"(a) {PARALLEL_UPLOADS} parallel OpenAI uploads of a 40 MP PNG: peak RSS growth",
            f"{figures.peak_growth_mb:,.0f} MB",
            f"<= {GOAL_PEAK_MB:,.0f} MB",
            _verdict(figures.peak_growth_mb, GOAL_PEAK_MB),
        ),
        (
            f"(a) RSS growth {SETTLE_S:g} s after the last answer",
            f"{figures.settled_growth_mb:,.0f} MB",
            f"<= {GOAL_SETTLED_MB:,.0f} MB",
            _verdict(figures.settled_growth_mb, GOAL_SETTLED_MB),
        ),
        (
            "(a) uploads answered 200; time for the burst",
            f"{figures.uploads_ok} of {PARALLEL_UPLOADS}; {figures.burst_s:.1f} s",
            "",
            "",
        ),
        (
            f"(b) worst `/healthz` latency, 40 tarpit creates in flight ({figures.health_probes} probe(s))",
            f"{figures.worst_health_s:.3f} s",
            f"<= {GOAL_HEALTH_S:g} s",
            _verdict(figures.worst_health_s, GOAL_HEALTH_S),
        ),
        ("(b) downloads that reached the tarpit; answers once it let go", f"{figures.tarpit_reached}; {answers}", "",
         ""),
    ]


def print_table(console: Console, results: list[Figures]) -> None:
    table = Table(title="Hostile intake")
    for name in ("variant", "figure", "value", "goal", "verdict"):
        table.add_column(name)
    for figures in results:
        for figure, value, goal, verdict in rows(figures):
            table.add_row(figures.variant, figure, value, goal, verdict)
    console.print(table)


def render_section(results: list[Figures], command: str, notes: list[str], *, bomb_bytes: int) -> str:
    one, five, _ = os.getloadavg()
    lines = [
        SECTION_START,
        "## Hostile intake: pixel bombs and image URLs that trickle",
        "",
        f"`{command}`: each case starts its own `stillmotion serve --workers 0` (SQLite, no worker: the API "
        "process alone) on loopback. (a) "
        f"{PARALLEL_UPLOADS} OpenAI multipart creates at once, each uploading the same {BOMB_SIDE}x{BOMB_SIDE} PNG "
        f"(40.0 megapixels, a drawing of {bomb_bytes / 1024:,.0f} KB); the API process's RSS is sampled every 50 ms "
        f"from just before the burst, after one small warm-up create. (b) 40 AI/ML creates ({len(KEYS)} keys x "
        f"{TARPIT_CREATES_PER_KEY}) whose image URL is a loopback server sending one byte a second (private URLs "
        f"allowed, fetch deadline {FETCH_TIMEOUT_S:g} s); `/healthz` is asked every 100 ms for "
        f"{HEALTH_WINDOW_S:g} s while they hang, then the server lets go.",
        "",
        f"- machine: 2-core shared CPU box ({os.cpu_count()} CPUs, {cpu_model()}); load average when the run "
        f"began {one:.1f} (1 min), {five:.1f} (5 min)",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- versions: Python {platform.python_version()}, stillmotion {stillmotion.__version__}, "
        f"Pillow {Image.__version__}",
        "",
        "| variant | figure | value | goal | verdict |",
        "|---|---|---|---|---|",
    ]
    for figures in results:
        for figure, value, goal, verdict in rows(figures):
            lines.append(f"| {figures.variant} | {figure} | {value} | {goal} | {verdict} |")
    lines += ["", *(f"- {note}" for note in notes), SECTION_END]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--variant", action="append", default=[], metavar="LABEL[=DIR]",
        help="measure the service from source tree DIR (default: this one) under LABEL; repeat to compare",
    )
    parser.add_argument("--note", action="append", default=[], help="a line added under the table")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    variants = [(label, source or None) for label, _, source in (text.partition("=") for text in args.variant)]
    variants = variants or [("this tree", None)]
    console = Console()
    started = time.monotonic()
    bomb = pixel_bomb()
    console.print(f"40 MP PNG: {len(bomb):,} bytes")
    results = []
    for label, source in variants:
        figures = Figures(variant=label)
        console.print(f"[bold]{label}[/]: (a) pixels")
        measure_pixels(figures, source, bomb, console)
        console.print(f"[bold]{label}[/]: (b) tarpit")
        measure_tarpit(figures, source)
        results.append(figures)
    print_table(console, results)
    console.print(f"whole run: {time.monotonic() - started:.0f} s")
    if not args.no_write:
        command = "python benchmarks/hostile_intake.py" + "".join(
            f" --variant {label}" + ("=<checkout>" if source else "") for label, source in variants
        ) if args.variant else "python benchmarks/hostile_intake.py"
        section = render_section(results, command, args.note, bomb_bytes=len(bomb))
        write_section(args.output, section, start=SECTION_START, end=SECTION_END)
        console.print(f"wrote the hostile intake section of {args.output}")


if __name__ == "__main__":
    main()
