"""MiniMax's words for a job: its statuses and error codes, the query answer, and the callback body. The routes
are `api.minimax`'s; nothing here imports the web framework, so a worker process words callbacks too."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from stillmotion.core import Core
from stillmotion.dialects.extensions import SEED_USED_DOC, motion_plan, seed_used
from stillmotion.domain import Job, JobStatus
from stillmotion.domain.options import MAX_SEED

DIALECT = "minimax"

# MiniMax's documented `base_resp.status_code` values that we produce.
SUCCESS = 0
UNKNOWN_ERROR = 1000
RATE_LIMIT = 1002
NOT_AUTHORIZED = 1004
INVALID_PARAMS = 2013

MiniMaxStatus = Literal["Queueing", "Preparing", "Processing", "Success", "Fail"]
CallbackStatus = Literal["processing", "success", "failed"]


class BaseResp(BaseModel):
    status_code: int = Field(description="0 on success; otherwise one of MiniMax's error codes.")
    status_msg: str


OK = BaseResp(status_code=SUCCESS, status_msg="success")


class VideoGenerationCreated(BaseModel):
    task_id: str = Field(description="Empty when `base_resp.status_code` is not 0.")
    base_resp: BaseResp


class VideoGenerationTask(BaseModel):
    task_id: str
    status: MiniMaxStatus
    file_id: str | None = Field(None, description="Set when `status` is `Success`: pass it to `/v1/files/retrieve`.")
    video_width: int | None = Field(None, description="Set when `status` is `Success`.")
    video_height: int | None = Field(None, description="Set when `status` is `Success`.")
    base_resp: BaseResp
    # Extensions beyond MiniMax's fields (clients ignore fields they do not know).
    motion_plan: dict[str, Any] | None = Field(
        None, description="What the engine drew (`tracks`) and what it did not (`notes`); set once it has run."
    )
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description=SEED_USED_DOC)


def wire_status(job: Job) -> MiniMaxStatus:
    if job.status is JobStatus.QUEUED:
        return "Queueing"
    if job.status is JobStatus.RUNNING:
        return "Preparing" if job.progress <= 0 else "Processing"
    if job.status is JobStatus.SUCCEEDED:
        return "Success"
    return "Fail"


def _callback_status(job: Job) -> CallbackStatus:
    # MiniMax documents three words for callbacks, lower case, unlike the query route's.
    if job.status is JobStatus.SUCCEEDED:
        return "success"
    if job.status.is_terminal():
        return "failed"
    return "processing"


def _failure_resp(job: Job) -> BaseResp:
    """A failed task reports why in `base_resp`, as MiniMax does for tasks that end in `Fail`."""
    if job.status is JobStatus.CANCELLED:
        reason = "the task was cancelled"
    elif job.status is JobStatus.EXPIRED:
        reason = "the video was removed after its retention period"
    else:
        detail = job.error_message or "the video could not be generated"
        reason = f"{job.error_code}: {detail}" if job.error_code else detail
    return BaseResp(status_code=UNKNOWN_ERROR, status_msg=f"unknown error, {reason}")


def to_task(job: Job) -> VideoGenerationTask:
    status = wire_status(job)
    if status == "Success":
        return VideoGenerationTask(
            task_id=job.id,
            status=status,
            file_id=job.id,
            video_width=job.result.get("width"),
            video_height=job.result.get("height"),
            base_resp=OK,
            motion_plan=motion_plan(job),
            seed=seed_used(job),
        )
    return VideoGenerationTask(
        task_id=job.id,
        status=status,
        base_resp=_failure_resp(job) if status == "Fail" else OK,
        motion_plan=motion_plan(job),
        seed=seed_used(job),
    )


def render_event(job: Job, svc: Core) -> dict[str, Any]:
    """The body POSTed to a task's `callback_url`: the query response's fields with MiniMax's callback words."""
    body = to_task(job).model_dump(exclude_none=True)
    body["status"] = _callback_status(job)
    return body
