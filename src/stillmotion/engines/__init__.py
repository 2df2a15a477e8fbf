"""Engines turn a first frame and a prompt into an mp4. Heavy imports stay inside each engine's module."""

from stillmotion.engines.base import Cancelled, Engine, EngineError, ProgressCallback, RenderRequest, RenderResult
from stillmotion.engines.registry import load_engine

__all__ = ["Cancelled", "Engine", "EngineError", "ProgressCallback", "RenderRequest", "RenderResult", "load_engine"]
