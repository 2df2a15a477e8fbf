"""The engine interface: one still image and a prompt in, one H.264 mp4 file out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

# Called with the fraction done, 0.0 .. 1.0. It may raise `Cancelled` to stop the render between frames.
ProgressCallback = Callable[[float], None]


class Cancelled(Exception):
    """Raised from a progress callback to stop a render."""


class EngineError(Exception):
    """A render failed for a reason worth telling the user; `code` is stored as the job's failure code
    (e.g. "out_of_memory"). Retrying the same job on the same machine would fail the same way."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class RenderRequest:
    image: bytes  # the first frame, JPEG or PNG bytes, already validated
    prompt: str
    prompt_optimizer: bool = True
    duration_s: float = 6.0
    fps: int = 25
    seed: int | None = None
    loop: bool = False  # the last frame returns to the first, for seamless repetition
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderResult:
    width: int
    height: int
    fps: int
    frame_count: int
    extra: dict[str, Any] = field(default_factory=dict)  # engine-specific facts worth reporting

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps


class Engine(Protocol):
    name: str

    def render(
        self, request: RenderRequest, output_path: Path, *, on_progress: ProgressCallback
    ) -> RenderResult:
        """Write an mp4 to `output_path` (which does not exist yet) and describe it."""
        ...
