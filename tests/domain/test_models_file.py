"""The models file: what a good one declares, and a clear one-line error for each way a file can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from stillmotion.config import Settings
from stillmotion.domain import InvalidInput, ModelRegistry, ModelsFileError, ModelSpec, load_models_file
from stillmotion.domain.models import MODEL_ENGINES, models_file_path, weights_are_local

GOOD = """
[models."wan2.2-ti2v-5b"]
engine = "diffusion"
weights = "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
revision = "main"
[models."wan2.2-ti2v-5b".options]
width = 1280
num_inference_steps = 50
guidance_scale = 5.0

[models.tiny-local]
engine = "diffusion"
weights = "./weights/tiny"

[models.tiny-bare]
engine = "diffusion"
weights = "bare"

[models.home]
engine = "diffusion"
weights = "~/models/wan"

[models.gentle]
engine = "live2d"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "models.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _good_file(tmp_path: Path) -> Path:
    path = _write(tmp_path, GOOD)
    (path.parent / "bare").mkdir()  # a bare name that is a directory next to the file counts as local
    return path


def test_a_good_file_is_read_with_its_options_and_weights_resolved(tmp_path: Path) -> None:
    path = _good_file(tmp_path)
    specs = load_models_file(path)
    assert list(specs) == ["wan2.2-ti2v-5b", "tiny-local", "tiny-bare", "home", "gentle"]

    hub = specs["wan2.2-ti2v-5b"]
    assert hub == ModelSpec(
        id="wan2.2-ti2v-5b",
        engine="diffusion",
        weights="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
        revision="main",
        options={"width": 1280, "num_inference_steps": 50, "guidance_scale": 5.0},
    )
    assert not weights_are_local(hub)
    # Relative paths resolve against the file's directory, not the working directory.
    assert specs["tiny-local"].weights == str((path.parent / "weights" / "tiny").resolve())
    assert specs["tiny-bare"].weights == str((path.parent / "bare").resolve())
    assert specs["home"].weights == str((Path.home() / "models" / "wan").resolve())
    assert all(weights_are_local(specs[i]) for i in ("tiny-local", "tiny-bare", "home"))
    assert specs["gentle"] == ModelSpec(id="gentle", engine="live2d")


def test_the_registry_adds_the_files_ids_after_the_built_in_ones(tmp_path: Path) -> None:
    registry = ModelRegistry.from_file(_good_file(tmp_path))
    assert registry.ids()[: len(MODEL_ENGINES)] == list(MODEL_ENGINES)
    assert registry.ids()[len(MODEL_ENGINES) :] == ["wan2.2-ti2v-5b", "tiny-local", "tiny-bare", "home", "gentle"]
    assert registry.engine("wan2.2-ti2v-5b") == "diffusion"
    assert registry.spec("video-01-live2d") == ModelSpec(id="video-01-live2d", engine="live2d")
    assert "sora-2" in registry and "nope" not in registry

    with pytest.raises(InvalidInput) as refused:
        registry.spec("nope", field="--model")
    assert refused.value.field == "--model"
    assert refused.value.rule.startswith("must be one of: ")
    assert "wan2.2-ti2v-5b" in refused.value.rule and "video-01-live2d" in refused.value.rule
    assert refused.value.rule.endswith("(got 'nope')")


def test_without_a_file_only_the_built_in_ids_exist() -> None:
    registry = ModelRegistry()
    assert registry.ids() == list(MODEL_ENGINES)
    assert registry.source is None
    with pytest.raises(InvalidInput):
        registry.spec("wan2.2-ti2v-5b")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[models.m]\nengine = "vid2vid"\nweights = "a/b"',
         "model 'm': `engine` must be one of: live2d, diffusion (got 'vid2vid')"),
        ("[models.m]\nweights = \"a/b\"", "model 'm': `engine` is required"),
        ('[models.m]\nengine = "diffusion"', "model 'm': `weights` is required for engine 'diffusion'"),
        ('[models.m]\nengine = "diffusion"\nweights = ""', "model 'm': `weights` is required"),
        (f'[models.{"x" * 65}]\nengine = "live2d"', "the id must be at most 64 characters long (got 65)"),
        ('[models."wan 2"]\nengine = "live2d"', "model 'wan 2': the id may use only letters, digits"),
        ('[models."-x"]\nengine = "live2d"', "the id may use only"),
        ('[models."a/b"]\nengine = "live2d"', "the id may use only"),
        ('[models.sora-2]\nengine = "live2d"', "model 'sora-2': the id is built in"),
        ('[models.m]\nengine = 3', "model 'm': `engine` must be a string (got an integer)"),
        ('[models.m]\nengine = "diffusion"\nweights = ["a/b"]', "`weights` must be a string (got an array)"),
        ('[models.m]\nengine = "diffusion"\nweights = "a/b"\nrevision = 1', "`revision` must be a string"),
        ('[models.m]\nengine = "diffusion"\nweights = "a/b"\noptions = 5', "`options` must be a table"),
        ('[models.m]\nengine = "diffusion"\nweight = "a/b"', "model 'm': key 'weight' is unknown; known: engine"),
        ('[model.m]\nengine = "live2d"', "top-level key 'model' is unknown"),
        ('models = 3', "`models` must be a table of models (got an integer)"),
        ('models = ["a"]', "`models` must be a table of models (got an array)"),
        ("models.m = 1", "model 'm': must be a table"),
        ('[models.m]\nengine = "diffusion"\nweights = "not a repo id"', "`weights` must be a local directory"),
        ('[models.m]\nengine = "diffusion"\nweights = "bare"', "like `owner/name` (got 'bare')"),
        ('[models.m]\nengine = "diffusion"\nweights = "a/b/c"', "like `owner/name` (got 'a/b/c')"),
        ('[models.m]\nengine = "diffusion"\nweights = "./w"\nrevision = "main"',
         "`revision` applies only to a Hub repo id"),
        ('[models.m]\nengine = "live2d"\nweights = "a/b"', "`weights` is not used by engine 'live2d'"),
        ("[models.m\nengine =", "is not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_naming_file_model_key_and_rule(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ModelsFileError) as refused:
        load_models_file(path)
    message = str(refused.value)
    assert message.startswith(f"models file {path}: ")
    assert expected in message
    assert "\n" not in message.split(": ", 1)[1].split("(")[0]  # one line before any parser detail


def test_which_file_is_read(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    assert models_file_path(Settings(data_dir=data_dir)) is None
    assert ModelRegistry.from_settings(Settings(data_dir=data_dir)).ids() == list(MODEL_ENGINES)

    (data_dir / "models.toml").write_text('[models.in-data-dir]\nengine = "live2d"\n')
    assert models_file_path(Settings(data_dir=data_dir)) == data_dir / "models.toml"
    assert "in-data-dir" in ModelRegistry.from_settings(Settings(data_dir=data_dir))

    named = _write(tmp_path, '[models.named]\nengine = "live2d"\n')
    chosen = ModelRegistry.from_settings(Settings(data_dir=data_dir, models_file=named))
    assert "named" in chosen and "in-data-dir" not in chosen  # the setting wins over the data dir's file
    assert chosen.source == named


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ModelsFileError, match=f"models file {missing}: does not exist"):
        ModelRegistry.from_settings(Settings(data_dir=tmp_path, models_file=missing))
