"""`GET /metrics` rendering and its state: a fixed state renders to the documented series, label
values round-trip escaped, a state is read once per evaluation (never per scrape, a backfill's
instants at most once each and the latest always), and a failed read keeps the previous state."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from aggregator.metrics_state import (
    HealthState,
    KindHealth,
    MetricsState,
    Pace,
    PoolHealth,
    TargetHealth,
)
from aggregator.prometheus import registry_for
from aggregator.store.base import StoreError
from llmhealth_config.model import Config

AT = datetime(2026, 3, 1, 12, 0, 2, tzinfo=UTC)
CONFIG = Config.model_validate({"aggregator": {"interval": "2s", "slo": 0.99}})

STATE = HealthState(
    instant=AT, read_at=AT.timestamp() + 0.5, newest_point=AT.timestamp() - 1.5,
    targets=(
        TargetHealth("openai-gpt-4o-mini", "degraded", pool="chat", requests=120, errors=9,
                     error_rate=0.075, latency={"50": 0.4, "90": 0.9, "99": 6.5},
                     ttft={"50": 0.2, "90": None, "99": None},
                     kinds=(KindHealth("completion", "half_open", 60, 9, 0.15),
                            KindHealth("stream", "closed", 60, 0, 0.0)),
                     availability={"1h": 0.98, "24h": 0.99, "7d": None, "30d": None},
                     reachability={"1h": 0.97},
                     burn_rates={"5m": 2.0, "30m": 1.5, "1h": 3.0, "6h": None, "3d": None},
                     ratelimits=(("tokens", 500.0, 10000.0), ("requests", 3.0, None))),
        TargetHealth("laptop/llama3.2:3b", "unknown"),
    ),
    pools=(PoolHealth("chat", "degraded"),),
)


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(name, labels) -> value of every sample in a scrape."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict, name: str, **labels: str) -> float | None:
    return scrape.get((name, frozenset(labels.items())))


class RowsStore:
    """A store answering metrics_state.sql with fixed rows, counting the queries; `gate`, when
    set, holds each query until it is released."""

    def __init__(self, rows: list[dict] | Exception) -> None:
        self.result, self.queries, self.instants = rows, 0, []
        self.gate: threading.Event | None = None

    def rows(self, sql: str, params: dict) -> list[dict]:
        if self.gate is not None:
            self.gate.wait(5)
        self.queries += 1
        self.instants.append(params["at"])
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class FakeWorker:
    def __init__(self) -> None:
        self.listeners, self.last_duration_ms, self.behind, self.last_error = [], 180.0, False, None

    def add_listener(self, listener) -> None:
        self.listeners.append(listener)

    def evaluate(self, instant: datetime) -> None:
        for listener in self.listeners:
            listener(instant)


def render(metrics: MetricsState) -> dict:
    return samples(generate_latest(registry_for(metrics)).decode())


def test_a_fixed_state_renders_every_documented_series() -> None:
    metrics = MetricsState(RowsStore([]), CONFIG)
    metrics.state = STATE
    metrics.pace = Pace(AT, 0.18, behind=True)
    scrape = render(metrics)
    t = "openai-gpt-4o-mini"
    assert {s: value(scrape, "llmhealth_target_status", target=t, pool="chat", status=s)
            for s in ("healthy", "degraded", "unhealthy", "rate_limited", "unknown")} == {
        "healthy": 0, "degraded": 1, "unhealthy": 0, "rate_limited": 0, "unknown": 0}
    assert value(scrape, "llmhealth_target_status", target="laptop/llama3.2:3b", pool="",
                 status="unknown") == 1
    assert value(scrape, "llmhealth_target_requests", target=t) == 120
    assert value(scrape, "llmhealth_target_errors", target=t) == 9
    assert value(scrape, "llmhealth_target_error_ratio", target=t) == 0.075
    assert value(scrape, "llmhealth_kind_requests", target=t, kind="completion") == 60
    assert value(scrape, "llmhealth_kind_errors", target=t, kind="completion") == 9
    assert value(scrape, "llmhealth_kind_error_ratio", target=t, kind="completion") == 0.15
    assert value(scrape, "llmhealth_kind_error_ratio", target=t, kind="stream") == 0.0
    assert value(scrape, "llmhealth_target_latency_seconds", target=t, percentile="99") == 6.5
    assert value(scrape, "llmhealth_target_ttft_seconds", target=t, percentile="50") == 0.2
    assert value(scrape, "llmhealth_target_ttft_seconds", target=t, percentile="99") is None
    assert {(k, s): value(scrape, "llmhealth_breaker_state", target=t, kind=k, state=s)
            for k in ("completion", "stream") for s in ("closed", "half_open", "open")} == {
        ("completion", "closed"): 0, ("completion", "half_open"): 1, ("completion", "open"): 0,
        ("stream", "closed"): 1, ("stream", "half_open"): 0, ("stream", "open"): 0}
    assert value(scrape, "llmhealth_target_availability_ratio", target=t, window="24h") == 0.99
    assert value(scrape, "llmhealth_target_availability_ratio", target=t, window="7d") is None
    assert value(scrape, "llmhealth_target_reachability_ratio", target=t, window="1h") == 0.97
    assert value(scrape, "llmhealth_target_slo_burn_rate", target=t, window="1h") == 3.0
    assert value(scrape, "llmhealth_ratelimit_remaining", target=t, resource="tokens") == 500
    assert value(scrape, "llmhealth_ratelimit_limit", target=t, resource="tokens") == 10000
    assert value(scrape, "llmhealth_ratelimit_remaining", target=t, resource="requests") == 3
    assert value(scrape, "llmhealth_ratelimit_limit", target=t, resource="requests") is None
    assert value(scrape, "llmhealth_pool_status", pool="chat", status="degraded") == 1
    assert value(scrape, "llmhealth_storage_lag_seconds") == 2.0
    assert value(scrape, "llmhealth_storage_newest_point_timestamp_seconds") == AT.timestamp() - 1.5
    assert value(scrape, "llmhealth_metrics_state_timestamp_seconds") == AT.timestamp()
    assert value(scrape, "llmhealth_aggregator_last_evaluation_timestamp_seconds") == AT.timestamp()
    assert value(scrape, "llmhealth_aggregator_cycle_duration_seconds") == 0.18
    assert value(scrape, "llmhealth_aggregator_behind") == 1
    assert value(scrape, "llmhealth_aggregator_interval_seconds") == 2
    assert value(scrape, "llmhealth_slo_objective_ratio") == 0.99
    assert value(scrape, "llmhealth_metrics_refresh_failures_total") == 0
    # the one-hot families have exactly one 1 per target (or kind)
    statuses = [v for (n, labels), v in scrape.items() if n == "llmhealth_target_status"
                and ("target", t) in labels]
    assert sorted(statuses) == [0, 0, 0, 0, 1]


def test_before_the_first_evaluation_only_the_settings_have_values() -> None:
    metrics = MetricsState(RowsStore([]), CONFIG)
    metrics.attach(FakeWorker())
    scrape = render(metrics)
    llmhealth = {n: v for (n, _), v in scrape.items() if n.startswith("llmhealth_")}
    assert llmhealth == {"llmhealth_aggregator_interval_seconds": 2.0,
                         "llmhealth_slo_objective_ratio": 0.99,
                         "llmhealth_aggregator_evaluation_failing": 0.0,
                         "llmhealth_metrics_refresh_failures_total": 0.0}


@pytest.mark.parametrize("name", [
    pytest.param('quo"te', id="quote"), pytest.param("back\\slash", id="backslash"),
    pytest.param("new\nline", id="newline"), pytest.param("ünïcode/모델", id="unicode"),
])
def test_label_values_are_escaped_and_round_trip(name: str) -> None:
    metrics = MetricsState(RowsStore([]), CONFIG)
    metrics.state = HealthState(AT, AT.timestamp(), targets=(TargetHealth(name, "healthy", pool=name),))
    scrape = render(metrics)
    assert value(scrape, "llmhealth_target_status", target=name, pool=name, status="healthy") == 1


ROW = {"target": "a", "kind": "target", "status": "unhealthy", "pool": "", "requests": "12",
       "errors": "12", "error_rate": 1, "latency_p50_s": None, "latency_p90_s": None,
       "latency_p99_s": None, "ttft_p50_s": None, "ttft_p90_s": None, "ttft_p99_s": None,
       "kind_names": ["completion"], "kind_breakers": ["open"], "kind_requests": ["12"],
       "kind_errors": ["12"], "kind_error_rates": [1.0], "availability_1h": 0.5,
       "burn_rate_5m": 100.0, "ratelimit_resources": ["tokens"], "ratelimit_remaining": [1.0],
       "ratelimit_limit": [None], "newest_point": AT.timestamp() - 3}


def _wait(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_one_query_per_evaluation_none_per_scrape() -> None:
    store, worker = RowsStore([ROW]), FakeWorker()
    metrics = MetricsState(store, CONFIG, clock=lambda: AT.timestamp())
    metrics.attach(worker)
    metrics.start()
    try:
        worker.evaluate(AT)
        _wait(lambda: metrics.state is not None)
        scrapes = [render(metrics) for _ in range(5)]
    finally:
        metrics.stop()
    assert store.queries == 1
    scrape = scrapes[-1]
    assert value(scrape, "llmhealth_target_status", target="a", pool="", status="unhealthy") == 1
    assert value(scrape, "llmhealth_breaker_state", target="a", kind="completion", state="open") == 1
    assert value(scrape, "llmhealth_kind_error_ratio", target="a", kind="completion") == 1.0
    assert value(scrape, "llmhealth_target_requests", target="a") == 12  # a quoted UInt64
    assert value(scrape, "llmhealth_target_availability_ratio", target="a", window="1h") == 0.5
    assert value(scrape, "llmhealth_target_availability_ratio", target="a", window="24h") is None
    assert value(scrape, "llmhealth_storage_lag_seconds") == 3.0
    assert value(scrape, "llmhealth_aggregator_cycle_duration_seconds") == 0.18


def test_a_backfill_is_read_once_at_its_latest_instant() -> None:
    store, worker = RowsStore([ROW]), FakeWorker()
    store.gate = threading.Event()
    metrics = MetricsState(store, CONFIG)
    metrics.attach(worker)
    metrics.start()
    instants = [AT + timedelta(seconds=2 * k) for k in range(50)]
    try:
        started = time.perf_counter()
        for instant in instants:  # the listener never waits for the store
            worker.evaluate(instant)
        assert time.perf_counter() - started < 0.5
        store.gate.set()
        _wait(lambda: metrics.state is not None and metrics.state.instant == instants[-1])
    finally:
        metrics.stop()
    assert store.queries <= 2  # the first instant (already being read) and the latest
    assert store.instants[-1] == instants[-1]
    assert metrics.pace.instant == instants[-1]


def test_a_failed_read_keeps_the_previous_state_and_counts() -> None:
    store, worker = RowsStore([ROW]), FakeWorker()
    metrics = MetricsState(store, CONFIG)
    metrics.attach(worker)
    metrics.start()
    try:
        worker.evaluate(AT)
        _wait(lambda: metrics.state is not None)
        store.result = StoreError("Code: 210. Connection refused")
        worker.last_error = "Code: 210. Connection refused"
        worker.evaluate(AT + timedelta(seconds=2))
        _wait(lambda: metrics.refresh_failures == 1)
    finally:
        metrics.stop()
    scrape = render(metrics)
    assert value(scrape, "llmhealth_metrics_state_timestamp_seconds") == AT.timestamp()
    assert value(scrape, "llmhealth_target_status", target="a", pool="", status="unhealthy") == 1
    assert value(scrape, "llmhealth_metrics_refresh_failures_total") == 1
    assert value(scrape, "llmhealth_aggregator_evaluation_failing") == 1
    assert value(scrape, "llmhealth_aggregator_last_evaluation_timestamp_seconds") == (
        AT + timedelta(seconds=2)).timestamp()


def test_stop_ends_the_refresh_thread() -> None:
    metrics = MetricsState(RowsStore([]), CONFIG)
    metrics.start()
    metrics.stop()
    assert metrics._thread is not None and not metrics._thread.is_alive()
