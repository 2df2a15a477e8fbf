"""Load benchmark: status polls against `stillmotion serve` and against 2 API processes on PostgreSQL.

Loopback only, bounded in time. The load comes from `wrk` (Debian's package; C, so it is not the bottleneck)
driven by `load.lua`. Two setups, each with its baseline measured in the same run: a bare FastAPI JSON
endpoint (`bare_app.py`) served by uvicorn exactly as `stillmotion serve` serves the real app, with the same
number of processes.

1. `sqlite`: `stillmotion serve` (SQLite, 1 in-process worker); baseline: 1 bare process.
2. `postgres`: 2 x `stillmotion serve --workers 0` on two ports and `--pg-workers` x `stillmotion worker`, all on
   a fresh PostgreSQL database (created here and dropped afterwards); baseline: 2 bare processes. Each wrk
   thread talks to one of the two ports, so the load is split evenly.

In each setup:
(a) closed loop: `--connections` (200) connections poll (GET `/v2/generate/video/minimax/generation` with a
    valid stored key) as fast as they get answers; requests/s, p50/p99 latency, errors, the API processes'
    CPU per request, and the ratio to the bare endpoint (target: at least 0.5).
(b) paced: `--pollers` (200) pollers, each polling every `--period-ms` (200 ms, so about 1,000 polls/s), while
    creates arrive (`--create-rate` a second, 1 s clips) and videos render: p99 (target: under 50 ms), errors,
    and lost jobs (a create that got a 2xx but whose job is missing or never finished). The bare endpoint
    gets the same paced load first, which shows what the loopback, uvicorn and wrk cost on their own.

The polls cycle through a few generations made (and finished) before the measurements start.

Usage: python benchmarks/load.py [--setups sqlite,postgres] [--duration-s 10] [--paced-s 20]
       [--output BENCHMARKS.md] [--no-write] [--tiny]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import datetime as dt
import io
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import fastapi
import httpx
import uvicorn
from PIL import Image
from rich.console import Console
from rich.table import Table

import stillmotion
from report import cpu_model, write_section

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
BENCH_DIR: Final = Path(__file__).resolve().parent
LUA_SCRIPT: Final = BENCH_DIR / "load.lua"
SAMPLE: Final = REPO_ROOT / "tests" / "fixtures" / "grace_hopper.jpg"
POLL_PATH: Final = "/v2/generate/video/minimax/generation"
SECTION_START: Final = "<!-- benchmark:load:start -->"
SECTION_END: Final = "<!-- benchmark:load:end -->"
TARGET_RATIO: Final = 0.5
TARGET_P99_MS: Final = 50.0
DEFAULT_PG_URL: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TERMINAL: Final = frozenset({"completed", "error"})


@dataclass(frozen=True)
class Config:
    setups: tuple[str, ...]
    duration_s: float
    warmup_s: float
    paced_s: float
    connections: int
    pollers: int
    period_ms: int
    create_rate: float
    polled_jobs: int
    pg_workers: int
    drain_s: float
    admin_url: str
    variants: tuple[tuple[str, str | None], ...] = (("", None),)  # (label, source tree) pairs


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    late_sends: int

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


@dataclass
class Row:
    setup: str
    case: str
    endpoint: str
    result: WrkResult
    cpu_ms_per_request: float | None = None
    creates: int | None = None
    create_errors: int | None = None
    lost: int | None = None
    failed: int | None = None


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_average: tuple[float, float, float] = field(default_factory=os.getloadavg)  # when the run began


# ---- processes ----


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Fleet:
    """The processes of one setup; all stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.work / f"{name}.log").open("wb")
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.work)
        log.close()
        self.processes.append(process)
        return process

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.work / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(base: str, process: subprocess.Popen[bytes], *, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{base}: the process exited with {process.returncode} during start-up")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base} did not become healthy within {timeout_s:g} s")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (all their threads) so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def stillmotion_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "stillmotion", *args]


def bare_command(port: int) -> list[str]:
    return [sys.executable, str(BENCH_DIR / "bare_app.py"), "--port", str(port)]


# ---- load ----


def run_wrk(
    url: str,
    *,
    ports: list[int],
    connections: int,
    duration_s: float,
    paced_period_ms: int | None = None,
    paths: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    threads = connections if paced_period_ms is not None else min(2, connections)
    env = {
        **os.environ,
        "LOAD_MODE": "paced" if paced_period_ms is not None else "closed",
        "LOAD_PERIOD_MS": str(paced_period_ms or 0),
        "LOAD_PORTS": ",".join(str(port) for port in ports),
        "LOAD_PATHS": ",".join(paths or []),
    }
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration_s))}s"]
    command += ["--timeout", "2s", "-s", str(LUA_SCRIPT)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, url], env=env, capture_output=True, text=True, timeout=duration_s + 60)
    values: dict[str, float] = {}
    for line in done.stdout.splitlines():
        if line.startswith("LOAD "):
            key, _, value = line[5:].partition("=")
            values[key] = float(value)
    if done.returncode != 0 or "requests" not in values:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return WrkResult(
        requests=int(values["requests"]),
        duration_s=values["duration_us"] / 1e6,
        p50_ms=values["latency_p50_us"] / 1000,
        p99_ms=values["latency_p99_us"] / 1000,
        max_ms=values["latency_max_us"] / 1000,
        errors=int(sum(values[f"errors_{kind}"] for kind in ("connect", "read", "write", "status", "timeout"))),
        late_sends=int(values["late_sends"]),
    )


def first_frame_b64() -> str:
    """The sample portrait at 480 px on its long side, as a base64 JPEG (small requests, quick renders)."""
    with Image.open(SAMPLE) as opened:
        image = opened.convert("RGB")
    image.thumbnail((480, 480))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode()


class Creator:
    """Sends creates at a steady rate on its own thread, alternating between the API ports, and remembers
    every answer."""

    def __init__(self, bases: list[str], key: str, *, rate_per_s: float) -> None:
        self.bases = bases
        self.key = key
        self.rate_per_s = rate_per_s
        self.accepted: list[tuple[str, str]] = []  # (base, generation id) of every 2xx
        self.refused: list[str] = []  # what went wrong with the others
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="creator", daemon=True)
        self._body = {
            "model": "video-01-live2d",
            "prompt": "she smiles and blinks, hair moving in the wind",
            "first_frame_image": first_frame_b64(),
            "duration": 1,
        }

    def create_one(self, client: httpx.Client, base: str) -> None:
        try:
            response = client.post(base + POLL_PATH, json=self._body, headers={"Authorization": f"Bearer {self.key}"})
        except httpx.HTTPError as exc:
            self.refused.append(f"{type(exc).__name__}: {exc}")
            return
        if response.is_success:
            self.accepted.append((base, response.json()["generation_id"]))
        else:
            self.refused.append(f"{response.status_code}: {response.text[:200]}")

    def _run(self) -> None:
        interval_s = 1.0 / self.rate_per_s
        next_at = time.monotonic()
        with httpx.Client(timeout=30) as client:
            index = 0
            while not self._stop.is_set():
                self.create_one(client, self.bases[index % len(self.bases)])
                index += 1
                next_at += interval_s
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> Creator:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def wait_finished(bases: list[str], key: str, ids: list[str], *, timeout_s: float) -> dict[str, str]:
    """Each job's last status word (`missing` for a 404) once all are terminal or `timeout_s` has passed."""
    last: dict[str, str] = {}
    pending = list(ids)
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {key}"}) as client:
        while pending:
            still = []
            for index, job_id in enumerate(pending):
                response = client.get(bases[index % len(bases)] + POLL_PATH, params={"generation_id": job_id})
                if response.status_code == 404:
                    last[job_id] = "missing"
                    continue
                response.raise_for_status()
                last[job_id] = response.json()["status"]
                if last[job_id] not in TERMINAL:
                    still.append(job_id)
            pending = still
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    return last


def check_poll(base: str, key: str, job_id: str) -> None:
    response = httpx.get(
        base + POLL_PATH, params={"generation_id": job_id}, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    if response.status_code != 200 or response.json().get("id") != job_id:
        raise RuntimeError(f"a poll of {job_id} on {base} answered {response.status_code}: {response.text[:300]}")


# ---- one setup ----


@dataclass
class Target:
    """What the load is pointed at: the API (or bare) ports, and the processes whose CPU is counted."""

    name: str
    ports: list[int]
    pids: list[int]
    path_list: list[str]
    headers: dict[str, str]


def measure_setup(
    setup: str, config: Config, work: Path, console: Console, outcome: Outcome, env: dict[str, str]
) -> None:
    fleet = Fleet(work)
    try:
        sqlite = setup.startswith("sqlite")
        api_count = 1 if sqlite else 2
        data_dir = work / "data"
        made = subprocess.run(
            stillmotion_command("keys", "create", "--name", "load", "--data-dir", str(data_dir)),
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = made.stdout.strip().splitlines()[-1]

        api_ports = [free_port() for _ in range(api_count)]
        api_processes = []
        for index, port in enumerate(api_ports):
            workers = "1" if sqlite else "0"
            api_processes.append(
                fleet.start(
                    f"api-{index}",
                    stillmotion_command(
                        "serve", "--port", str(port), "--data-dir", str(data_dir), "--workers", workers
                    ),
                    env,
                )
            )
        if not sqlite:
            for index in range(config.pg_workers):
                fleet.start(f"worker-{index}", stillmotion_command("worker", "--data-dir", str(data_dir)), env)
        bare_ports = [free_port() for _ in range(api_count)]
        bare_processes = [
            fleet.start(f"bare-{index}", bare_command(port), {**os.environ}) for index, port in enumerate(bare_ports)
        ]
        bases = [f"http://127.0.0.1:{port}" for port in api_ports]
        for base, process in zip(bases, api_processes, strict=True):
            wait_healthy(base, process)
        for port, process in zip(bare_ports, bare_processes, strict=True):
            wait_healthy(f"http://127.0.0.1:{port}", process)

        # The jobs to poll.
        creator = Creator(bases, key, rate_per_s=1.0)
        with httpx.Client(timeout=30) as client:
            for index in range(config.polled_jobs):
                creator.create_one(client, bases[index % len(bases)])
        if creator.refused or not creator.accepted:
            raise RuntimeError(f"could not create the jobs to poll: {creator.refused[:3]}")
        polled = [job_id for _base, job_id in creator.accepted]
        for base in bases:
            check_poll(base, key, polled[0])
        # Polled once finished: a completed generation is the largest answer (a signed link, the motion plan),
        # and no render competes with the closed loop.
        finished = wait_finished(bases, key, polled, timeout_s=config.drain_s)
        if any(status != "completed" for status in finished.values()):
            raise RuntimeError(f"the jobs to poll did not complete: {finished}")

        stillmotion_target = Target(
            name="stillmotion: AI/ML status poll",
            ports=api_ports,
            pids=[process.pid for process in api_processes],
            path_list=[f"{POLL_PATH}?generation_id={job_id}" for job_id in polled],
            headers={"Authorization": f"Bearer {key}"},
        )
        bare_target = Target(
            name="bare FastAPI JSON endpoint",
            ports=bare_ports,
            pids=[process.pid for process in bare_processes],
            path_list=["/bare"],
            headers={},
        )

        # (a) closed loop: bare, then stillmotion, each after its own warm-up.
        for target in (bare_target, stillmotion_target):
            url = f"http://127.0.0.1:{target.ports[0]}{target.path_list[0]}"
            if config.warmup_s > 0:
                run_wrk(
                    url,
                    ports=target.ports,
                    connections=config.connections,
                    duration_s=config.warmup_s,
                    paths=target.path_list,
                    headers=target.headers,
                )
            cpu_before = cpu_seconds(target.pids)
            result = run_wrk(
                url,
                ports=target.ports,
                connections=config.connections,
                duration_s=config.duration_s,
                paths=target.path_list,
                headers=target.headers,
            )
            cpu_ms = 1000 * (cpu_seconds(target.pids) - cpu_before) / max(1, result.requests)
            row = Row(setup, f"closed, {config.connections} connections", target.name, result, cpu_ms)
            outcome.rows.append(row)
            print_row(console, row)

        # (b) paced: bare alone, then stillmotion with creates arriving and videos rendering.
        bare_url = f"http://127.0.0.1:{bare_target.ports[0]}/bare"
        result = run_wrk(
            bare_url,
            ports=bare_target.ports,
            connections=config.pollers,
            duration_s=config.paced_s,
            paced_period_ms=config.period_ms,
            paths=bare_target.path_list,
        )
        row = Row(setup, paced_case(config), bare_target.name, result)
        outcome.rows.append(row)
        print_row(console, row)

        url = f"http://127.0.0.1:{api_ports[0]}{stillmotion_target.path_list[0]}"
        with Creator(bases, key, rate_per_s=config.create_rate) as paced_creator:
            result = run_wrk(
                url,
                ports=api_ports,
                connections=config.pollers,
                duration_s=config.paced_s,
                paced_period_ms=config.period_ms,
                paths=stillmotion_target.path_list,
                headers=stillmotion_target.headers,
            )
        ids = [job_id for _base, job_id in paced_creator.accepted]
        final = wait_finished(bases, key, ids, timeout_s=config.drain_s)
        lost = sum(1 for job_id in ids if final.get(job_id) not in TERMINAL)
        failed = sum(1 for job_id in ids if final.get(job_id) == "error")
        row = Row(
            setup,
            paced_case(config),
            stillmotion_target.name + f" + {config.create_rate:g} creates/s",
            result,
            creates=len(ids),
            create_errors=len(paced_creator.refused),
            lost=lost,
            failed=failed,
        )
        outcome.rows.append(row)
        print_row(console, row)
        if paced_creator.refused:
            outcome.notes.append(f"note: {setup}: refused creates, e.g. {paced_creator.refused[:2]}")
        if lost:
            unfinished = {job_id: final.get(job_id) for job_id in ids if final.get(job_id) not in TERMINAL}
            outcome.notes.append(
                f"note: {setup}: {lost} job(s) missing or unfinished after {config.drain_s:g} s: "
                f"{list(unfinished.items())[:5]}"
            )
    except Exception:
        for process_log in sorted(work.glob("*.log")):
            console.print(f"[red]--- {process_log.name}[/]\n{fleet.log_tail(process_log.stem)}")
        raise
    finally:
        fleet.stop()


def paced_case(config: Config) -> str:
    offered = config.pollers * 1000 / config.period_ms
    return f"paced, {config.pollers} pollers every {config.period_ms} ms (offered {offered:,.0f}/s)"


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, uniquely named PostgreSQL database for this run; dropped afterwards."""
    import psycopg

    plain = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"stillmotion_load_{secrets.token_hex(4)}"
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _old = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(config: Config, console: Console) -> Outcome:
    outcome = Outcome()
    base_env = {
        **os.environ,
        "STILLMOTION_SIGNING_SECRET": secrets.token_hex(16),  # the same for every process of a setup
        "STILLMOTION_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
        "STILLMOTION_POLL_INTERVAL_S": "0.1",
    }
    for name in ("STILLMOTION_DATABASE_URL", "STILLMOTION_API_KEYS", "STILLMOTION_DATA_DIR"):
        base_env.pop(name, None)
    for label, source in config.variants:
        env = dict(base_env)
        if source is not None:  # run the service from another source tree (before/after comparisons)
            env["PYTHONPATH"] = str(Path(source).resolve() / "src") if (Path(source) / "src").is_dir() else source
        for setup in config.setups:
            name = f"{setup} ({label})" if label else setup
            console.print(f"[bold]setup: {name}[/]")
            with tempfile.TemporaryDirectory(prefix=f"stillmotion-load-{setup}-") as scratch:
                if setup == "sqlite":
                    measure_setup(name, config, Path(scratch), console, outcome, env)
                else:
                    with fresh_database(config.admin_url) as url:
                        measure_setup(
                            name, config, Path(scratch), console, outcome, {**env, "STILLMOTION_DATABASE_URL": url}
                        )
    return outcome


# ---- report ----


def print_row(console: Console, row: Row) -> None:
    r = row.result
    extra = f", CPU {row.cpu_ms_per_request:.3f} ms/request" if row.cpu_ms_per_request is not None else ""
    if row.lost is not None:
        extra += f", creates {row.creates} (refused {row.create_errors}), lost {row.lost}, failed {row.failed}"
    console.print(
        f"  {row.case} | {row.endpoint}: {r.rate:,.0f} req/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
        f"max {r.max_ms:.0f} ms, errors {r.errors}{extra}"
    )


def ratio_lines(rows: list[Row]) -> list[str]:
    lines = []
    for setup in dict.fromkeys(row.setup for row in rows):
        closed = [row for row in rows if row.setup == setup and row.case.startswith("closed")]
        if len(closed) == 2:
            bare, real = closed
            ratio = real.result.rate / bare.result.rate
            verdict = "meets" if ratio >= TARGET_RATIO else "misses"
            lines.append(
                f"- {setup}, closed loop: status polls / bare endpoint = **{ratio:.2f}** "
                f"({verdict} the >= {TARGET_RATIO:g} target)."
            )
        paced = [row for row in rows if row.setup == setup and row.lost is not None]
        for row in paced:
            verdict = (
                "meets"
                if row.result.p99_ms < TARGET_P99_MS and row.result.errors == 0 and row.lost == 0
                else ("misses")
            )
            lines.append(
                f"- {setup}, paced: p99 **{row.result.p99_ms:.1f} ms**, {row.result.errors} errors, "
                f"{row.lost} lost of {row.creates} created ({verdict} the p99 < {TARGET_P99_MS:g} ms, zero errors, "
                "zero lost target)."
            )
    return lines


def machine_lines(outcome: Outcome) -> list[str]:
    # The section is also rendered where wrk is missing (its own test): then the version line says so.
    wrk = (
        subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()
        if shutil.which("wrk")
        else ["wrk (not installed)"]
    )
    one, five, _fifteen = outcome.load_average
    return [
        f"- machine: {os.cpu_count()} CPUs (`nproc` {len(os.sched_getaffinity(0))}), {cpu_model()}; "
        "load generator, servers, workers and PostgreSQL all on it; "
        f"load average when the run began {one:.1f} (1 min), {five:.1f} (5 min)",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- versions: Python {platform.python_version()}, stillmotion {stillmotion.__version__}, "
        f"FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}, {(wrk or ['wrk ?'])[0].split(' [')[0]}",
    ]


def render_section(outcome: Outcome, config: Config, command: str) -> str:
    lines = [
        SECTION_START,
        "## Load: status polls under load",
        "",
        f"`{command}`: loopback only, load from `wrk` (`benchmarks/load.lua`). Setups: **sqlite** = "
        "`stillmotion serve` (SQLite, 1 in-process worker); **postgres** = 2 x `stillmotion serve --workers 0` "
        f"+ {config.pg_workers} x `stillmotion worker` on a fresh PostgreSQL database (each wrk thread on one of "
        "the two ports). Baseline in the same run: a bare FastAPI JSON endpoint (`benchmarks/bare_app.py`) served "
        "by uvicorn with the same configuration and process count. Polls are GETs of existing generations on the "
        f"AI/ML route with a stored API key, cycling through {config.polled_jobs} finished jobs (each wrk connection "
        "starts at a different one). Closed loop: "
        f"{config.connections} connections for {config.duration_s:g} s after a {config.warmup_s:g} s warm-up. "
        f"Paced: {config.pollers} pollers, one poll each every {config.period_ms} ms for {config.paced_s:g} s, "
        f"while {config.create_rate:g} creates/s (1 s clips) arrive and render; lost = a create answered 2xx "
        f"whose job is missing or unfinished {config.drain_s:g} s after the load stopped. A paced poller whose "
        "answer comes later than its period sends the next poll at once (no catch-up burst), so requests/s below "
        "the offered rate means the server could not keep up. CPU/request: user + system CPU of the serving "
        "processes over the run, divided by the requests; it is the figure least moved by other load on the "
        "machine.",
        "",
        *machine_lines(outcome),
        "",
        "| setup | case | endpoint | requests/s | p50 (ms) | p99 (ms) | max (ms) | errors | CPU ms/request "
        "| creates (refused) | lost | failed |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in outcome.rows:
        r = row.result
        cpu = f"{row.cpu_ms_per_request:.3f}" if row.cpu_ms_per_request is not None else ""
        creates = f"{row.creates} ({row.create_errors})" if row.creates is not None else ""
        lines.append(
            f"| {row.setup} | {row.case} | {row.endpoint} | {r.rate:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.max_ms:.0f} | {r.errors} | {cpu} | {creates} | "
            f"{'' if row.lost is None else row.lost} | {'' if row.failed is None else row.failed} |"
        )
    lines += ["", *ratio_lines(outcome.rows), *(f"- {note}" for note in outcome.notes), SECTION_END]
    return "\n".join(lines) + "\n"


def print_table(console: Console, outcome: Outcome) -> None:
    table = Table(title="Load: status polls")
    for name in ("setup", "case", "endpoint", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "CPU ms/req", "lost"):
        table.add_column(name, justify="right" if name not in ("setup", "case", "endpoint") else "left")
    for row in outcome.rows:
        r = row.result
        table.add_row(
            row.setup,
            row.case,
            row.endpoint,
            f"{r.rate:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.max_ms:.0f}",
            str(r.errors),
            "" if row.cpu_ms_per_request is None else f"{row.cpu_ms_per_request:.3f}",
            "" if row.lost is None else f"{row.lost} of {row.creates}",
        )
    console.print(table)
    for line in ratio_lines(outcome.rows):
        console.print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--duration-s", type=float, default=10.0, help="closed-loop run per endpoint")
    parser.add_argument("--warmup-s", type=float, default=2.0)
    parser.add_argument("--paced-s", type=float, default=20.0, help="paced run per endpoint")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--pollers", type=int, default=200)
    parser.add_argument("--period-ms", type=int, default=200)
    parser.add_argument("--create-rate", type=float, default=2.0, help="creates per second during the paced run")
    parser.add_argument(
        "--polled-jobs", type=int, default=40, help="distinct finished jobs the polls cycle through (one per request)"
    )
    parser.add_argument("--pg-workers", type=int, default=2, help="`stillmotion worker` processes (postgres)")
    parser.add_argument("--drain-s", type=float, default=120.0, help="wait this long for created jobs to finish")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("STILLMOTION_TEST_DATABASE_URL", DEFAULT_PG_URL),
        help="a PostgreSQL URL whose server gets a fresh database for the run",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL[=DIR]",
        help="measure the service from source tree DIR (default: this one) under LABEL; repeat to compare",
    )
    parser.add_argument("--note", action="append", default=[], help="a line to add under the table (repeatable)")
    parser.add_argument("--tiny", action="store_true", help="a few seconds in all (smoke test); implies --no-write")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    setups = tuple(name.strip() for name in args.setups.split(",") if name.strip())
    if not setups or any(name not in ("sqlite", "postgres") for name in setups):
        sys.exit(f"--setups takes sqlite and/or postgres, not {args.setups!r}")
    if args.tiny:
        config = Config(
            setups=setups,
            duration_s=1,
            warmup_s=0,
            paced_s=1,
            connections=4,
            pollers=4,
            period_ms=100,
            create_rate=2,
            polled_jobs=2,
            pg_workers=1,
            drain_s=60,
            admin_url=args.database_url,
        )
    else:
        config = Config(
            setups=setups,
            duration_s=args.duration_s,
            warmup_s=args.warmup_s,
            paced_s=args.paced_s,
            connections=args.connections,
            pollers=args.pollers,
            period_ms=args.period_ms,
            create_rate=args.create_rate,
            polled_jobs=args.polled_jobs,
            pg_workers=args.pg_workers,
            drain_s=args.drain_s,
            admin_url=args.database_url,
        )
    variants = tuple(
        (label, source or None) for label, _, source in (text.partition("=") for text in args.variant)
    ) or (("", None),)
    config = dataclasses.replace(config, variants=variants)
    console = Console(width=max(160, shutil.get_terminal_size().columns))
    started = time.monotonic()
    outcome = run(config, console)
    outcome.notes.extend(args.note)
    print_table(console, outcome)
    console.print(f"whole run: {time.monotonic() - started:.0f} s")
    if not (args.no_write or args.tiny):
        command = "python benchmarks/load.py" + ("" if setups == ("sqlite", "postgres") else f" --setups {args.setups}")
        write_section(args.output, render_section(outcome, config, command), start=SECTION_START, end=SECTION_END)
        console.print(f"wrote the load section of {args.output}")


if __name__ == "__main__":
    main()
