"""The in-process poll cost benchmark runs against this tree (a few polls; no assertion on speed) and refuses a
measurement whose polls were not answered 200."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH_DIR / "poll_cost.py"), "--rounds", "1", "--batches", "2", "--per-batch", "5", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_tiny_run_measures_this_tree_with_both_kinds_of_key() -> None:
    for key in ("stored", "env"):
        done = _run("--key", key)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "this tree: median" in done.stdout and "us CPU per poll" in done.stdout


def test_a_tree_that_cannot_answer_the_poll_fails_the_run(tmp_path: Path) -> None:
    broken = tmp_path / "src" / "stillmotion"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('not a stillmotion tree')\n")
    done = _run("--variant", f"broken={tmp_path}")
    assert done.returncode != 0 and "the measuring process failed" in done.stderr
