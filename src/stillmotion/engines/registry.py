"""Engine name -> engine, imported lazily so that the API never pulls in an engine's dependencies."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from stillmotion.domain.models import ModelSpec
from stillmotion.engines.base import Engine

# engine name -> "module:factory"; the factory takes the model's `ModelSpec` as its only positional argument and
# returns a ready engine.
_ENGINES: dict[str, str] = {
    "live2d": "stillmotion.engines.live2d:live2d_engine",
    "diffusion": "stillmotion.engines.diffusion:DiffusionEngine",
}


def load_engine(spec: ModelSpec, *, factories: Mapping[str, str] | None = None) -> Engine:
    """A ready engine for `spec` (importing its module only now). `factories` adds engine name ->
    "module:factory" entries to the built-in ones (engines outside this package, test doubles)."""
    table = {**_ENGINES, **(factories or {})}
    try:
        target = table[spec.engine]
    except KeyError:
        known = ", ".join(sorted(table))
        raise ValueError(f"unknown engine {spec.engine!r} for model {spec.id!r}; known: {known}") from None
    module_name, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    engine: Engine = factory(spec)
    return engine
