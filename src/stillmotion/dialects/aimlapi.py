"""The AI/ML API's words for a job: the create body, the create and poll answers, and the webhook event. The
routes are `api.aimlapi`'s; nothing here imports the web framework, so a worker process words webhook events too."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from stillmotion.core import Core
from stillmotion.dialects.extensions import SEED_USED_DOC, seed_used
from stillmotion.domain import Job, JobStatus
from stillmotion.domain.options import (
    DEFAULT_DURATION_S,
    DEFAULT_FPS,
    MAX_DURATION_S,
    MAX_FPS,
    MAX_SEED,
    MIN_DURATION_S,
    MIN_FPS,
)

DIALECT = "aimlapi"

AimlStatus = Literal["queued", "generating", "completed", "error"]

STATUS_WORDS: dict[JobStatus, AimlStatus] = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "generating",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "error",
    JobStatus.CANCELLED: "error",
    JobStatus.EXPIRED: "error",
}


class CreateGeneration(BaseModel):
    """The seed's request body. Unknown fields are ignored, as the hosted API does."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": "video-01-live2d",
                    "prompt": "Mona Lisa puts on glasses with her hands.",
                    "prompt_optimizer": True,
                    "first_frame_image": "https://example.com/first-frame.jpg",
                }
            ]
        },
    )

    model: StrictStr = Field(
        description="`video-01-live2d` (or its alias `I2V-01-live`), or a model id from the server's models file."
    )
    prompt: StrictStr = Field(min_length=1, max_length=2000, description="What should happen in the video.")
    prompt_optimizer: StrictBool = Field(True, description="Enrich the prompt with natural secondary motion.")
    first_frame_image: StrictStr = Field(
        description="http(s) URL, `data:` URI or raw base64 of a JPG/PNG; aspect ratio strictly between 2:5 "
        "and 5:2, shorter side over 300 px, at most 20 MB."
    )
    # Extensions beyond the hosted API; clients that do not know them simply leave them out.
    duration: Annotated[float, Field(strict=True, ge=MIN_DURATION_S, le=MAX_DURATION_S)] = Field(
        DEFAULT_DURATION_S, description=f"Seconds of video, {MIN_DURATION_S:g} to {MAX_DURATION_S:g}."
    )
    fps: Annotated[StrictInt, Field(ge=MIN_FPS, le=MAX_FPS)] = Field(
        DEFAULT_FPS, description=f"Frames per second, {MIN_FPS} to {MAX_FPS}."
    )
    seed: Annotated[StrictInt, Field(ge=0, le=MAX_SEED)] | None = Field(
        None, description="The same seed and input give the same video; default: derived from the image."
    )
    loop: StrictBool = Field(False, description="End on the first frame, for seamless looping.")
    callback_url: StrictStr | None = Field(
        None,
        max_length=2048,
        description="http(s) URL that receives a signed JSON event each time the generation's status changes.",
    )

    def render_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"duration": self.duration, "fps": self.fps, "loop": self.loop}
        if self.seed is not None:
            options["seed"] = self.seed
        return options


class GenerationCreated(BaseModel):
    generation_id: str
    status: AimlStatus


class UnifiedGenerationCreated(BaseModel):
    """The unified route names the new generation's id `id` where the seed route says `generation_id`."""

    id: str
    status: AimlStatus


class VideoRef(BaseModel):
    url: str
    duration: float | None = Field(None, description="Seconds of video.")


class GenerationError(BaseModel):
    name: str
    message: str


class Generation(BaseModel):
    id: str
    status: AimlStatus
    video: VideoRef | None
    error: GenerationError | None
    # Extensions beyond the hosted API (clients ignore fields they do not know): how far it got, what the
    # engine drew and with which seed.
    progress: int | None = Field(None, ge=0, le=100, description="Percent done, 0 to 100 (not for errors).")
    motion_plan: dict[str, Any] | None = Field(None, description="The motion plan the engine followed.")
    optimized_prompt: str | None = Field(None, description="The full plan, described in words.")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description=SEED_USED_DOC)


def to_wire(job: Job, svc: Core) -> Generation:
    status = STATUS_WORDS[job.status]
    video = None
    error = None
    if job.status is JobStatus.SUCCEEDED:
        url = svc.video_url(job)
        seconds = job.result.get("duration_s")
        video = VideoRef(url=url, duration=round(float(seconds), 3) if seconds is not None else None) if url else None
    elif job.status is JobStatus.FAILED:
        error = GenerationError(name=job.error_code or "generation_failed", message=job.error_message or "")
    elif job.status is JobStatus.CANCELLED:
        error = GenerationError(name="cancelled", message="the generation was cancelled")
    elif job.status is JobStatus.EXPIRED:
        error = GenerationError(name="expired", message="the video was removed after its retention period")
    extra = job.result.get("extra") or {}
    # The extension fields are set only when known; the route leaves unset fields out of the body so that
    # the hosted API's four fields are all a queued or failed job shows.
    extensions: dict[str, Any] = {
        key: extra[key] for key in ("motion_plan", "optimized_prompt") if extra.get(key) is not None
    }
    seed = seed_used(job)
    if seed is not None:
        extensions["seed"] = seed
    if status != "error":
        extensions["progress"] = 100 if status == "completed" else min(99, int(job.progress * 100))
    return Generation(id=job.id, status=status, video=video, error=error, **extensions)


def render_event(job: Job, svc: Core) -> dict[str, Any]:
    """A webhook body: the event type and the same generation object a poll returns."""
    generation = to_wire(job, svc)
    return {
        "type": f"generation.{generation.status}",
        "generation": generation.model_dump(mode="json", exclude_unset=True),
    }
