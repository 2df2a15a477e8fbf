"""The README's settings table and the `Settings` model must not drift apart."""

from __future__ import annotations

import re
from pathlib import Path

from stillmotion.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented_and_nothing_else() -> None:
    documented = set(re.findall(r"^\| `STILLMOTION_([A-Z0-9_]+)` \|", README.read_text(), flags=re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_the_first_screen_has_exactly_the_two_setup_commands() -> None:
    first_block = README.read_text().split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make run", "make test"]
