"""Hostile connections: how long `/healthz` takes to answer while `stillmotion serve` is under a key flood or
held by a crowd of idle sockets. Goal: the worst probe answered within 0.5 s.

Loopback only, about two minutes. A real `stillmotion serve --workers 0` (SQLite, temp data directory) is started
with a soft open-file limit of `--server-open-files` (1024, the usual default; the hard limit is left as it is).
Meanwhile a prober opens a new connection every `--probe-every-ms` and asks `/healthz` (5 s timeout: a probe that
gets no answer counts as failed, and as 5 s in the worst figure).

- idle: `--idle` (1,100) sockets connect and send nothing; one the server closes is opened again at once, so
  the crowd stays that size for the whole scenario.
- key flood: `wrk` (`key_flood.lua`; `--connections` connections) sends AI/ML status polls, each with a different
  random invalid API key, as fast as they are answered; without `wrk`, a bounded asyncio client does.

With `--compare COMMIT` the same scenarios first run against the server at that commit (its `src/` taken with
`git archive`), so that before and after come from one run on one machine. The server's log is counted too:
asyncio logged an error line, with its traceback, for each connection it could not accept.

Usage: python benchmarks/hostile_connections.py [--compare 36f0eb9] [--duration-s 15] [--output BENCHMARKS.md]
       [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
from rich.console import Console
from rich.table import Table

import stillmotion
from report import cpu_model, write_section

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
FLOOD_SCRIPT: Final = Path(__file__).resolve().parent / "key_flood.lua"
POLL_PATH: Final = "/v2/generate/video/minimax/generation?generation_id=1"
SECTION_START: Final = "<!-- benchmark:hostile-connections:start -->"
SECTION_END: Final = "<!-- benchmark:hostile-connections:end -->"
GOAL_S: Final = 0.5
PROBE_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True)
class Outcome:
    version: str
    scenario: str
    probes: int
    failed: int
    worst_s: float
    p99_ms: float
    flood_per_s: float | None
    log_lines: int
    log_bytes: int


class Server:
    """`stillmotion serve --workers 0` from the source tree `src` (None: this checkout), on a free port."""

    def __init__(self, work: Path, *, src: Path | None, open_files: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = work / f"serve-{self.port}.log"
        env = {**os.environ, "STILLMOTION_API_KEYS": "sk-" + secrets.token_hex(16)}
        if src is not None:
            env["PYTHONPATH"] = str(src)

        def limit() -> None:
            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(open_files, hard), hard))

        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stillmotion", "serve", "--port", str(self.port), "--workers", "0",
                 "--data-dir", str(work / f"data-{self.port}")],
                env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit, cwd=work,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited during start-up: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("the server did not become healthy")

    def log_size(self) -> tuple[int, int]:
        text = self.log_path.read_bytes()
        return text.count(b"\n"), len(text)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Prober:
    """Asks `/healthz` on a new connection every `every_s`, from a thread, recording each answer's latency."""

    def __init__(self, base: str, *, every_s: float) -> None:
        self._base = base
        self._every_s = every_s
        self._stop = threading.Event()
        self.latencies_s: list[float] = []
        self.failed = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        # No keep-alive: every probe connects anew, as a load balancer's does, so it meets the accept queue too.
        with httpx.Client(timeout=PROBE_TIMEOUT_S, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            while not self._stop.is_set():
                self._probe(client)

    def _probe(self, client: httpx.Client) -> None:
        started = time.monotonic()
        try:
            answer = client.get(self._base + "/healthz")
            latency_s = time.monotonic() - started
            if answer.status_code != 200:
                self.failed += 1
        except httpx.HTTPError:
            latency_s = PROBE_TIMEOUT_S
            self.failed += 1
        self.latencies_s.append(latency_s)
        self._stop.wait(max(0.0, self._every_s - (time.monotonic() - started)))


def _raise_own_open_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _hold_idle(port: int, count: int, stop: asyncio.Event) -> None:
    """`count` connections that never send a byte; each one the server closes is opened again."""

    async def one() -> None:
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            with contextlib.suppress(OSError):
                done = asyncio.ensure_future(reader.read())
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({done, stopping}, return_when=asyncio.FIRST_COMPLETED)
                done.cancel()
                stopping.cancel()
            writer.close()
            await asyncio.sleep(0.01)

    await asyncio.gather(*(one() for _ in range(count)))


def _idle_crowd(port: int, count: int) -> Callable[[], None]:
    """Start the idle crowd on a thread of its own; the returned function ends it."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(_hold_idle(port, count, stop),), daemon=True)
    thread.start()

    def end() -> None:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)

    return end


async def _asyncio_flood(port: int, connections: int, duration_s: float) -> int:
    """The key flood without wrk: `connections` keep-alive connections, each sending a poll with a new random
    key as soon as the last one is answered. Returns the requests answered."""
    deadline = time.monotonic() + duration_s
    answered = 0

    async def one() -> None:
        nonlocal answered
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                while time.monotonic() < deadline:
                    key = "sk-" + secrets.token_hex(16)
                    writer.write(f"GET {POLL_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
                    head = await reader.readuntil(b"\r\n\r\n")
                    lines = head.lower().split(b"\r\n")
                    length = next(int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length"))
                    await reader.readexactly(length)
                    answered += 1
                writer.close()
            except (OSError, asyncio.IncompleteReadError, StopIteration):
                await asyncio.sleep(0.05)

    await asyncio.gather(*(one() for _ in range(connections)))
    return answered


def _key_flood(port: int, *, connections: int, duration_s: float) -> float:
    """Requests/s the key flood got answered."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return asyncio.run(_asyncio_flood(port, connections, duration_s)) / duration_s
    ran = subprocess.run(
        [wrk, "-t", "2", "-c", str(connections), "-d", f"{duration_s:g}s", "-s", str(FLOOD_SCRIPT),
         f"http://127.0.0.1:{port}{POLL_PATH}"],
        capture_output=True, text=True, check=True,
    )
    line = next(line for line in ran.stdout.splitlines() if line.startswith("FLOOD "))
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    return int(fields["requests"]) / (int(fields["duration_us"]) / 1e6)


def _measure(
    version: str, scenario: str, server: Server, run: Callable[[], float | None], *, every_s: float
) -> Outcome:
    lines_before, bytes_before = server.log_size()
    with Prober(server.base, every_s=every_s) as prober:
        flood_per_s = run()
    lines_after, bytes_after = server.log_size()
    latencies = sorted(prober.latencies_s) or [0.0]
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return Outcome(
        version, scenario, len(prober.latencies_s), prober.failed, latencies[-1], p99 * 1000, flood_per_s,
        lines_after - lines_before, bytes_after - bytes_before,
    )


def _scenarios(version: str, src: Path | None, args: argparse.Namespace, work: Path) -> Iterator[Outcome]:
    server = Server(work, src=src, open_files=args.server_open_files)
    try:
        every_s = args.probe_every_ms / 1000

        def quiet() -> None:
            time.sleep(3)

        yield _measure(version, "quiet (no load)", server, lambda: quiet(), every_s=every_s)

        def flood() -> float:
            return _key_flood(server.port, connections=args.connections, duration_s=args.duration_s)

        yield _measure(version, f"key flood, {args.connections} connections", server, flood, every_s=every_s)

        def idle() -> None:
            end = _idle_crowd(server.port, args.idle)
            try:
                time.sleep(args.duration_s)
            finally:
                end()

        yield _measure(version, f"{args.idle:,} idle sockets", server, idle, every_s=every_s)
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(server.base + "/healthz", timeout=10)  # still alive afterwards?
    finally:
        server.stop()


@contextlib.contextmanager
def _source_at(commit: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="stillmotion-src-") as tmp:
        archive = subprocess.run(["git", "archive", commit, "src"], cwd=REPO_ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp) / "src"


def _table(outcomes: list[Outcome]) -> str:
    rows = [
        "| version | scenario | probes | failed | worst /healthz (s) | p99 (ms) | flood requests/s | log lines "
        "| log MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        flood = f"{o.flood_per_s:,.0f}" if o.flood_per_s is not None else ""
        rows.append(
            f"| {o.version} | {o.scenario} | {o.probes} | {o.failed} | {o.worst_s:.3f} | {o.p99_ms:.1f} | {flood} "
            f"| {o.log_lines:,} | {o.log_bytes / 1e6:.2f} |"
        )
    return "\n".join(rows)


def _before_notes(outcomes: list[Outcome]) -> list[str]:
    """One line per loaded scenario of the compared commit: its worst probe, failures and log volume."""
    notes = []
    for o in outcomes:
        if o.version.startswith("before") and o.scenario != "quiet (no load)":
            notes.append(
                f"- {o.version}, {o.scenario}: worst `/healthz` {o.worst_s:.3f} s, {o.failed} of {o.probes} probes "
                f"failed, {o.log_lines:,} log lines ({o.log_bytes / 1e6:.1f} MB) written during the "
                "scenario."
            )
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", default=None, help="Also measure the server at this commit, first.")
    parser.add_argument("--duration-s", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=256, help="Key flood connections.")
    parser.add_argument("--idle", type=int, default=1100, help="Idle sockets held open.")
    parser.add_argument("--server-open-files", type=int, default=1024, help="The server's soft open-file limit.")
    parser.add_argument("--probe-every-ms", type=float, default=100.0)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    _raise_own_open_file_limit()
    console = Console(width=160)
    load_before = os.getloadavg()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="stillmotion-hostile-") as tmp:
        work = Path(tmp)
        if args.compare:
            with _source_at(args.compare) as src:
                for outcome in _scenarios(f"before ({args.compare})", src, args, work):
                    console.print(outcome)
                    outcomes.append(outcome)
        for outcome in _scenarios("after", None, args, work):
            console.print(outcome)
            outcomes.append(outcome)

    table = Table("version", "scenario", "probes", "failed", "worst (s)", "p99 (ms)", "flood req/s", "log lines")
    for o in outcomes:
        table.add_row(
            o.version, o.scenario, str(o.probes), str(o.failed), f"{o.worst_s:.3f}", f"{o.p99_ms:.1f}",
            f"{o.flood_per_s:,.0f}" if o.flood_per_s is not None else "", f"{o.log_lines:,}",
        )
    console.print(table)
    after = [o for o in outcomes if o.version == "after" and o.scenario != "quiet (no load)"]
    worst = max((o.worst_s for o in after), default=0.0)
    verdict = "meets" if worst <= GOAL_S and not any(o.failed for o in after) else "misses"
    console.print(f"after: worst /healthz under load {worst:.3f} s ({verdict} the <= {GOAL_S} s goal)")
    if args.no_write:
        return
    wrk = shutil.which("wrk")
    wrk_version = "none (asyncio client)"
    if wrk is not None:
        shown = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        wrk_version = (shown.stdout or shown.stderr).split("\n", 1)[0].split(" [", 1)[0].removeprefix("wrk ").strip()
    section = "\n".join(
        [
            SECTION_START,
            "## Hostile connections: /healthz under a key flood and a crowd of idle sockets",
            "",
            "`python benchmarks/hostile_connections.py"
            + (f" --compare {args.compare}" if args.compare else "")
            + "`: loopback only. `stillmotion serve --workers 0` (SQLite) started with a soft open-file limit "
            f"of {args.server_open_files} (the hard limit left as it is). A prober asks `/healthz` on a new "
            f"connection every {args.probe_every_ms:g} ms ({PROBE_TIMEOUT_S:g} s timeout; a probe with no 200 "
            "answer is failed, and counts as 5 s). Key flood: `wrk` (`benchmarks/key_flood.lua`), "
            f"{args.connections} connections polling the AI/ML status route, each request with a new random "
            f"invalid API key (a key lookup and a 401 each), for {args.duration_s:g} s. Idle: {args.idle:,} "
            "sockets that never send a byte, each reopened as soon as the server closes it, for "
            f"{args.duration_s:g} s. Log: the lines and bytes the server wrote during the scenario. Goal: the "
            f"worst probe under load answered within {GOAL_S} s.",
            "",
            f"- machine: {os.cpu_count()} CPUs, {cpu_model()}; shared; load generator and server on it; load average "
            f"when the run began {load_before[0]:.1f} (1 min), {load_before[1]:.1f} (5 min)",
            f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            f"- versions: Python {platform.python_version()}, stillmotion {stillmotion.__version__}, wrk {wrk_version}",
            "",
            _table(outcomes),
            "",
            f"- after: worst `/healthz` under load **{worst:.3f} s** ({verdict} the <= {GOAL_S} s goal).",
            *_before_notes(outcomes),
            SECTION_END,
            "",
        ]
    )
    write_section(args.output, section, start=SECTION_START, end=SECTION_END)
    console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
