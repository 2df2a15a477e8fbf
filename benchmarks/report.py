"""Writing one benchmark's section of BENCHMARKS.md without touching the others' sections."""

from __future__ import annotations

import platform
import re
from pathlib import Path


def write_section(path: Path, section: str, *, start: str, end: str) -> None:
    """Replace the part of `path` between the `start` and `end` markers with `section` (which carries the
    markers itself), or append it; everything else in the file is kept."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def cpu_model() -> str:
    """The processor's name, for the machine line of a benchmark section."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
