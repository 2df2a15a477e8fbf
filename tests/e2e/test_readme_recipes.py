"""The README's curl recipes work when pasted: each create recipe is run by bash as written (only the server's
address and the key changed), from the repository root, against a running server, with a photo well over the
128 KiB a single command-line argument may hold on Linux."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import TEST_KEY, Server

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def create_recipes() -> list[str]:
    """The sh blocks that build a body file and post it: their lines up to the end of that first curl command."""
    recipes = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL):
        if "--data-binary @body.json" not in block:
            continue
        lines = block.splitlines()
        end = next(i for i, line in enumerate(lines) if "--data-binary @body.json" in line)
        recipes.append("\n".join(lines[: end + 1]))
    return recipes


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("readme") / "data", workers=0)
    yield running
    running.stop()


def test_there_are_recipes_and_none_puts_an_image_on_the_command_line() -> None:
    text = README.read_text()
    assert len(create_recipes()) >= 2
    assert "base64 -w0" not in text  # GNU only: macOS's base64 has no -w
    assert "$IMG" not in text  # a photo's base64 as an argument: "Argument list too long"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("index", [0, 1])
def test_a_create_recipe_pasted_into_bash_creates_a_job(server: Server, tmp_path: Path, index: int) -> None:
    recipe = create_recipes()[index]
    big = tmp_path / "grace_hopper.jpg"  # the fixture, padded well past what one argument may hold
    original = (ROOT / "tests/fixtures/grace_hopper.jpg").read_bytes()
    big.write_bytes(original + b"\0" * (400 * 1024))
    script = (
        recipe.replace("http://127.0.0.1:8000", server.base)
        .replace("$(cat data/dev-key)", TEST_KEY)
        .replace("tests/fixtures/grace_hopper.jpg", str(big))
    )
    work = tmp_path / "cwd"
    work.mkdir()
    done = subprocess.run(["bash", "-c", script], cwd=work, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer.get("generation_id") or answer.get("task_id"), answer
    assert json.loads((work / "body.json").read_text())["first_frame_image"]
