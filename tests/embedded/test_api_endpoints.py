"""The health API end to end: an embedded store with a minute of synthetic probe results
(a healthy target that streams, one failing with 5xx, one rate limited with a retry-after), the
evaluator's rows, a real worker whose evaluation refreshes the API's state, and the app served
by uvicorn on an ephemeral port and read over HTTP. Every read answers from the evaluated state
without a query; only a history reads the store (snapshots for 1h, rollups beyond)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Self

import httpx
import pytest

from aggregator.api.app import create_app
from aggregator.api.server import ApiServer
from aggregator.api_state import ApiState
from aggregator.evaluate import Evaluator
from aggregator.metrics_state import MetricsState
from aggregator.store.embedded import EmbeddedStore
from aggregator.worker import Worker
from llmhealth_config.model import Config
from llmhealth_config.product import PROBER_SERVICE_NAME
from tests.conftest import migrated_store
from tests.embedded.synthetic import instant, latency_point, point, points, probe_points

pytestmark = pytest.mark.embedded

CONFIG = Config.model_validate({
    "targets": [
        {"name": "good", "base_url": "http://127.0.0.1:9/v1", "model": "m1", "pool": "chat",
         "probes": ["completion", "stream"]},
        {"name": "down", "base_url": "http://127.0.0.1:9/v1", "model": "m1", "pool": "chat",
         "probes": ["completion"]},
        {"name": "limited", "base_url": "http://127.0.0.1:9/v1", "model": "m2", "pool": "chat",
         "probes": ["completion"]},
    ],
    "aggregator": {"interval": "2s"}})
INSERT_GAUGE = """
INSERT INTO otel_metrics_gauge (ServiceName, MetricName, Attributes, TimeUnix, Value)
VALUES ({service:String}, {metric:String}, {attrs:Map(String, String)}, {at:DateTime64(3, 'UTC')},
        {value:Float64})
"""
LAST = 60  # the instant the worker evaluates: a minute's first, so it writes the SLO rows
NOW = instant(LAST + 1)


def _gauge(store: EmbeddedStore, metric: str, attrs: dict[str, str], value: float) -> None:
    store.execute(INSERT_GAUGE, {"service": PROBER_SERVICE_NAME, "metric": metric,
                                 "at": instant(LAST - 3), "attrs": attrs, "value": value})


def _fill(store: EmbeddedStore) -> None:
    """A minute of probes every 2 s: `good` answers in 0.5 s and streams (TTFT 0.2 s, 40
    tokens/s, to the end), `down` fails with http_5xx, `limited` with http_429 (the provider asks
    to retry after 30 s); `good` has 500 of 10,000 tokens left. Instants up to LAST - 2 are
    evaluated here."""
    rows = []
    for s in range(1, LAST, 2):
        at = instant(s)
        rows += probe_points("good", at, "ok") + probe_points("good", at, "ok", kind="stream")
        rows += probe_points("down", at, "http_5xx") + probe_points("limited", at, "http_429")
        rows += [latency_point("good", at, {0.5: 1}),
                 latency_point("good", at, {0.8: 1}, kind="stream"),
                 latency_point("good", at, {0.2: 1}, signal="ttft", kind="stream"),
                 latency_point("good", at, {40.0: 1}, signal="tokens_per_second", kind="stream"),
                 point(at, target="good", signal="stream_end", kind="stream", outcome="clean")]
    points(store, rows)
    resource = {"llmhealth.target": "good", "llmhealth.ratelimit.resource": "tokens"}
    _gauge(store, "llmhealth.ratelimit.remaining", resource, 500.0)
    _gauge(store, "llmhealth.ratelimit.limit", resource, 10000.0)
    _gauge(store, "llmhealth.ratelimit.retry_after", {"llmhealth.target": "limited"}, 30.0)
    evaluator = Evaluator(store, CONFIG)
    for s in range(LAST - 10, LAST, 2):
        evaluator.evaluate(instant(s))


@pytest.fixture(scope="module")
def store(engine_dir: Path) -> Iterator[EmbeddedStore]:
    """One migrated store for the module: filled and evaluated once, read by every test."""
    with migrated_store(engine_dir) as db:
        yield db


@pytest.fixture(scope="module")
def served(store: EmbeddedStore) -> Iterator[tuple[ApiState, httpx.Client]]:
    _fill(store)
    worker = Worker(store, CONFIG)
    metrics = MetricsState(store, CONFIG)
    health = ApiState(store, CONFIG, clock=NOW.timestamp)
    metrics.attach(worker)
    health.attach(worker)
    health.start()
    api = ApiServer(create_app(metrics=metrics, health=health), "127.0.0.1", 0)
    api.start()
    try:
        worker.run_once(now=instant(LAST).timestamp() + 0.3)
        deadline = time.monotonic() + 20
        while health.view.instant != instant(LAST):
            assert time.monotonic() < deadline, "the state was not refreshed"
            time.sleep(0.02)
        with httpx.Client(base_url=api.url, timeout=30) as client:
            yield health, client
    finally:
        api.stop()
        health.stop()


class Counted:
    """Counts the queries `store` runs while in the block."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store, self.queries = store, []

    def __enter__(self) -> Self:
        self.rows, self.execute = self.store.rows, self.store.execute
        self.store.rows = lambda *a, **k: self.queries.append(a[0]) or self.rows(*a, **k)
        self.store.execute = lambda *a, **k: self.queries.append(a[0]) or self.execute(*a, **k)
        return self

    def __exit__(self, *_: object) -> None:
        self.store.rows, self.store.execute = self.rows, self.execute


def test_every_read_answers_from_the_evaluated_state(served: tuple[ApiState, httpx.Client],
                                                     store: EmbeddedStore) -> None:
    _, client = served
    with Counted(store) as counted:
        summary = client.get("/api/health/summary").json()
        detailed = client.get("/api/health/detailed").json()
        one = client.get("/api/health/targets/good").json()
        pool = client.get("/api/health/targets/chat").json()
        route = client.get("/api/health/route", params={"pool": "chat"}).json()
        fail_open = client.get("/api/health/route", params={"model": "m2"}).json()
        badge = client.get("/api/badge/good.svg")
        errors = [client.get(path, params=params) for path, params in (
            ("/api/health/targets/nope", {}), ("/api/health/targets/good/history", {"range": "2d"}),
            ("/api/health/route", {}), ("/api/health/route", {"pool": "nope"}),
            ("/api/badge/nope.svg", {}))]
    assert counted.queries == []

    assert summary["freshness"] == {"evaluated_at": instant(LAST).isoformat().replace("+00:00", "Z"),
                                    "age_s": 1.0, "stale": False, "stale_after_s": 6.0}
    assert (summary["overall"], summary["targets"], summary["pools"]) == ("degraded", 3, 1)
    assert summary["counts"] == {"healthy": 1, "degraded": 0, "unhealthy": 1, "rate_limited": 1,
                                 "unknown": 0}
    assert [w["target"] for w in summary["worst"]] == ["down", "limited"]

    targets = {t["target"]: t for t in detailed["targets"]}
    good, down, limited = targets["good"], targets["down"], targets["limited"]
    assert (good["status"], good["provider"], good["model"], good["pool"]) == (
        "healthy", "openai", "m1", "chat")
    assert [(k["kind"], k["verdict"], k["breaker"]["state"]) for k in good["kinds"]] == [
        ("completion", "healthy", "closed"), ("stream", "healthy", "closed")]
    assert good["latency_s"]["p90"] == pytest.approx(0.5, rel=0.02)
    assert good["ttft_s"]["p90"] == pytest.approx(0.2, rel=0.02)
    assert good["tokens_per_second_p50"] == pytest.approx(40, rel=0.02)
    assert good["stream_completion_rate"] == 1.0
    assert good["availability"]["by_time"]["1h"] == 1.0
    assert good["rate_limits"] == [{"resource": "tokens", "remaining": 500.0, "limit": 10000.0,
                                    "headroom": 0.05, "resets_at": None}]
    assert good["last_success_at"] is not None and good["last_failure_at"] is None
    assert any(r["name"] == "answers_requests" for r in good["rules"])
    assert {r["name"] for r in good["kinds"][0]["rules"]} >= {"error_rate", "latency_p99_s"}
    assert (down["status"], down["last_failure_type"], down["errors_by_type"]) == (
        "unhealthy", "http_5xx", {"http_5xx": 30.0})
    breaker = down["kinds"][0]["breaker"]
    assert breaker["state"] == "open" and breaker["cooldown_ends_at"] is not None
    assert down["availability"]["by_time"]["1h"] == 0.0
    assert limited["status"] == "rate_limited"
    assert limited["retry_after"]["seconds"] == 30.0
    assert limited["retry_after"]["until"] == (instant(LAST - 3) + timedelta(seconds=30)).isoformat(
    ).replace("+00:00", "Z")
    assert detailed["pools"][0]["status"] == "degraded"
    assert detailed["pools"][0]["members"] == ["good", "down", "limited"]

    assert one["target"] == good and pool["pool"] == detailed["pools"][0]
    assert [m["target"] for m in route["members"]] == ["good"] and not route["fail_open"]
    assert [(m["target"], m["why_not"]) for m in route["excluded"]] == [
        ("limited", "status rate_limited"), ("down", "status unhealthy")]
    assert fail_open["fail_open"] is True
    assert [(m["target"], m["usable"]) for m in fail_open["members"]] == [("limited", False)]
    assert badge.status_code == 200 and 'aria-label="good: healthy · 100%"' in badge.text

    assert [e.status_code for e in errors] == [404, 422, 422, 404, 404]
    assert errors[0].json()["valid"] == ["chat", "down", "good", "limited"]
    assert errors[1].json()["detail"][0]["msg"] == "Input should be '1h', '6h', '24h', '7d' or '30d'"
    assert errors[3].json()["valid"] == ["chat"]


@pytest.mark.parametrize(("range_", "source", "points"), [
    ("1h", "snapshots", 2), ("6h", "minutes", 1), ("24h", "minutes", 1), ("7d", "hours", 1),
    ("30d", "hours", 1)])
def test_a_history_reads_the_store(served: tuple[ApiState, httpx.Client], store: EmbeddedStore,
                                   range_: str, source: str, points: int) -> None:
    _, client = served
    with Counted(store) as counted:
        down = client.get("/api/health/targets/down/history", params={"range": range_}).json()
        pool = client.get("/api/health/targets/chat/history", params={"range": range_}).json()
    assert len(counted.queries) == 4  # the points and the transitions, of each
    assert (down["source"], len(down["points"])) == (source, points)
    assert all(p["status"] == "unhealthy" for p in down["points"])
    assert down["points"][-1]["errors_by_type"] == {"http_5xx": 30.0}
    assert [(p["status"], p["until"]) for p in down["periods"]] == [("unhealthy", None)]
    kinds = [(e["kind"], e["to_state"]) for e in down["events"]]
    assert kinds[0] == ("status", "unhealthy") and ("breaker", "open") in kinds
    assert pool["kind"] == "pool" and pool["points"][-1]["status"] == "degraded"
    if source != "snapshots":
        assert (down["points"][0]["availability"], pool["points"][0]["availability"]) == (0.0, 1.0)
        assert pool["points"][0]["requests"] == 120.0  # the members' probes together
    if source == "minutes":
        assert pool["points"][0]["latency_s"]["p90"] == pytest.approx(0.5, rel=0.02)


def test_the_live_stream_replays_the_stored_transitions_in_order(
        served: tuple[ApiState, httpx.Client]) -> None:
    """health_events through stream_events.sql on the real engine: a client resuming from
    before the first transition gets them all, oldest first, each id greater than the last,
    then the notice of the instant the state is at."""
    _, client = served
    got: list[tuple[str, str | None, dict]] = []
    with client.stream("GET", "/api/health/stream", headers={"Last-Event-ID": "0-0"}) as response:
        event, event_id = "", None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                got.append((event, event_id, json.loads(line[6:])))
                event_id = None
                if event == "evaluated":
                    break
    transitions = got[:-1]
    ids = [tuple(map(int, i.split("-"))) for _, i, _ in transitions if i]
    assert len(ids) == len(transitions) and ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ("breaker", "down", "completion", "open") in {
        (e, d["target"], d["probe_kind"], d["state"]) for e, _, d in transitions if e == "breaker"}
    statuses = {(d["target"], d["target_kind"], d["status"]) for e, _, d in transitions
                if e == "status"}
    assert {("down", "target", "unhealthy"), ("limited", "target", "rate_limited"),
            ("chat", "pool", "degraded")} <= statuses
    assert got[-1][2]["evaluated_at"] == instant(LAST).isoformat().replace("+00:00", "Z")
