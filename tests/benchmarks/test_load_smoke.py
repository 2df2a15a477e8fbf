"""The load benchmark runs end to end in its tiny mode (a few seconds of load; no assertion on speed), and its
BENCHMARKS.md section carries every measured row."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))
import load  # noqa: E402


def test_tiny_run_against_stillmotion_serve(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (Debian: apt-get install wrk); the load benchmark needs it")
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, str(BENCH_DIR / "load.py"), "--tiny", "--setups", "sqlite"],
        cwd=BENCH_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "stillmotion: AI/ML status poll" in out and "bare FastAPI JSON endpoint" in out
    assert "closed loop: status polls / bare endpoint" in out
    # Every create the paced phase made was found again and finished.
    assert ", lost 0, failed 0" in out, out[-3000:]
    assert not list(tmp_path.glob("stillmotion-load-*")), "the run left its scratch directory behind"


def test_the_section_lists_every_row_and_each_target() -> None:
    config = load.Config(
        setups=("sqlite",),
        duration_s=1,
        warmup_s=0,
        paced_s=1,
        connections=4,
        pollers=4,
        period_ms=100,
        create_rate=2,
        polled_jobs=1,
        pg_workers=1,
        drain_s=10,
        admin_url=load.DEFAULT_PG_URL,
    )

    def result(rate: float, p99_ms: float) -> load.WrkResult:
        return load.WrkResult(
            requests=int(rate * 10), duration_s=10, p50_ms=1, p99_ms=p99_ms, max_ms=p99_ms, errors=0, late_sends=0
        )

    outcome = load.Outcome(
        rows=[
            load.Row("sqlite", "closed, 4 connections", "bare", result(1000, 5), cpu_ms_per_request=0.2),
            load.Row("sqlite", "closed, 4 connections", "poll", result(600, 9), cpu_ms_per_request=0.5),
            load.Row("sqlite", load.paced_case(config), "bare", result(40, 2)),
            load.Row(
                "sqlite", load.paced_case(config), "poll", result(40, 70), creates=2, create_errors=0, lost=0, failed=0
            ),
        ]
    )
    section = load.render_section(outcome, config, "python benchmarks/load.py --tiny")
    assert section.startswith(load.SECTION_START) and section.rstrip().endswith(load.SECTION_END)
    assert section.count("\n| sqlite |") == 4
    assert "= **0.60** (meets the >= 0.5 target)" in section
    assert "p99 **70.0 ms**" in section and "misses the p99 < 50 ms" in section
