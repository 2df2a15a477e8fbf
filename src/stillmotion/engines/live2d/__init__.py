"""The live2d engine: a still image brought to gentle life by smooth, eased deformation fields."""

from stillmotion.engines.live2d.engine import Live2DEngine

__all__ = ["Live2DEngine"]
