"""OpenAI's Videos API words for a job: the video object, its ids and statuses, and the webhook event. The
routes are `api.openai_videos`'s; nothing here imports the web framework, so a worker process words events too."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from stillmotion.core import Core
from stillmotion.dialects.extensions import SEED_USED_DOC, motion_plan, seed_used
from stillmotion.domain import Job, JobStatus
from stillmotion.domain.options import MAX_SEED

DIALECT = "openai"
ID_PREFIX: Final = "video_"

VideoStatus = Literal["queued", "in_progress", "completed", "failed"]

STATUS_WORDS: dict[JobStatus, VideoStatus] = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "in_progress",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "failed",
    JobStatus.EXPIRED: "failed",
}


class VideoError(BaseModel):
    code: str = Field(description="Machine-readable reason, e.g. `cancelled`, `expired`, `render_failed`.")
    message: str


class Video(BaseModel):
    """OpenAI's video object."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "video_123456789012345678",
                    "object": "video",
                    "model": "sora-2",
                    "status": "in_progress",
                    "progress": 42,
                    "created_at": 1767225600,
                    "completed_at": None,
                    "expires_at": None,
                    "prompt": "she smiles and the camera slowly zooms in",
                    "seconds": "4",
                    "size": "720x1280",
                    "remixed_from_video_id": None,
                    "error": None,
                }
            ]
        }
    )

    id: str = Field(description="`video_` followed by the job id.")
    object: Literal["video"] = "video"
    model: str
    status: VideoStatus
    progress: int = Field(ge=0, le=100, description="Approximate completion percentage.")
    created_at: int = Field(description="Unix seconds.")
    completed_at: int | None = Field(description="Unix seconds when the job finished (completed or failed).")
    expires_at: int | None = Field(description="Always null: videos are kept until deleted.")
    prompt: str | None
    seconds: str = Field(description="Clip length in seconds.")
    size: str | None = Field(description="`WIDTHxHEIGHT`; null only for a job of another API not yet rendered.")
    remixed_from_video_id: str | None = None
    error: VideoError | None
    # Extensions beyond OpenAI's fields (clients ignore fields they do not know).
    motion_plan: dict[str, Any] | None = Field(
        None, description="What the engine drew (`tracks`) and what it did not (`notes`); set once it has run."
    )
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description=SEED_USED_DOC)


class VideoEvent(BaseModel):
    """A webhook body, in the shape of OpenAI's webhook events; `data` is the whole video object."""

    id: str
    object: Literal["event"] = "event"
    created_at: int
    type: str
    data: Video


def wire_id(job_id: str) -> str:
    return ID_PREFIX + job_id


def job_id_from_wire(video_id: str) -> str:
    """`video_<job id>` or the bare job id (jobs made through the other dialects are visible here too)."""
    return video_id.removeprefix(ID_PREFIX)


def _unix(value: Any) -> int | None:
    return None if value is None else int(value.timestamp())


def _seconds_text(duration_s: float) -> str:
    return f"{duration_s:g}"


def _size_text(job: Job) -> str | None:
    # The rendered size once there is one: a diffusion model fits a requested size to its own multiples
    # (1280x720 is rendered 1280x704 on Wan 2.2), and the answer describes the video it links to.
    options, result = job.options, job.result
    if isinstance(result.get("width"), int) and isinstance(result.get("height"), int):
        return f"{result['width']}x{result['height']}"
    if isinstance(options.get("width"), int) and isinstance(options.get("height"), int):
        return f"{options['width']}x{options['height']}"
    return None  # a job of another dialect, not rendered yet: its size is decided by the engine


def _video_error(job: Job) -> VideoError | None:
    if job.status is JobStatus.FAILED:
        return VideoError(code=job.error_code or "generation_failed", message=job.error_message or "generation failed")
    if job.status is JobStatus.CANCELLED:
        return VideoError(code="cancelled", message="the video was cancelled before it finished")
    if job.status is JobStatus.EXPIRED:
        return VideoError(code="expired", message="the video was removed after its retention period")
    return None


def to_wire(job: Job) -> Video:
    status = STATUS_WORDS[job.status]
    progress = 100 if job.status is JobStatus.SUCCEEDED else round(min(max(job.progress, 0.0), 1.0) * 100)
    duration = job.options.get("duration", job.result.get("duration_s", 6.0))
    return Video(
        id=wire_id(job.id),
        model=job.model,
        status=status,
        progress=progress,
        created_at=int(job.created_at.timestamp()),
        completed_at=_unix(job.finished_at) if job.status.is_terminal() else None,
        expires_at=None,
        prompt=job.prompt,
        seconds=_seconds_text(float(duration)),
        size=_size_text(job),
        error=_video_error(job),
        motion_plan=motion_plan(job),
        seed=seed_used(job),
    )


_EVENT_TYPES: dict[JobStatus, str] = {
    JobStatus.QUEUED: "video.queued",
    JobStatus.RUNNING: "video.in_progress",
    JobStatus.SUCCEEDED: "video.completed",
    JobStatus.FAILED: "video.failed",
    JobStatus.CANCELLED: "video.failed",
    JobStatus.EXPIRED: "video.failed",
}


def render_event(job: Job, svc: Core) -> dict[str, Any]:
    """The webhook body for `job`'s current status, shaped like OpenAI's events (`video.completed`,
    `video.failed`; `video.queued` / `video.in_progress` for the intermediate states OpenAI does not send).
    The event id is stable per job and status, so a receiver can drop a redelivered event."""
    event = VideoEvent(
        id=f"evt_{job.id}_{job.status.value}",
        created_at=int(job.updated_at.timestamp()),
        type=_EVENT_TYPES[job.status],
        data=to_wire(job),
    )
    return event.model_dump(mode="json")
