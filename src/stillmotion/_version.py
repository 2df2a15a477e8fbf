"""The package's version, on its own: what imports it imports nothing else."""

__version__ = "0.1.0"
