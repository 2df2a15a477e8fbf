"""Domain errors. They are raised anywhere and become HTTP answers in exactly one place: `api.errors`."""

from __future__ import annotations


class StillmotionError(Exception):
    """Base of every error this package raises on purpose."""


class InvalidInput(StillmotionError):
    """A request field breaks a rule. `field` is the wire name, `rule` a short sentence saying what is allowed."""

    def __init__(self, field: str, rule: str, *, status_code: int = 400) -> None:
        self.field = field
        self.rule = rule
        self.status_code = status_code
        super().__init__(f"`{field}` {rule}")


class Unauthorized(StillmotionError):
    """No API key, or one that is unknown or revoked."""


class Forbidden(StillmotionError):
    """A signed media link that was tampered with or has expired."""


class JobNotFound(StillmotionError):
    """No job with that id is visible to the caller (unknown, or owned by another tenant)."""

    def __init__(self, job_id: str, *, noun: str = "generation") -> None:
        self.job_id = job_id
        super().__init__(f"{noun} {job_id!r} not found")  # `noun`: what the dialect calls it (task, video, file)


class Conflict(StillmotionError):
    """The request clashes with what is stored (an `Idempotency-Key` reused with a different request)."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"`{field}` {rule}")


class UnfinishedCapReached(StillmotionError):
    """A create found its tenant at its cap of unfinished (queued or running) jobs, counted in the same
    transaction as the insert it would have made."""

    def __init__(self, cap: int, unfinished: int) -> None:
        self.cap = cap
        self.unfinished = unfinished
        super().__init__(f"{unfinished} unfinished job(s); the cap is {cap}")


class QueueFull(StillmotionError):
    """The service cannot take more work right now."""


class RateLimited(StillmotionError):
    """A key asked for more than its share: too many requests a minute, or too many unfinished jobs.
    `retry_after_s` is how many whole seconds the caller should wait before trying again."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        self.retry_after_s = max(1, int(retry_after_s))
        super().__init__(message)
