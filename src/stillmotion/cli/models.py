"""`stillmotion models`: the model ids, and their weights."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from stillmotion import runtime
from stillmotion.cli._common import _data_dir_option, _settings, console, main, started
from stillmotion.domain import InvalidInput, ModelSpec
from stillmotion.domain.models import weights_are_local


@main.group()
def models() -> None:
    """List the model ids this server serves, and download a models file's Hub weights."""


_TRUE_WORDS = ("1", "on", "yes", "true")


def _hub_offline() -> bool:
    """`HF_HUB_OFFLINE` as huggingface_hub reads it."""

    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE_WORDS


def _weights_status(spec: ModelSpec) -> str:
    """Whether `spec`'s weights are on this machine: a local directory that exists, or a complete snapshot in
    the Hugging Face cache."""
    if spec.weights is None:
        return "built in"
    if weights_are_local(spec):
        return "present (local directory)" if Path(spec.weights).is_dir() else "missing (no such directory)"
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return "unknown (huggingface_hub is not installed)"
    try:
        snapshot_download(spec.weights, revision=spec.revision, local_files_only=True)
    except LocalEntryNotFoundError:
        return "missing (run `stillmotion models pull`)"
    return "present (Hugging Face cache)"


@models.command("list")
@_data_dir_option
def models_list(data_dir: Path | None) -> None:
    """List model ids: built in, then the models file's, with their engine and weights."""
    settings = _settings(data_dir=data_dir)
    registry = started(lambda: runtime.registry(settings))
    table = Table("id", "engine", "weights", "status", title=f"models file: {registry.source or 'none'}")
    for spec in registry.specs():
        weights = spec.weights or "-"
        if spec.revision is not None:
            weights += f" @ {spec.revision}"
        table.add_row(spec.id, spec.engine, weights, _weights_status(spec))
    Console(width=200).print(table)


@models.command("pull")
@click.argument("model_id")
@_data_dir_option
def models_pull(model_id: str, data_dir: Path | None) -> None:
    """Download MODEL_ID's weights from the Hugging Face Hub into its cache (needs the machine online)."""
    settings = _settings(data_dir=data_dir)
    try:
        spec = started(lambda: runtime.registry(settings)).spec(model_id, field="MODEL_ID")
    except InvalidInput as exc:
        raise click.BadParameter(exc.rule, param_hint="MODEL_ID") from None
    if spec.weights is None:
        console.print(f"{spec.id}: nothing to pull; the {spec.engine} engine is built in")
        return
    if weights_are_local(spec):
        console.print(f"{spec.id}: nothing to pull; its weights are the local directory {spec.weights}")
        return
    if _hub_offline():
        raise click.ClickException(f"cannot pull {spec.weights}: HF_HUB_OFFLINE is set; unset it to download")
    try:
        from huggingface_hub import constants, snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError:
        raise click.ClickException(
            "pulling weights needs huggingface_hub: from the clone, .venv/bin/pip install -e '.[diffusion]'"
        ) from None
    console.print(f"{spec.id}: downloading {spec.weights}" + (f" @ {spec.revision}" if spec.revision else ""))
    try:
        folder = snapshot_download(spec.weights, revision=spec.revision)
    except LocalEntryNotFoundError as exc:  # the Hub did not answer, and the cache has no copy
        cause = exc.__cause__ or exc
        raise click.ClickException(
            f"cannot pull {spec.weights}: the Hub at {constants.ENDPOINT} cannot be reached "
            f"({type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''})"
        ) from None
    except (HfHubHTTPError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise click.ClickException(f"cannot pull {spec.weights}: {first_line}") from None
    console.print(f"{spec.id}: weights in {folder}", highlight=False)
