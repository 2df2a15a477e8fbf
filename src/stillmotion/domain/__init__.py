"""Pure data shared by every layer: job states, job specs and the domain errors."""

from stillmotion.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    JobNotFound,
    QueueFull,
    StillmotionError,
    Unauthorized,
)
from stillmotion.domain.jobs import (
    IllegalTransition,
    Job,
    JobSpec,
    JobStatus,
    check_transition,
)
from stillmotion.domain.models import MODEL_ENGINES, engine_for_model

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
    "QueueFull",
    "StillmotionError",
    "Unauthorized",
    "check_transition",
    "engine_for_model",
]
