"""OpenAI's Models API over the model registry: `GET /v1/models` and `GET /v1/models/{model}`.

OpenAI clients list models before they use one (`client.models.list()`, `client.models.retrieve("sora-2")`), and
tools that speak to OpenAI-compatible servers probe `/v1/models` to see what a server offers. The answer is every
id this server accepts in a create call: the built-in ids, then the models file's, in the registry's order. Errors
are OpenAI's error body, as on the Videos API.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from stillmotion.api.auth import CurrentTenant
from stillmotion.api.openai_videos import SERVICES, ErrorBody
from stillmotion.domain import MODEL_ENGINES, JobNotFound, ModelSpec
from stillmotion.domain.models import weights_are_local

PREFIXES = ("/v1/models",)
MODELS_PATH = "/v1/models"
OWNER = "stillmotion"  # `owned_by` of the built-in ids
LOCAL_OWNER = "local"  # ... and of a models-file model whose weights are a local directory

# `created` of every id: when this process started serving them (the registry has no dates of its own).
_STARTED = int(time.time())


class Model(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "sora-2", "object": "model", "created": 1764979200, "owned_by": OWNER}]}
    )

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


def to_wire(spec: ModelSpec) -> Model:
    """A registry entry as OpenAI's model object: owned by stillmotion when built in, else by the Hub organisation
    its weights come from (`Wan-AI` for `Wan-AI/Wan2.2-TI2V-5B-Diffusers`), or `local` for a local directory."""
    if spec.id in MODEL_ENGINES:
        owner = OWNER
    elif spec.weights is not None and not weights_are_local(spec):  # a Hub repo id, `owner/name`
        owner = spec.weights.split("/", 1)[0]
    else:
        owner = LOCAL_OWNER
    return Model(id=spec.id, created=_STARTED, owned_by=owner)


_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorBody, "description": "No or wrong API key."}}

router = APIRouter(tags=["OpenAI Models"])


@router.get(MODELS_PATH, response_model=ModelList, responses=_ERRORS, summary="List models")
async def list_models(tenant: CurrentTenant, svc: SERVICES) -> ModelList:
    return ModelList(data=[to_wire(spec) for spec in svc.models.specs()])


@router.get(
    MODELS_PATH + "/{model}",
    response_model=Model,
    responses={**_ERRORS, 404: {"model": ErrorBody, "description": "No model with that id."}},
    summary="Retrieve a model",
)
async def retrieve_model(
    model: Annotated[str, Path(description="A model id, as `GET /v1/models` lists them.")],
    tenant: CurrentTenant,
    svc: SERVICES,
) -> Model:
    if model not in svc.models:
        raise JobNotFound(model, noun="model")
    return to_wire(svc.models.spec(model))
