"""`EngineHost`: a long-lived child process that runs engines, so a crash or a busy CPU never stalls the API.

Parent and child exchange the typed messages of `worker.messages` over a pipe, each naming the render it is
about. The child keeps its engines (a diffusion pipeline takes minutes to load) from one render to the next, so
a cancel does not kill it unless it stays silent past `cancel_grace_s`; a render that stops reporting progress
for `stall_s` does get it killed. The child ignores SIGINT and SIGTERM (its parent decides what a stop signal
means for the job) and exits by itself when its parent dies. What engines log is written by the parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import itertools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from stillmotion.domain.models import ModelSpec
from stillmotion.engines.base import Cancelled, Engine, EngineError, RenderRequest, RenderResult
from stillmotion.worker.messages import (
    Cancel,
    Done,
    Failed,
    FromChild,
    Log,
    Outcome,
    Progress,
    Render,
    RenderId,
    Started,
    Stop,
    Stopped,
    ToChild,
)


class RenderFailed(Exception):
    """The engine refused or failed this job; retrying it would fail the same way."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class EngineCrashed(Exception):
    """The child process died (killed, out of memory, a crash in native code)."""


class EngineStalled(EngineCrashed):
    """The render stopped reporting progress (a hung engine, a stopped process); its child was killed."""


# The code of a render that found the disk full: the job waits and is tried again, it is not failed.
NO_SPACE = "no_space"


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


class _Sender:
    """The child's end of the pipe, shared by the render loop and log records from an engine's threads."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: FromChild) -> None:
        with self._lock:
            self.conn.send(message)


class _ForwardLogs(logging.Handler):
    """Sends the records an engine logs during a render to the parent, which writes them with its own logging
    (and so with the job's ids and the parent's format, JSON included)."""

    def __init__(self, sender: _Sender) -> None:
        super().__init__()
        self.sender = sender
        self.render: RenderId | None = None

    def emit(self, record: logging.LogRecord) -> None:
        render = self.render
        if render is None:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            self.sender.send(Log(render, record.name, record.levelno, message, record.created))
        except Exception:  # a record that cannot be sent must not break the render
            self.handleError(record)


def _outcome(render: RenderId, spec: ModelSpec, exc: Exception) -> Failed:
    if isinstance(exc, EngineError):
        return Failed(render, exc.code, str(exc))
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return Failed(render, NO_SPACE, f"no space left on the device: {exc}")
    if isinstance(exc, ImportError):  # an engine whose optional dependencies are not installed
        hint = " (from the clone: .venv/bin/pip install -e '.[diffusion]')" if spec.engine == "diffusion" else ""
        return Failed(render, "engine_unavailable", f"the {spec.engine} engine cannot be loaded: {exc}{hint}")
    if isinstance(exc, ValueError):
        return Failed(render, "invalid_input", str(exc))
    return Failed(render, "engine_error", f"{type(exc).__name__}: {exc}")


def _child_main(
    conn: Connection,
    parent_pid: int,
    factories: Mapping[str, str],
    one_at_a_time: frozenset[str],
    log_level: int,
) -> None:
    _die_with_parent()
    # A stop signal sent to the whole process group (Ctrl-C in a terminal, systemd stopping the service's control
    # group, `kill -TERM -- -PGID`) is the parent's to act on: it hands the job back, then stops this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.getppid() != parent_pid:
        return  # the parent died before the death signal was armed
    # Rendering is batch work: on a machine that also serves the API, status polls must not wait behind it.
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice (Windows)
        os.nice(_ENGINE_NICENESS)
    sender = _Sender(conn)
    forward = _ForwardLogs(sender)
    root = logging.getLogger()
    root.handlers[:] = [forward]
    root.setLevel(log_level)
    engines = _Engines(factories, one_at_a_time)
    while True:
        try:
            message: ToChild = conn.recv()
        except (EOFError, OSError):
            return
        if isinstance(message, Stop):
            return
        if isinstance(message, Cancel):
            continue  # the render it was meant for has already answered
        render = message.render
        stopping = False

        def on_progress(fraction: float, render: RenderId = render) -> None:
            nonlocal stopping
            sender.send(Progress(render, float(fraction)))
            if conn.poll(0):  # the parent only ever speaks during a render to stop it
                stopping = isinstance(conn.recv(), Stop)
                raise Cancelled

        forward.render = render
        reply: Outcome
        try:
            engine = engines.get(message.spec)
            sender.send(Started(render))
            result = engine.render(message.request, Path(message.output_path), on_progress=on_progress)
        except Cancelled:
            reply = Stopped(render)
        except (BrokenPipeError, EOFError):
            return
        except Exception as exc:
            reply = _outcome(render, message.spec, exc)
        else:
            reply = Done(render, result)
        finally:
            forward.render = None
        if stopping:
            return
        try:
            sender.send(reply)
        except OSError:
            return


class EngineHost:
    """One child process, started lazily and restarted after a crash. Not thread-safe: one per worker.

    `cancel_grace_s`: how long a cancelled render may take to reach its next progress report (one diffusion step
    of a large model can take seconds) before the child, and the engines it holds, are killed.
    `stall_s`: how long a render may go without reporting progress, counted from the moment its engine is loaded
    (a cold model may take minutes to load), before the child is killed and `EngineStalled` raised; 0: never.
    `engine_factories`: extra engine name -> "module:factory" entries, for engines outside this package.
    `one_at_a_time`: engines of which the child keeps only the model used last.
    """

    def __init__(
        self,
        *,
        cancel_grace_s: float = 30.0,
        stall_s: float = 120.0,
        engine_factories: Mapping[str, str] | None = None,
        one_at_a_time: frozenset[str] = ONE_MODEL_AT_A_TIME,
    ) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.cancel_grace_s = cancel_grace_s
        self.stall_s = stall_s
        self._factories = dict(engine_factories or {})
        self._one_at_a_time = one_at_a_time
        self._renders = itertools.count(1)

    def _ensure_started(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self.close()
        parent_conn, child_conn = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_child_main,
            args=(
                child_conn,
                os.getpid(),
                self._factories,
                self._one_at_a_time,
                logging.getLogger().getEffectiveLevel(),
            ),
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
        job_id: str | None = None,
        attempt: int = 0,
    ) -> RenderResult:
        """Render `spec`'s model in the child. `tick` runs at least every `tick_s`; when it returns False the
        render is cancelled (see `cancel_grace_s`) and `RenderFailed("cancelled", ...)` is raised. If `tick` or
        `on_progress` raise, the render is stopped the same way before the exception goes on: the child never
        renders for a job nobody follows. `job_id` and `attempt` name the render in messages and logs."""
        render = RenderId(job_id if job_id is not None else f"render-{next(self._renders)}", attempt)
        conn = self._ensure_started()
        conn.send(Render(render, spec, request, str(output_path)))
        try:
            return self._follow(conn, render, on_progress, tick, tick_s)
        except (RenderFailed, EngineCrashed):
            raise
        except Exception:
            self._cancel(conn, render)
            raise
        except BaseException:  # KeyboardInterrupt, SystemExit: no time for a grace
            self.close()
            raise

    def _follow(
        self,
        conn: Connection,
        render: RenderId,
        on_progress: Callable[[float], None],
        tick: Callable[[], bool],
        tick_s: float,
    ) -> RenderResult:
        last_sign: float | None = None  # when the engine last showed it was working; None while it loads
        while True:
            if not tick():
                self._cancel(conn, render)
                raise RenderFailed("cancelled", "the render was abandoned")
            message = self._receive(conn, tick_s)
            if isinstance(message, _Crashed):
                code = self._process.exitcode if self._process is not None else None
                self.close()
                raise EngineCrashed(f"the engine process died (exit code {code})")
            if message is None or message.render != render:  # nothing yet, or a render no longer followed
                if last_sign is not None and 0 < self.stall_s < time.monotonic() - last_sign:
                    self.close()
                    raise EngineStalled(f"the engine reported no progress for {self.stall_s:g} s and was stopped")
                continue
            if isinstance(message, Log):
                _write_log(message)
            elif isinstance(message, Started):
                last_sign = time.monotonic()
            elif isinstance(message, Progress):
                last_sign = time.monotonic()
                on_progress(message.fraction)
            elif isinstance(message, Done):
                return message.result
            elif isinstance(message, Failed):
                raise RenderFailed(message.code, message.message)
            else:  # Stopped, not asked for (an engine that raised `Cancelled` itself)
                raise RenderFailed("engine_error", "the engine stopped the render unasked")

    def _receive(self, conn: Connection, timeout_s: float) -> FromChild | _Crashed | None:
        """The child's next message, None if there was none within `timeout_s`, `_CRASHED` if it is gone."""
        try:
            message: FromChild | None = conn.recv() if conn.poll(timeout_s) else None
        except (EOFError, OSError):
            return _CRASHED
        if message is None and (self._process is None or not self._process.is_alive()):
            return _CRASHED
        return message

    def _cancel(self, conn: Connection, render: RenderId) -> None:
        """Stop the render between steps and keep the child; kill it if it does not answer within the grace."""
        try:
            conn.send(Cancel(render))
        except OSError:
            self.close()
            return
        deadline = time.monotonic() + self.cancel_grace_s
        while (left_s := deadline - time.monotonic()) > 0:
            message = self._receive(conn, min(left_s, 0.5))
            if isinstance(message, _Crashed):
                break
            if isinstance(message, Done | Failed | Stopped) and message.render == render:
                return  # the child is idle again, its engines still loaded
            if isinstance(message, Log) and message.render == render:
                _write_log(message)
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


class _Crashed:
    """What `_receive` answers for a child that is gone."""


_CRASHED = _Crashed()


def _write_log(message: Log) -> None:
    """Write an engine's log record through this process's logging, as if it had been made here (the worker's
    log context adds the job's ids)."""
    logger = logging.getLogger(message.logger)
    if logger.isEnabledFor(message.level):
        record = logger.makeRecord(
            message.logger, message.level, "(engine)", 0, message.message, (), None,
            extra={"job_id": message.render.job_id},
        )
        record.created = message.created
        logger.handle(record)
