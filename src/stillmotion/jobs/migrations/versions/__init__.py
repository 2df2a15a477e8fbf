"""Alembic revisions, oldest first. Each describes a schema change and never imports `schema.py`."""
