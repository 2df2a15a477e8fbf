from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from report import write_section

START, END = "<!-- a:start -->", "<!-- a:end -->"


def test_a_section_is_replaced_in_place_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(f"# Benchmarks\n\nintro\n\n{START}\nold\n{END}\n\n<!-- b:start -->\nother\n<!-- b:end -->\n")
    write_section(path, f"{START}\nnew\n{END}\n", start=START, end=END)
    assert path.read_text() == (
        f"# Benchmarks\n\nintro\n\n{START}\nnew\n{END}\n\n<!-- b:start -->\nother\n<!-- b:end -->\n"
    )


def test_a_missing_section_is_appended_and_a_missing_file_created(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    write_section(path, f"{START}\nfirst\n{END}\n", start=START, end=END)
    assert path.read_text() == f"# Benchmarks\n\n{START}\nfirst\n{END}\n"
