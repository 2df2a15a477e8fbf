"""The live2d engine: a still image brought to gentle life by smooth, eased deformation fields."""

from stillmotion.domain.models import ModelSpec
from stillmotion.engines.live2d.engine import Live2DEngine


def live2d_engine(spec: ModelSpec) -> Live2DEngine:
    """The registry's factory: every live2d model id runs the same engine, which has no per-model settings."""
    return Live2DEngine()


__all__ = ["Live2DEngine", "live2d_engine"]
