"""`GET /metrics` end to end: an embedded store with synthetic probe points, a real worker whose
evaluation refreshes the state, the app served by uvicorn on an ephemeral port and scraped over
HTTP. The values are the store's (snapshot, breakers, SLO, rate limits, storage lag), scrapes
never query it, OpenMetrics is served on request, and `promtool check metrics` accepts the
scrape."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from aggregator.api.app import create_app
from aggregator.api.server import ApiServer
from aggregator.evaluate import evaluate
from aggregator.metrics_state import MetricsState
from aggregator.store.embedded import EmbeddedStore
from aggregator.worker import Worker
from llmhealth_config.model import Config
from llmhealth_config.product import PROBER_SERVICE_NAME
from tests.embedded.synthetic import instant, latency_point, points, probe_points
from tests.unit.test_prometheus_metrics import samples, value
from tests.unit.test_prometheus_rules import promtool

pytestmark = pytest.mark.embedded

CONFIG = Config.model_validate({
    "targets": [
        {"name": "good", "base_url": "http://127.0.0.1:9/v1", "model": "m1", "pool": "chat",
         "probes": ["completion"]},
        {"name": "down", "base_url": "http://127.0.0.1:9/v1", "model": "m2", "pool": "chat",
         "probes": ["completion"]},
    ],
    "aggregator": {"interval": "2s", "slo": 0.995}})

INSERT_GAUGE = """
INSERT INTO otel_metrics_gauge (ServiceName, MetricName, Attributes, TimeUnix, Value)
VALUES ({service:String}, {metric:String}, {attrs:Map(String, String)}, {at:DateTime64(3, 'UTC')},
        {value:Float64})
"""
LAST = 60  # the instant the worker evaluates: a minute's first, so it writes the SLO rows


def _fill(store: EmbeddedStore) -> None:
    """A minute of probes, every 2 s: `good` answers in 0.5 s, `down` fails with http_5xx;
    `good` reports 500 of 10,000 tokens left. Instants up to LAST - 2 are evaluated here."""
    rows = []
    for s in range(1, LAST, 2):
        at = instant(s)
        rows += probe_points("good", at, "ok") + probe_points("down", at, "http_5xx")
        rows.append(latency_point("good", at, {0.5: 1}))
    points(store, rows)
    for metric, number in (("llmhealth.ratelimit.remaining", 500.0), ("llmhealth.ratelimit.limit", 10000.0)):
        store.execute(INSERT_GAUGE, {
            "service": PROBER_SERVICE_NAME, "metric": metric, "at": instant(LAST - 5),
            "attrs": {"llmhealth.target": "good", "llmhealth.ratelimit.resource": "tokens"},
            "value": number})
    for s in range(LAST - 10, LAST, 2):
        evaluate(store, CONFIG, instant(s))


@pytest.fixture
def served(store: EmbeddedStore) -> Iterator[tuple[Worker, MetricsState, str]]:
    _fill(store)
    worker = Worker(store, CONFIG)
    metrics = MetricsState(store, CONFIG)
    metrics.attach(worker)
    metrics.start()
    api = ApiServer(create_app(metrics=metrics), "127.0.0.1", 0)
    api.start()
    try:
        yield worker, metrics, api.url
    finally:
        api.stop()
        metrics.stop()


def _scrape(url: str, at_timestamp: float) -> str:
    """The scrape once it shows the state of `at_timestamp` (refreshed off the worker's thread)."""
    deadline = time.monotonic() + 20
    while True:
        text = httpx.get(f"{url}/metrics", timeout=10).text
        if value(samples(text), "llmhealth_metrics_state_timestamp_seconds") == at_timestamp:
            return text
        assert time.monotonic() < deadline, text
        time.sleep(0.05)


def test_metrics_serve_the_evaluated_state(served: tuple[Worker, MetricsState, str],
                                           store: EmbeddedStore) -> None:
    worker, metrics, url = served
    at = instant(LAST)
    worker.run_once(now=at.timestamp() + 0.3)
    text = _scrape(url, at.timestamp())
    scrape = samples(text)

    assert value(scrape, "llmhealth_target_status", target="good", pool="chat", status="healthy") == 1
    assert value(scrape, "llmhealth_target_status", target="down", pool="chat", status="unhealthy") == 1
    assert sum(v for (n, labels), v in scrape.items()
               if n == "llmhealth_target_status" and ("target", "down") in labels) == 1
    assert value(scrape, "llmhealth_pool_status", pool="chat", status="degraded") == 1
    assert value(scrape, "llmhealth_breaker_state", target="down", kind="completion", state="open") == 1
    assert value(scrape, "llmhealth_breaker_state", target="good", kind="completion", state="closed") == 1
    assert value(scrape, "llmhealth_target_error_ratio", target="down") == 1.0
    assert value(scrape, "llmhealth_target_error_ratio", target="good") == 0.0
    assert value(scrape, "llmhealth_target_requests", target="good") == 30
    assert value(scrape, "llmhealth_kind_requests", target="good", kind="completion") == 30
    assert value(scrape, "llmhealth_kind_error_ratio", target="down", kind="completion") == 1.0
    assert value(scrape, "llmhealth_target_latency_seconds", target="good",
                 percentile="99") == pytest.approx(0.5, rel=0.02)
    assert value(scrape, "llmhealth_target_latency_seconds", target="down", percentile="99") is None
    # the SLO row of the instant (a minute's first): the minute before it, complete
    assert value(scrape, "llmhealth_target_availability_ratio", target="good", window="1h") == 1.0
    assert value(scrape, "llmhealth_target_availability_ratio", target="down", window="1h") == 0.0
    assert value(scrape, "llmhealth_target_slo_burn_rate", target="down",
                 window="1h") == pytest.approx(1 / (1 - 0.995))
    assert value(scrape, "llmhealth_ratelimit_remaining", target="good", resource="tokens") == 500
    assert value(scrape, "llmhealth_ratelimit_limit", target="good", resource="tokens") == 10000
    # storage lag: the newest point among those stored last (the rate-limit gauges, stored now;
    # the synthetic points were stored at their own time) against the time the state was read
    newest = value(scrape, "llmhealth_storage_newest_point_timestamp_seconds")
    assert newest == instant(LAST - 5).timestamp()
    assert value(scrape, "llmhealth_storage_lag_seconds") == pytest.approx(
        metrics.state.read_at - newest)
    assert value(scrape, "llmhealth_aggregator_last_evaluation_timestamp_seconds") == at.timestamp()
    assert value(scrape, "llmhealth_aggregator_cycle_duration_seconds") == pytest.approx(
        worker.last_duration_ms / 1000)
    assert value(scrape, "llmhealth_aggregator_behind") == (1 if worker.behind else 0)
    assert value(scrape, "llmhealth_aggregator_evaluation_failing") == 0
    assert value(scrape, "process_resident_memory_bytes") > 0

    # further scrapes read the state in memory: no query reaches the store
    calls = []
    original = store.rows
    store.rows = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        for _ in range(3):
            assert httpx.get(f"{url}/metrics", timeout=10).status_code == 200
    finally:
        store.rows = original
    assert calls == []

    # the text format by default, OpenMetrics when the scraper asks for it
    assert httpx.get(f"{url}/metrics", timeout=10).headers["content-type"].startswith(
        "text/plain; version=0.0.4")
    response = httpx.get(f"{url}/metrics", timeout=10,
                         headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")

    done = promtool("check", "metrics", stdin=text)
    assert done.returncode == 0, done.stdout + done.stderr
