"""What every command shares: the `stillmotion` group, the settings read from the environment and options, the
`--data-dir` option, the console, and one way to say why the process cannot start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from stillmotion._version import __version__
from stillmotion.config import Settings
from stillmotion.runtime import SettingsMisuse, StartupError

T = TypeVar("T")

console = Console(stderr=True, soft_wrap=True)


def _settings(**overrides: Any) -> Settings:
    """Environment first, then the options actually given on the command line. A value that breaks a setting's
    rule is one error line naming its variable, not a traceback."""
    from pydantic import ValidationError

    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        given = overrides.get(name) is not None  # on the command line, else from the environment
        shown = f"--{name.replace('_', '-')}" if given else f"STILLMOTION_{name.upper()}"
        # A secret's value is not echoed to the terminal or the log.
        field = Settings.model_fields.get(name)
        secret = field is not None and "SecretStr" in str(field.annotation)
        got = "a secret, not shown" if secret else repr(error.get("input"))
        raise click.ClickException(f"{shown}: {error['msg']} (got {got})") from None


def _data_dir_option(func: Any) -> Any:
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Database, media and secrets (default: $STILLMOTION_DATA_DIR or ./data).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stillmotion")
def main() -> None:
    """stillmotion: one still image and a prompt in, a short video out, behind hosted-API wire formats."""


def started(build: Callable[[], T]) -> T:
    """`build()`; a reason the process cannot start (`runtime.StartupError`) is one error line and exit status 1,
    a name the server does not know (`runtime.SettingsMisuse`) a usage error, exit status 2."""
    try:
        return build()
    except SettingsMisuse as exc:
        raise click.UsageError(str(exc)) from None
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
