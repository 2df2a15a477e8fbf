"""`EngineHost`: a long-lived child process that runs engines, so a crash or a busy CPU never stalls the API.

Parent and child exchange small messages over a pipe:
    parent -> child  ("render", engine_name, RenderRequest, output_path)
    child -> parent  ("progress", fraction) ... then ("done", RenderResult) or ("error", code, message)
The parent kills the child to cancel; the child exits by itself when its parent dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from stillmotion.engines.base import RenderRequest, RenderResult


class RenderFailed(Exception):
    """The engine refused or failed this job; retrying it would fail the same way."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class EngineCrashed(Exception):
    """The child process died (killed, out of memory, a crash in native code)."""


def _die_with_parent() -> None:
    # Linux: have the kernel send SIGKILL to this child when its parent dies, even on the parent's SIGKILL.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


# Added to the engine process's niceness (0..19; higher yields the CPU to other processes sooner).
_ENGINE_NICENESS = 10


def _child_main(conn: Connection, parent_pid: int) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the parent's to handle
    if os.getppid() != parent_pid:
        return  # the parent died before the death signal was armed
    # Rendering is batch work: on a machine that also serves the API, status polls must not wait behind it.
    with contextlib.suppress(OSError):
        os.nice(_ENGINE_NICENESS)
    from stillmotion.engines import load_engine

    engines: dict[str, Any] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        _, engine_name, request, output_path = message
        try:
            engine = engines.get(engine_name) or load_engine(engine_name)
            engines[engine_name] = engine
            result = engine.render(
                request, Path(output_path), on_progress=lambda f: conn.send(("progress", float(f)))
            )
        except (BrokenPipeError, EOFError):
            return
        except ValueError as exc:
            conn.send(("error", "invalid_input", str(exc)))
        except Exception as exc:
            conn.send(("error", "engine_error", f"{type(exc).__name__}: {exc}"))
        else:
            conn.send(("done", result))


class EngineHost:
    """One child process, started lazily and restarted after a crash. Not thread-safe: one per worker."""

    def __init__(self) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def _ensure_started(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self.close()
        parent_conn, child_conn = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_child_main, args=(child_conn, os.getpid()), name="stillmotion-engine", daemon=True
        )
        process.start()
        child_conn.close()
        self._process, self._conn = process, parent_conn
        return parent_conn

    def render(
        self,
        engine_name: str,
        request: RenderRequest,
        output_path: Path,
        *,
        on_progress: Callable[[float], None],
        tick: Callable[[], bool],
        tick_s: float = 0.5,
    ) -> RenderResult:
        """Render in the child. `tick` runs at least every `tick_s`; when it returns False the render is
        abandoned (the child is killed) and `RenderFailed("cancelled", ...)` is raised."""
        conn = self._ensure_started()
        conn.send(("render", engine_name, request, str(output_path)))
        while True:
            if not tick():
                self.close()
                raise RenderFailed("cancelled", "the render was abandoned")
            message: tuple[Any, ...] | None
            try:
                message = conn.recv() if conn.poll(tick_s) else None
            except (EOFError, OSError):
                message = ("crashed",)
            if message is None:
                process = self._process
                if process is None or process.is_alive():
                    continue
                message = ("crashed",)
            kind, *payload = message
            if kind == "progress":
                on_progress(payload[0])
            elif kind == "done":
                result: RenderResult = payload[0]
                return result
            elif kind == "error":
                raise RenderFailed(payload[0], payload[1])
            else:
                code = self._process.exitcode if self._process is not None else None
                self.close()
                raise EngineCrashed(f"the engine process died (exit code {code})")

    def close(self) -> None:
        """Stop the child now (it holds no state worth saving)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=5)
            self._process = None

    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.is_alive() else None

