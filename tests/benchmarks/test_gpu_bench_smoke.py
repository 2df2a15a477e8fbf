"""The GPU benchmark's CPU smoke mode runs end to end on the tiny config (no assertion on speed): every variant is
a row, the ones that can run on a CPU have finite numbers, and its BENCHMARKS.md section is written to a copy."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))
import gpu_bench  # noqa: E402


def test_tiny_cpu_run_reports_every_variant_and_writes_its_section(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\nkept\n")
    # torch.compile on a CPU takes ~30 s per compilation here, so the smoke run leaves it out (a row says so).
    argv = ["--preset", "tiny", "--device", "cpu", "--skip", "compile", "--repeats", "2", "--warmup", "1"]
    rows = gpu_bench.main([*argv, "--write", "--output", str(output)])
    by_name = {row.name: row for row in rows}

    measured = [
        "stock eager",
        "CFG step, two batch-1 forwards (stock)",
        "CFG step, one batch-2 forward (stock)",
        "first-block cache 0.1, miss (opt-in)",
        "first-block cache 0.1, hit (opt-in)",
        "VAE decode, untiled",
        "VAE decode, tiled",
    ]
    for name in measured:
        row = by_name[name]
        assert row.status == "ok", row
        assert row.seconds is not None and math.isfinite(row.seconds) and row.seconds > 0, row
    for name in measured[:3]:
        tflops = by_name[name].tflops
        assert tflops is not None and math.isfinite(tflops) and tflops > 0

    eager = by_name["stock eager"]
    assert eager.rel_l2 == 0.0
    # Batching the CFG branches changes only the batch, not the maths.
    batched = by_name["CFG step, one batch-2 forward (stock)"].rel_l2
    assert batched is not None and batched < 1e-4
    # On a cache hit the skipped blocks' residual from the identical previous forward is reused.
    hit = by_name["first-block cache 0.1, hit (opt-in)"].rel_l2
    assert hit is not None and hit < 1e-4

    assert by_name["torch.compile (repeated blocks)"].status == "skipped with --skip compile"
    assert by_name["fp8 linear layers (torchao)"].status.startswith("skipped: needs CUDA")
    assert by_name["8-bit attention (sage)"].status.startswith("skipped: ")
    ours = [row for row in rows if row.name.startswith("ours")]
    assert len(ours) == 1 and ours[0].status == "ok" and ours[0].rel_l2 is not None and ours[0].rel_l2 < 1e-4
    assert "fp8" in ours[0].note  # says which lever could not apply here

    text = output.read_text()
    assert text.startswith("# Benchmarks\n\nkept\n")
    start, end = "<!-- benchmark:gpu-engine:tiny:start -->", "<!-- benchmark:gpu-engine:tiny:end -->"
    section = text.split(start, 1)[1].split(end, 1)[0]
    assert "CPU smoke run" in section and "torch 2." in section and "diffusers " in section
    assert "FLOPs per forward" in section
    table = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(table) == len(rows)
    for line in table:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[1] != "-":
            assert math.isfinite(float(cells[1]))


def test_full_presets_have_the_documented_token_counts_and_flops() -> None:
    five_b = gpu_bench.PRESETS["wan2.2-ti2v-5b"]
    # 1280x704x121 -> 31 latent frames of 44x80 (16x VAE) -> 31 * 22 * 40 tokens after the 2x2 patch.
    assert five_b.latent_shape == (48, 31, 44, 80) and five_b.tokens == 27280
    fourteen_b = gpu_bench.PRESETS["wan2.1-i2v-14b"]
    # 832x480x81 -> 21 latent frames of 60x104 (8x VAE) -> 21 * 30 * 52 tokens.
    assert fourteen_b.latent_shape == (36, 21, 60, 104) and fourteen_b.tokens == 32760

    flops = gpu_bench.count_flops(five_b)
    # The reference: attention is about half the FLOPs, and ~0.65 s at ~800 TFLOP/s.
    assert 0.45 < flops.attention / flops.total < 0.6
    assert 0.6 < flops.total / 800e12 < 0.7
