"""`EngineHost`: a long-lived child process that runs engines, so a crash or a busy CPU never stalls the API.

Parent and child exchange small messages over a pipe:
    parent -> child  ("render", ModelSpec, RenderRequest, output_path)
    child -> parent  ("progress", fraction) ... then exactly one of ("done", RenderResult),
                     ("error", code, message) or ("cancelled",)
    parent -> child  ("cancel",) while a render runs: the child stops at its next progress report and answers
                     ("cancelled",); a cancel that arrives after the render answered is ignored.
The child keeps its engines (a diffusion pipeline takes minutes to load) from one render to the next, so a
cancel does not kill it unless it stays silent past `cancel_grace_s`. It exits by itself when its parent dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from stillmotion.domain.models import ModelSpec
from stillmotion.engines.base import Cancelled, Engine, EngineError, RenderRequest, RenderResult


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


# Engines whose loaded models hold GPU memory: the child keeps one model of each at a time, so a worker that
# serves two large models in turn swaps them rather than running out of memory holding both.
ONE_MODEL_AT_A_TIME: frozenset[str] = frozenset({"diffusion"})


class _Engines:
    """The child's engines, one per model id, each loaded on its first job and kept; of an engine in
    `one_at_a_time`, only the model used last stays loaded."""

    def __init__(self, factories: Mapping[str, str], one_at_a_time: frozenset[str]) -> None:
        self._factories = factories
        self._one_at_a_time = one_at_a_time
        self._loaded: dict[str, tuple[ModelSpec, Engine]] = {}

    def get(self, spec: ModelSpec) -> Engine:
        found = self._loaded.get(spec.id)
        if found is not None and found[0] == spec:
            return found[1]
        from stillmotion.engines.registry import load_engine

        # A changed spec, or another model of a one-at-a-time engine: let those go before loading this one.
        leaving = [
            model_id
            for model_id, (loaded, _engine) in self._loaded.items()
            if model_id == spec.id or (spec.engine in self._one_at_a_time and loaded.engine == spec.engine)
        ]
        if leaving:
            for model_id in leaving:
                del self._loaded[model_id]
            _release_memory()
        engine = load_engine(spec, factories=self._factories)
        self._loaded[spec.id] = (spec, engine)
        return engine


def _release_memory() -> None:
    """Return the memory of engines just dropped: Python's cycles first, then torch's cached GPU blocks (only if
    an engine imported torch; this module never does)."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _child_main(
    conn: Connection, parent_pid: int, factories: Mapping[str, str], one_at_a_time: frozenset[str]
) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the parent's to handle
    if os.getppid() != parent_pid:
        return  # the parent died before the death signal was armed
    # Rendering is batch work: on a machine that also serves the API, status polls must not wait behind it.
    with contextlib.suppress(OSError):
        os.nice(_ENGINE_NICENESS)
    engines = _Engines(factories, one_at_a_time)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        if message[0] == "cancel":
            continue  # the render it was meant for has already answered
        _, spec, request, output_path = message
        stopping = False

        def on_progress(fraction: float) -> None:
            nonlocal stopping
            conn.send(("progress", float(fraction)))
            if conn.poll(0):  # the parent only ever speaks during a render to stop it
                stopping = conn.recv()[0] == "stop"
                raise Cancelled

        reply: tuple[Any, ...]
        try:
            engine = engines.get(spec)
            result = engine.render(request, Path(output_path), on_progress=on_progress)
        except Cancelled:
            reply = ("cancelled",)
        except (BrokenPipeError, EOFError):
            return
        except EngineError as exc:
            reply = ("error", exc.code, str(exc))
        except ImportError as exc:  # an engine whose optional dependencies are not installed
            hint = " (pip install 'stillmotion[diffusion]')" if spec.engine == "diffusion" else ""
            reply = ("error", "engine_unavailable", f"the {spec.engine} engine cannot be loaded: {exc}{hint}")
        except ValueError as exc:
            reply = ("error", "invalid_input", str(exc))
        except Exception as exc:
            reply = ("error", "engine_error", f"{type(exc).__name__}: {exc}")
        else:
            reply = ("done", result)
        if stopping:
            return
        try:
            conn.send(reply)
        except OSError:
            return


class EngineHost:
    """One child process, started lazily and restarted after a crash. Not thread-safe: one per worker.

    `cancel_grace_s`: how long a cancelled render may take to reach its next progress report (one diffusion step
    of a large model can take seconds) before the child, and the engines it holds, are killed.
    `engine_factories`: extra engine name -> "module:factory" entries, for engines outside this package.
    `one_at_a_time`: engines of which the child keeps only the model used last.
    """

    def __init__(
        self,
        *,
        cancel_grace_s: float = 30.0,
        engine_factories: Mapping[str, str] | None = None,
        one_at_a_time: frozenset[str] = ONE_MODEL_AT_A_TIME,
    ) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.cancel_grace_s = cancel_grace_s
        self._factories = dict(engine_factories or {})
        self._one_at_a_time = one_at_a_time

    def _ensure_started(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self.close()
        parent_conn, child_conn = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_child_main,
            args=(child_conn, os.getpid(), self._factories, self._one_at_a_time),
            name="stillmotion-engine",
            daemon=True,
        )
        process.start()
        child_conn.close()
        self._process, self._conn = process, parent_conn
        return parent_conn

    def render(
        self,
        spec: ModelSpec,
        request: RenderRequest,
        output_path: Path,
        *,
        on_progress: Callable[[float], None],
        tick: Callable[[], bool],
        tick_s: float = 0.5,
    ) -> RenderResult:
        """Render `spec`'s model in the child. `tick` runs at least every `tick_s`; when it returns False the
        render is cancelled (see `cancel_grace_s`) and `RenderFailed("cancelled", ...)` is raised."""
        conn = self._ensure_started()
        conn.send(("render", spec, request, str(output_path)))
        while True:
            if not tick():
                self._cancel(conn)
                raise RenderFailed("cancelled", "the render was abandoned")
            message = self._receive(conn, tick_s)
            if message is None:
                continue
            kind, *payload = message
            if kind == "progress":
                on_progress(payload[0])
            elif kind == "done":
                result: RenderResult = payload[0]
                return result
            elif kind == "error":
                raise RenderFailed(payload[0], payload[1])
            elif kind == "cancelled":  # not asked for (an engine that raised `Cancelled` itself)
                raise RenderFailed("engine_error", "the engine stopped the render unasked")
            else:
                code = self._process.exitcode if self._process is not None else None
                self.close()
                raise EngineCrashed(f"the engine process died (exit code {code})")

    def _receive(self, conn: Connection, timeout_s: float) -> tuple[Any, ...] | None:
        """The child's next message, None if there was none within `timeout_s`, ("crashed",) if it is gone."""
        try:
            message: tuple[Any, ...] | None = conn.recv() if conn.poll(timeout_s) else None
        except (EOFError, OSError):
            return ("crashed",)
        if message is None and (self._process is None or not self._process.is_alive()):
            return ("crashed",)
        return message

    def _cancel(self, conn: Connection) -> None:
        """Stop the render between steps and keep the child; kill it if it does not answer within the grace."""
        try:
            conn.send(("cancel",))
        except OSError:
            self.close()
            return
        deadline = time.monotonic() + self.cancel_grace_s
        while (left_s := deadline - time.monotonic()) > 0:
            message = self._receive(conn, min(left_s, 0.5))
            if message is None or message[0] == "progress":
                continue
            if message[0] in ("cancelled", "done", "error"):
                return  # the child is idle again, its engines still loaded
            break  # crashed
        self.close()

    def close(self) -> None:
        """Stop the child now (its engines are reloaded by the next one on demand)."""
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
