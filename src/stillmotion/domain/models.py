"""Model ids and the engine each one runs: the built-in live2d ids plus those of an optional models file (TOML).

A models file maps ids to an engine and its weights:

    [models."wan2.2-ti2v-5b"]
    engine = "diffusion"
    weights = "Wan-AI/Wan2.2-TI2V-5B-Diffusers"   # a Hub repo id, or a local directory in diffusers format
    [models."wan2.2-ti2v-5b".options]            # engine-specific settings
    num_inference_steps = 50

Pure data: reading a models file never imports an engine (the API must not pull in torch).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stillmotion.domain.errors import InvalidInput

if TYPE_CHECKING:
    from stillmotion.config import Settings


@dataclass(frozen=True)
class ModelSpec:
    """One model id as the models file (or the built-in table) declares it. Pure data: no engine imports."""

    id: str
    engine: str  # "live2d" | "diffusion"
    # Where the weights are: a local directory in diffusers format, or a Hub repo id (`models pull` fetches it).
    weights: str | None = None
    revision: str | None = None  # a Hub revision (branch, tag or commit) when `weights` is a repo id
    # Engine-specific settings from the models file, e.g. for diffusion: pipeline, width, height, num_frames,
    # fps, num_inference_steps, guidance_scale, dtype, compile. Plain TOML values only.
    options: dict[str, Any] = field(default_factory=dict)

# `video-01-live2d` is the seed API's name; `I2V-01-live` is MiniMax's name for the same model.
MODEL_ENGINES: dict[str, str] = {
    "video-01-live2d": "live2d",
    "I2V-01-live": "live2d",
    # OpenAI's Videos API names (its default is `sora-2`), accepted so that unmodified OpenAI clients work;
    # both run our live2d engine.
    "sora-2": "live2d",
    "sora-2-pro": "live2d",
}

# The engines a models file may name. Engines that need weights refuse a model without them.
KNOWN_ENGINES: dict[str, bool] = {"live2d": False, "diffusion": True}  # name -> needs `weights`
MAX_MODEL_ID = 64  # the width of `jobs.model`
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HUB_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
_LOCAL_PREFIXES = ("/", "./", "../", "~")
_MODEL_KEYS = ("engine", "weights", "revision", "options")


def engine_for_model(model_id: str, *, field: str = "model") -> str:
    """The engine name for a built-in `model_id`, or `InvalidInput` naming the allowed ids. Models from a
    models file are known only to a `ModelRegistry`."""
    return ModelRegistry().engine(model_id, field=field)


def weights_are_local(spec: ModelSpec) -> bool:
    """True when `spec.weights` is a local directory (models files resolve those to absolute paths), False for
    a Hub repo id or no weights."""
    return spec.weights is not None and spec.weights.startswith("/")


class ModelsFileError(Exception):
    """A models file that cannot be used; the message names the file, the model id, the key and the rule."""


def _fail(path: Path, where: str, rule: str) -> ModelsFileError:
    return ModelsFileError(f"models file {path}: {where} {rule}")


def _type_name(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def _resolve_weights(value: str, *, base: Path, path: Path, where: str) -> str:
    """An absolute directory for a local path (relative ones against the file's directory), else a checked Hub
    repo id. A bare relative name counts as local only if that directory exists."""
    if value.startswith(_LOCAL_PREFIXES):
        local = Path(value).expanduser()
        return str((base / local).resolve() if not local.is_absolute() else local.resolve())
    if (base / value).is_dir():
        return str((base / value).resolve())
    if not _HUB_REPO_ID.fullmatch(value):
        raise _fail(
            path, where, f"must be a local directory (start it with `./`, `../`, `/` or `~`) or a Hub repo id "
            f"like `owner/name` (got {value!r})"
        )
    return value


def _parse_model(model_id: str, table: Any, *, path: Path) -> ModelSpec:
    where = f"model {model_id!r}:"
    if len(model_id) > MAX_MODEL_ID:
        raise _fail(path, where, f"the id must be at most {MAX_MODEL_ID} characters long (got {len(model_id)})")
    if not _MODEL_ID.fullmatch(model_id):
        raise _fail(path, where, "the id may use only letters, digits, `.`, `_` and `-`, starting with a letter "
                    "or digit")
    if model_id in MODEL_ENGINES:
        raise _fail(path, where, "the id is built in (live2d) and cannot be redefined; pick another id")
    if not isinstance(table, dict):
        raise _fail(path, where, f"must be a table with `engine` and `weights` (got {_type_name(table)})")
    for key in table:
        if key not in _MODEL_KEYS:
            raise _fail(path, f"{where} key {key!r}", f"is unknown; known: {', '.join(_MODEL_KEYS)}")
    for key in ("engine", "weights", "revision"):
        if key in table and not isinstance(table[key], str):
            raise _fail(path, f"{where} `{key}`", f"must be a string (got {_type_name(table[key])})")
    engine = table.get("engine")
    if engine is None:
        raise _fail(path, f"{where} `engine`", f"is required; one of: {', '.join(KNOWN_ENGINES)}")
    if engine not in KNOWN_ENGINES:
        raise _fail(path, f"{where} `engine`", f"must be one of: {', '.join(KNOWN_ENGINES)} (got {engine!r})")
    weights: str | None = table.get("weights")
    revision: str | None = table.get("revision")
    if KNOWN_ENGINES[engine]:
        if not weights:
            raise _fail(path, f"{where} `weights`", f"is required for engine {engine!r}: a local directory in "
                        "diffusers format or a Hub repo id like `owner/name`")
        weights = _resolve_weights(weights, base=path.parent, path=path, where=f"{where} `weights`")
        if revision is not None and weights.startswith("/"):
            raise _fail(path, f"{where} `revision`", "applies only to a Hub repo id, not a local directory")
    elif weights is not None or revision is not None:
        raise _fail(path, f"{where} `{'weights' if weights is not None else 'revision'}`",
                    f"is not used by engine {engine!r}; remove it")
    options = table.get("options", {})
    if not isinstance(options, dict):
        raise _fail(path, f"{where} `options`", f"must be a table (got {_type_name(options)})")
    return ModelSpec(id=model_id, engine=engine, weights=weights, revision=revision, options=dict(options))


def load_models_file(path: Path) -> dict[str, ModelSpec]:
    """The models a TOML models file declares, checked; `ModelsFileError` says what is wrong and where."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelsFileError(f"models file {path}: does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelsFileError(f"models file {path}: cannot be read ({exc})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelsFileError(f"models file {path}: is not valid TOML ({exc})") from None
    for key in document:
        if key != "models":
            raise _fail(path, f"top-level key {key!r}", "is unknown; the file holds `[models.\"<id>\"]` tables")
    models = document.get("models", {})
    if not isinstance(models, dict):
        raise _fail(path, "`models`", f"must be a table of models (got {_type_name(models)})")
    return {model_id: _parse_model(model_id, table, path=path) for model_id, table in models.items()}


def models_file_path(settings: Settings) -> Path | None:
    """`settings.models_file` if set, else `<data-dir>/models.toml` if it exists, else None."""
    if settings.models_file is not None:
        return settings.models_file
    default = settings.data_dir / "models.toml"
    return default if default.is_file() else None


class ModelRegistry:
    """Every model id this process serves: the built-in live2d ids, then those of the models file."""

    def __init__(self, extra: Mapping[str, ModelSpec] | None = None, *, source: Path | None = None) -> None:
        self._specs: dict[str, ModelSpec] = {
            model_id: ModelSpec(id=model_id, engine=engine) for model_id, engine in MODEL_ENGINES.items()
        }
        for model_id, spec in (extra or {}).items():
            if model_id in self._specs:
                raise ValueError(f"model id {model_id!r} is built in and cannot be redefined")
            self._specs[model_id] = spec
        self.source = source  # the models file, if any

    @classmethod
    def from_file(cls, path: Path | None) -> ModelRegistry:
        return cls(load_models_file(path) if path is not None else None, source=path)

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistry:
        """The registry the settings name (see `models_file_path`); `ModelsFileError` for a bad file."""
        return cls.from_file(models_file_path(settings))

    def ids(self) -> list[str]:
        """Built-in ids first (in their fixed order), then the file's, in its order."""
        return list(self._specs)

    def specs(self) -> list[ModelSpec]:
        return list(self._specs.values())

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._specs

    def spec(self, model_id: str, *, field: str = "model") -> ModelSpec:
        """The spec for `model_id`, or `InvalidInput(field, ...)` naming the allowed ids."""
        try:
            return self._specs[model_id]
        except KeyError:
            allowed = ", ".join(sorted(self._specs))
            raise InvalidInput(field, f"must be one of: {allowed} (got {model_id!r})") from None

    def engine(self, model_id: str, *, field: str = "model") -> str:
        return self.spec(model_id, field=field).engine
