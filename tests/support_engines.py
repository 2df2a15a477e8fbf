"""Test double engines for the engine host. The host's child process imports this module by name (`tests/` is on
the path it inherits), through `EngineHost(engine_factories={"fake": "support_engines:FakeEngine"})`."""

from __future__ import annotations

import errno
import logging
import os
import time
from pathlib import Path

from stillmotion.domain import ModelSpec
from stillmotion.engines.base import Cancelled, EngineError, ProgressCallback, RenderRequest, RenderResult

FACTORIES = {"fake": "support_engines:FakeEngine"}
_loads = 0  # engines made in this process: a cached engine is made once per model id


class FakeEngine:
    """Reports progress `steps` times, `step_s` apart, like a diffusion loop. Options, from the model's spec or
    the request: `steps`, `step_s`, `ignore_cancel` (swallows `Cancelled`, as a misbehaving engine would), `fail`
    (an `EngineError` code), `load_s` (the model's load time, from the spec), `log` (a warning per step),
    `no_space` (the disk fills up: ENOSPC)."""

    name = "fake"

    def __init__(self, spec: ModelSpec) -> None:
        global _loads
        _loads += 1
        self.spec = spec
        time.sleep(float(spec.options.get("load_s", 0.0)))

    def render(self, request: RenderRequest, output_path: Path, *, on_progress: ProgressCallback) -> RenderResult:
        options = {**self.spec.options, **request.options}
        if "fail" in options:
            raise EngineError(str(options["fail"]), "CUDA ran out of memory: 20.00 GiB asked, 3.10 GiB free")
        if options.get("no_space"):
            raise OSError(errno.ENOSPC, "No space left on device", str(output_path))
        steps = int(options.get("steps", 3))
        for step in range(steps):
            time.sleep(float(options.get("step_s", 0.0)))
            if options.get("log"):
                logging.getLogger("support_engines").warning("step %d of %d", step + 1, steps)
            try:
                on_progress((step + 1) / steps)
            except Cancelled:
                if not options.get("ignore_cancel"):
                    raise
        output_path.write_bytes(b"not really an mp4")
        return RenderResult(width=16, height=16, fps=1, frame_count=steps, extra={"pid": os.getpid(), "loads": _loads})
