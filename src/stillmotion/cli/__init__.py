"""The `stillmotion` command: one module per command (serve, worker, generate, keys, models) on one group.

Each command imports what it runs when it runs: `stillmotion worker` never imports the web framework, and
`stillmotion --help` imports no engine.
"""

from stillmotion.cli import generate, keys, models, serve, worker
from stillmotion.cli._common import main
from stillmotion.cli.serve import freeze_startup_objects

__all__ = ["freeze_startup_objects", "generate", "keys", "main", "models", "serve", "worker"]
