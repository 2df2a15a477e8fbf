"""`stillmotion keys`: create, list and revoke API keys."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from stillmotion.cli._common import _data_dir_option, _settings, console, main
from stillmotion.core import open_store
from stillmotion.jobs import JobStore


@main.group()
def keys() -> None:
    """Create, list and revoke API keys (stored hashed in the database)."""


def _store(data_dir: Path | None) -> JobStore:
    return open_store(_settings(data_dir=data_dir))


@keys.command("create")
@click.option("--name", default="default", show_default=True, help="A label to recognise the key by.")
@_data_dir_option
def keys_create(name: str, data_dir: Path | None) -> None:
    """Create a key and print it (it is shown only this once)."""
    key, record = _store(data_dir).create_key(name)
    console.print(f"created {record.id} ({record.name}); the key, shown only now:")
    click.echo(key)


@keys.command("list")
@_data_dir_option
def keys_list(data_dir: Path | None) -> None:
    """List keys (their ids, names and first characters; never the keys)."""
    table = Table("id", "name", "starts with", "status")
    for record in _store(data_dir).list_keys():
        table.add_row(record.id, record.name, record.prefix + "...", "active" if record.active else "revoked")
    Console().print(table)


@keys.command("revoke")
@click.argument("key_id")
@_data_dir_option
def keys_revoke(key_id: str, data_dir: Path | None) -> None:
    """Revoke the key with id KEY_ID; requests with it get 401 within a few seconds."""
    if not _store(data_dir).revoke_key(key_id):
        console.print(f"[red]no active key with id {key_id!r}[/]")
        sys.exit(1)
    console.print(f"revoked {key_id}")
