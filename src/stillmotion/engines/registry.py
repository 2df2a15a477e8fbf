"""Engine name -> engine, imported lazily so that the API never pulls in an engine's dependencies."""

from __future__ import annotations

import importlib

from stillmotion.engines.base import Engine

# name -> "module:factory"; the factory takes no arguments and returns a ready engine.
_ENGINES: dict[str, str] = {
    "live2d": "stillmotion.engines.live2d:Live2DEngine",
}


def load_engine(name: str) -> Engine:
    try:
        target = _ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; known: {', '.join(sorted(_ENGINES))}") from None
    module_name, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    engine: Engine = factory()
    return engine
