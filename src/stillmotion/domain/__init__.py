"""Pure data shared by every layer: job states, job specs and the domain errors."""

from stillmotion.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    JobNotFound,
    QueueFull,
    StillmotionError,
    Unauthorized,
    UnfinishedCapReached,
)
from stillmotion.domain.jobs import (
    IllegalTransition,
    Job,
    JobSpec,
    JobStatus,
    check_transition,
)
from stillmotion.domain.models import (
    MODEL_ENGINES,
    ModelRegistry,
    ModelsFileError,
    ModelSpec,
    engine_for_model,
    load_models_file,
)

__all__ = [
    "MODEL_ENGINES",
    "Conflict",
    "Forbidden",
    "IllegalTransition",
    "InvalidInput",
    "Job",
    "JobNotFound",
    "JobSpec",
    "JobStatus",
    "ModelRegistry",
    "ModelSpec",
    "ModelsFileError",
    "QueueFull",
    "StillmotionError",
    "Unauthorized",
    "UnfinishedCapReached",
    "check_transition",
    "engine_for_model",
    "load_models_file",
]
