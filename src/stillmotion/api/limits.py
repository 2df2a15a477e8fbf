"""Per-key request rate limit: a token bucket per tenant, in this process's memory.

Each API process keeps its own buckets, so N processes behind a load balancer allow up to N times the
configured rate to one key; the cap on unfinished jobs (in `Services.create_job`) is shared through the store.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from stillmotion.domain.errors import RateLimited

# Buckets idle long enough to have refilled completely carry no information; they are dropped when the table
# grows past this many entries, so a flood of distinct keys cannot grow memory without bound.
_PRUNE_ABOVE = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


class RateLimiter:
    """Allows `per_min` requests a minute to each key, in bursts of up to `per_min`; 0 turns it off.

    Tokens refill continuously at `per_min / 60` a second, so a key that used its whole burst may send one
    request again after `60 / per_min` seconds rather than at the start of the next calendar minute.
    """

    def __init__(self, per_min: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_min = per_min
        self._rate_per_s = per_min / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._pruned_at = -math.inf
        self.refused = 0  # requests refused so far, for /metrics
        self._lock = threading.Lock()  # cheap insurance: callers may run on several threads

    @property
    def enabled(self) -> bool:
        return self.per_min > 0

    def check(self, key: str) -> None:
        """Spend one token of `key`'s bucket, or raise `RateLimited` saying when the next one is due."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= _PRUNE_ABOVE and now - self._pruned_at >= 1.0:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(tokens=float(self.per_min), updated_at=now)
            else:
                elapsed = max(0.0, now - bucket.updated_at)
                bucket.tokens = min(float(self.per_min), bucket.tokens + elapsed * self._rate_per_s)
                bucket.updated_at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait_s = (1.0 - bucket.tokens) / self._rate_per_s
            self.refused += 1
        raise RateLimited(
            f"rate limit of {self.per_min} requests per minute for this API key exceeded; "
            f"retry after {math.ceil(wait_s)} s",
            retry_after_s=math.ceil(wait_s),
        )

    def _prune(self, now: float) -> None:
        self._pruned_at = now
        full_after_s = 60.0  # an empty bucket is full again after one minute
        for key in [k for k, b in self._buckets.items() if now - b.updated_at >= full_after_s]:
            del self._buckets[key]


# Seconds a caller refused by the unfinished-jobs cap is told to wait: a render takes seconds, not minutes.
UNFINISHED_RETRY_AFTER_S = 5


def unfinished_jobs_exceeded(cap: int, unfinished: int) -> RateLimited:
    return RateLimited(
        f"this API key already has {unfinished} unfinished generation(s) (queued or running); the limit is {cap}. "
        "Wait for some to finish or cancel them, then retry",
        retry_after_s=UNFINISHED_RETRY_AFTER_S,
    )
