"""`/metrics`: Prometheus text that parses, job figures read from the store (so right with any number of
workers), and HTTP figures from this process; no key needed and never rate limited."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from stillmotion.api.app import build_services, create_app
from stillmotion.api.metrics import GENERATION_BOUNDS_S, HttpMetrics
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.domain import JobSpec
from stillmotion.jobs import JobStore
from support import TEST_KEY

SEED = "/v2/generate/video/minimax/generation"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}

# ---- a small parser of the text format (0.0.4), strict about what it accepts ----

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", ""), "counter": ("",)}


@dataclass
class Family:
    name: str
    kind: str = "untyped"
    help: str = ""
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def value(self, name: str | None = None, **labels: str) -> float:
        found = [v for n, lab, v in self.samples if n == (name or self.name) and lab == labels]
        assert len(found) == 1, (name, labels, self.samples)
        return found[0]


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], value)


def _labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _LABEL.match(text, position)
        assert match, f"bad labels: {text!r}"
        assert match.group(1) not in labels, f"repeated label in {text!r}"
        labels[match.group(1)] = _unescape(match.group(2))
        position = match.end()
    return labels


def _float(text: str) -> float:
    assert re.fullmatch(r"[+-]?(Inf|NaN|\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)", text), text
    return float(text.replace("Inf", "inf"))


def parse(text: str) -> dict[str, Family]:
    """Families by name. Every sample must follow its family's `# TYPE` line and carry a name the type allows."""
    assert text.endswith("\n")
    families: dict[str, Family] = {}
    current: Family | None = None
    for line in text.splitlines():
        assert line.strip(), "blank line"
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert name not in families, f"{name} declared twice"
            current = families[name] = Family(name, help=help_text)
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert current is not None and current.name == name and kind in (
                "counter", "gauge", "histogram", "summary", "untyped"
            ), line
            assert not current.samples, "TYPE after samples"
            current.kind = kind
        else:
            assert not line.startswith("#"), line
            match = _SAMPLE.match(line)
            assert match, f"bad sample line: {line!r}"
            name, _, label_text, value = match.groups()
            assert current is not None and name.startswith(current.name), f"{name} outside its family"
            allowed = _SUFFIXES.get(current.kind, ("",))
            assert name[len(current.name):] in allowed, f"{name} is not a {current.kind} sample"
            current.samples.append((name, _labels(label_text or ""), _float(value)))
    for family in families.values():
        if family.kind == "counter":
            assert family.name.endswith("_total"), family.name
        if family.kind == "histogram":
            _check_histogram(family)
    return families


def _check_histogram(family: Family) -> None:
    series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for name, labels, value in family.samples:
        if name.endswith("_bucket"):
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            series.setdefault(rest, []).append((_float(labels["le"]), value))
    for rest, buckets in series.items():
        bounds = [b for b, _ in buckets]
        counts = [c for _, c in buckets]
        assert bounds == sorted(bounds) and bounds[-1] == math.inf, bounds
        assert counts == sorted(counts), f"buckets not cumulative: {counts}"
        assert family.value(family.name + "_count", **dict(rest)) == counts[-1]


# ---- the parser and writer agree on the awkward cases ----


def test_http_figures_escape_label_values_and_parse_back() -> None:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.registry import Collector

    http = HttpMetrics()
    http.observe("GET", 'a"b\\c\nd', 200, 0.3)
    http.observe("GET", 'a"b\\c\nd', 200, 0.7)
    http.observe("GET", 'a"b\\c\nd', 200, 20.0)

    class Figures(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            yield from http.families()

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Figures())
    families = parse(generate_latest(registry).decode())
    assert families["stillmotion_http_requests_total"].value(method="GET", route='a"b\\c\nd', code="200") == 3
    seconds = families["stillmotion_http_request_duration_seconds"]
    route = 'a"b\\c\nd'
    assert seconds.value("stillmotion_http_request_duration_seconds_bucket", method="GET", route=route, le="0.5") == 1
    assert seconds.value("stillmotion_http_request_duration_seconds_bucket", method="GET", route=route, le="+Inf") == 3
    assert seconds.value("stillmotion_http_request_duration_seconds_sum", method="GET", route=route) == 21.0


def test_parser_rejects_broken_text() -> None:
    with pytest.raises(AssertionError):
        parse("# HELP a_total x\n# TYPE a_total counter\na_total{code=200} 1\n")  # unquoted label value
    with pytest.raises(AssertionError):
        parse("# HELP a x\n# TYPE a gauge\nb 1\n")  # a sample outside its family
    with pytest.raises(AssertionError):
        parse('# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n')


# ---- the route ----


def _spec(tenant: str = "t_metrics") -> JobSpec:
    return JobSpec(
        tenant=tenant,
        model="video-01-live2d",
        engine="live2d",
        prompt="p",
        image=b"png",
        image_format="png",
        image_width=10,
        image_height=10,
    )


def _set_times(url: str, job_id: str, *, started: float, finished: float) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE jobs SET started_at = :s, finished_at = :f WHERE id = :id"),
            {"s": started, "f": finished, "id": job_id},
        )
    engine.dispose()


def _fill(store: JobStore, url: str) -> None:
    """3 succeeded jobs (0.5 s, 3 s, 45 s), 2 failed `render_failed`, 1 `worker_lost`, 1 cancelled, 1 running,
    2 queued; claims take the oldest first, so the jobs are created in the order they are claimed."""
    for _ in range(9):
        store.create(_spec())
    durations = iter([0.5, 3.0, 45.0])
    for outcome in ["ok", "ok", "ok", "render_failed", "render_failed", "worker_lost", "running"]:
        claim = store.claim(worker_id="w", lease_s=60)
        assert claim is not None
        if outcome == "ok":
            store.succeed(claim.job.id, attempt=claim.attempt, media_key="k", result={})
            _set_times(url, claim.job.id, started=1000.0, finished=1000.0 + next(durations))
        elif outcome != "running":
            store.fail(claim.job.id, attempt=claim.attempt, code=outcome, message="m")
    queued = [j for j in store.list_jobs("t_metrics", limit=20).jobs if j.status.value == "queued"]
    store.cancel(queued[0].id)


@pytest.fixture
def metrics_client(tmp_path: Path) -> Iterator[tuple[TestClient, Services]]:
    settings = Settings(
        data_dir=tmp_path / "data", api_keys=TEST_KEY, public_url="http://testserver", rate_limit_per_min=2
    )
    services = build_services(settings)
    try:
        with TestClient(create_app(settings, services=services)) as client:
            yield client, services
    finally:
        services.store.close()


def _scrape(client: TestClient) -> dict[str, Family]:
    response = client.get("/metrics")  # no key: operators scrape it from inside the network
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(response.text)


def test_job_figures_come_from_the_store(metrics_client: tuple[TestClient, Services]) -> None:
    client, services = metrics_client
    _fill(services.store, services.settings.resolved_database_url)
    families = _scrape(client)

    assert families["stillmotion_store_up"].value() == 1
    assert families["stillmotion_queue_depth"].kind == "gauge"
    assert families["stillmotion_queue_depth"].value() == 1
    jobs = families["stillmotion_jobs"]
    expected = {"queued": 1, "running": 1, "succeeded": 3, "failed": 3, "cancelled": 1, "expired": 0}
    assert {labels["status"]: v for _, labels, v in jobs.samples} == expected

    failures = families["stillmotion_failed_jobs"]
    assert {labels["reason"]: v for _, labels, v in failures.samples} == {"render_failed": 2, "worker_lost": 1}

    generation = families["stillmotion_generation_seconds"]
    assert generation.kind == "histogram"
    buckets = {labels["le"]: v for name, labels, v in generation.samples if name.endswith("_bucket")}
    assert len(buckets) == len(GENERATION_BOUNDS_S) + 1
    assert (buckets["1.0"], buckets["2.0"], buckets["5.0"], buckets["30.0"], buckets["60.0"]) == (1, 1, 2, 2, 3)
    assert buckets["+Inf"] == 3
    assert generation.value("stillmotion_generation_seconds_count") == 3
    assert generation.value("stillmotion_generation_seconds_sum") == pytest.approx(48.5)


def test_http_figures_count_each_route_and_status(metrics_client: tuple[TestClient, Services]) -> None:
    client, services = metrics_client
    job = services.store.create(_spec(tenant=_tenant()))
    assert client.get(SEED, params={"generation_id": job.id}, headers=AUTH).status_code == 200
    assert client.get(SEED, params={"generation_id": "404"}, headers=AUTH).status_code == 404
    assert client.get(SEED, params={"generation_id": "1"}, headers=AUTH).status_code == 429  # 2 a minute
    assert client.get("/no/such/path/12345").status_code == 404
    for _ in range(4):
        assert client.get("/healthz").status_code == 200
    families = _scrape(client)
    _scrape(client)  # the scrape is neither authenticated nor rate limited
    families = _scrape(client)

    requests = families["stillmotion_http_requests_total"]
    assert requests.kind == "counter"
    assert requests.value(method="GET", route=SEED, code="200") == 1
    assert requests.value(method="GET", route=SEED, code="404") == 1
    assert requests.value(method="GET", route=SEED, code="429") == 1
    assert requests.value(method="GET", route="/healthz", code="200") == 4
    assert requests.value(method="GET", route="/metrics", code="200") == 2  # this scrape is not counted yet
    # A path no route matched shares one label: a scanner cannot grow the number of series.
    assert requests.value(method="GET", route="<unmatched>", code="404") == 1
    assert not any("12345" in labels["route"] for _, labels, _ in requests.samples)

    latency = families["stillmotion_http_request_duration_seconds"]
    assert latency.kind == "histogram"
    assert latency.value("stillmotion_http_request_duration_seconds_count", method="GET", route=SEED) == 3
    assert latency.value("stillmotion_http_request_duration_seconds_bucket", method="GET", route=SEED, le="+Inf") == 3
    assert latency.value("stillmotion_http_request_duration_seconds_sum", method="GET", route=SEED) > 0
    assert families["stillmotion_rate_limited_total"].value() == 1


def _tenant() -> str:
    from stillmotion.jobs import tenant_for_key

    return tenant_for_key(TEST_KEY)


def test_store_outage_still_answers(
    metrics_client: tuple[TestClient, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, services = metrics_client

    def down() -> None:
        raise sa.exc.OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(services.store, "counts_by_status", down)
    families = _scrape(client)
    assert families["stillmotion_store_up"].value() == 0
    assert "stillmotion_queue_depth" not in families
    assert "stillmotion_http_requests_total" in families


def test_store_aggregates_on_both_back_ends(database_url: str) -> None:
    store = JobStore(database_url)
    store.create_schema()
    try:
        _fill(store, database_url)
        cumulative, count, total_s = store.generation_seconds((1.0, 5.0, 60.0))
        assert (cumulative, count) == ([1, 2, 3], 3)
        assert total_s == pytest.approx(48.5)
        assert store.failures_by_code() == {"render_failed": 2, "worker_lost": 1}
        assert store.generation_seconds(()) == ([], 3, pytest.approx(48.5))
    finally:
        store.close()


def test_a_scrape_has_the_usual_process_and_python_figures(metrics_client: tuple[TestClient, Services]) -> None:
    client, _ = metrics_client
    families = _scrape(client)
    assert families["process_cpu_seconds_total"].value() >= 0
    assert families["process_resident_memory_bytes"].value() > 0
    assert "python_gc_collections_total" in families and "python_info" in families
