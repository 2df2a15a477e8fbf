"""The diffusion engine: open image-to-video models (Wan I2V / TI2V, LTX-Video) run through diffusers."""

from stillmotion.engines.diffusion.engine import DiffusionEngine

__all__ = ["DiffusionEngine"]
