"""`/metrics` in the Prometheus text format (prometheus-client), and the middleware that observes every request.

Job figures (queue depth, jobs by status, generation seconds, failures by reason) are read from the store at
scrape time by a custom collector, so every API process reports the same, correct numbers however many workers
there are. HTTP figures (latency per route, responses per status code) are this process's own, counted on the
request path without prometheus-client's locks per sample: sum them across processes. prometheus-client adds the
usual process and Python figures (CPU, memory, open files, garbage collections). The route is unauthenticated;
operators should keep it off the public internet.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stillmotion.api.limits import RateLimiter
from stillmotion.api.services import Services
from stillmotion.domain import JobStatus
from stillmotion.logs import new_request_id, reset_request_id, sane_request_id, set_request_id

log = logging.getLogger("stillmotion.api")
access_log = logging.getLogger("stillmotion.access")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
GENERATION_BOUNDS_S = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"  # one label for every path no route matched, so scanners cannot add series


# ---- HTTP figures, in process ----


@dataclass
class _Latency:
    buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BOUNDS_S))  # not cumulative
    count: int = 0
    total_s: float = 0.0


class HttpMetrics:
    """Request latency per (method, route template) and response counts per (method, route, status code)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # observed on the event loop, read by a scrape in the thread pool
        self._latency: dict[tuple[str, str], _Latency] = {}
        self._responses: dict[tuple[str, str, str], int] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        index = bisect.bisect_left(LATENCY_BOUNDS_S, seconds)
        with self._lock:
            latency = self._latency.get((method, route))
            if latency is None:
                latency = self._latency[(method, route)] = _Latency()
            if index < len(LATENCY_BOUNDS_S):
                latency.buckets[index] += 1
            latency.count += 1
            latency.total_s += seconds
            key = (method, route, str(status))
            self._responses[key] = self._responses.get(key, 0) + 1

    def families(self) -> list[Metric]:
        """The latency histogram and the response counter, as of now."""
        with self._lock:
            latency = {key: (list(v.buckets), v.count, v.total_s) for key, v in self._latency.items()}
            responses = dict(self._responses)
        seconds = HistogramMetricFamily(
            "stillmotion_http_request_duration_seconds",
            "Time from request to the end of the response, per route template and method.",
            labels=["method", "route"],
        )
        for (method, route), (buckets, count, total_s) in sorted(latency.items()):
            seconds.add_metric([method, route], _buckets(LATENCY_BOUNDS_S, list(accumulate(buckets)), count), total_s)
        counted = CounterMetricFamily(
            "stillmotion_http_requests",
            "HTTP responses by route template, method and status code.",
            labels=["method", "route", "code"],
        )
        for (method, route, code), count in sorted(responses.items()):
            counted.add_metric([method, route, code], count)
        return [seconds, counted]


def _buckets(bounds: tuple[float, ...], cumulative: list[int], count: int) -> list[tuple[str, float]]:
    """prometheus-client's buckets: `cumulative[i]` observations were at most `bounds[i]`, `count` in all."""
    return [
        *((repr(float(bound)), float(seen)) for bound, seen in zip(bounds, cumulative, strict=True)),
        ("+Inf", float(count)),
    ]


class ObserveRequests:
    """ASGI middleware: gives each request an id (a sane incoming `X-Request-Id`, else a new one) that every log
    line of the request carries and the response returns; times the request; writes an access log line."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, access_log_level: int = logging.INFO) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log_level = access_log_level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = sane_request_id(incoming) or new_request_id()
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        token = set_request_id(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # The error goes on to the outermost handler, which logs it; the id stays set for that line.
            self._finish(scope, status, started, request_id)  # 500 unless the response had already begun
            raise
        self._finish(scope, status, started, request_id)
        reset_request_id(token)

    def _finish(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        seconds = time.perf_counter() - started
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
        self.metrics.observe(method, route, status, seconds)
        if access_log.isEnabledFor(self.access_log_level):
            duration_ms = round(seconds * 1000, 2)
            access_log.log(
                self.access_log_level,
                "%s %s %d %.2fms",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                extra={"method": scope["method"], "path": scope["path"], "status": status, "duration_ms": duration_ms},
            )


# ---- the route ----

router = APIRouter(tags=["operations"])


class ScrapeCollector(Collector):
    """The service's own figures, read when Prometheus scrapes: the job store's (three cheap aggregate queries; if
    the store is unreachable they are left out and `stillmotion_store_up` says 0), the rate limiter's refusals,
    and this process's HTTP figures."""

    def __init__(self, svc: Services, http: HttpMetrics, limiter: RateLimiter | None = None) -> None:
        self.svc, self.http, self.limiter = svc, http, limiter

    def collect(self) -> Iterator[Metric]:
        store = self.svc.store
        try:
            counts = store.counts_by_status()
            failures = store.failures_by_code()
            cumulative, finished, total_s = store.generation_seconds(GENERATION_BOUNDS_S)
            store_up = True
        except Exception as exc:
            log.warning("metrics: the store cannot be read: %s", exc)
            store_up = False
        yield GaugeMetricFamily(
            "stillmotion_store_up", "1 if the job store answered this scrape, else 0.", value=1 if store_up else 0
        )
        if store_up:
            yield GaugeMetricFamily(
                "stillmotion_queue_depth", "Jobs waiting for a worker (status queued).", value=counts[JobStatus.QUEUED]
            )
            jobs = GaugeMetricFamily("stillmotion_jobs", "Jobs held in the store, by status.", labels=["status"])
            for status in JobStatus:
                jobs.add_metric([status.value], counts[status])
            yield jobs
            generation = HistogramMetricFamily(
                "stillmotion_generation_seconds",
                "Render time (finished minus started) of the succeeded jobs held in the store.",
            )
            generation.add_metric([], _buckets(GENERATION_BOUNDS_S, list(cumulative), finished), total_s)
            yield generation
            failed = GaugeMetricFamily(
                "stillmotion_failed_jobs", "Failed jobs held in the store, by error code.", labels=["reason"]
            )
            for reason, count in sorted(failures.items()):
                failed.add_metric([reason], count)
            yield failed
        if self.limiter is not None:
            yield CounterMetricFamily(
                "stillmotion_rate_limited",
                "Requests this process refused under the per-key rate limit.",
                value=self.limiter.refused,
            )
        yield from self.http.families()


def render_metrics(svc: Services, http: HttpMetrics, limiter: RateLimiter | None = None) -> str:
    """Every metric, as Prometheus text: the service's (`ScrapeCollector`) and prometheus-client's process, Python
    platform and garbage-collection figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ScrapeCollector(svc, http, limiter))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return generate_latest(registry).decode()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> PlainTextResponse:
    state = request.app.state
    text = render_metrics(state.services, state.http_metrics, getattr(state, "rate_limiter", None))
    return PlainTextResponse(text, media_type=CONTENT_TYPE)
