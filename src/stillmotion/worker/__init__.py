"""Workers: claim a job, render it in a child process, store the video, record the outcome."""

from stillmotion.worker.host import EngineCrashed, EngineHost, RenderFailed
from stillmotion.worker.loop import Worker

__all__ = ["EngineCrashed", "EngineHost", "RenderFailed", "Worker"]
