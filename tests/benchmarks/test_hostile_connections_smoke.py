"""The hostile-connections benchmark runs end to end with tiny settings (no assertion on speed) and writes its
BENCHMARKS.md section, one row per scenario, to a copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.slow


def test_tiny_run_writes_every_scenario(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, str(BENCH_DIR / "hostile_connections.py"), "--duration-s", "1", "--idle", "40",
         "--connections", "4", "--output", str(output)],
        cwd=BENCH_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    section = output.read_text()
    assert "<!-- benchmark:hostile-connections:start -->" in section
    for scenario in ("quiet (no load)", "key flood, 4 connections", "40 idle sockets"):
        assert f"| after | {scenario} |" in section
    assert not list(tmp_path.glob("stillmotion-hostile-*")), "the run left its scratch directory behind"
