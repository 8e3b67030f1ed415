"""Status rules of evaluate_snapshots.sql, table-driven on synthetic probe results."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from aggregator.evaluate import evaluate
from llmhealth.config.model import Config
from tests.embedded import synthetic

pytestmark = pytest.mark.embedded
AT = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
FAST = np.full(50, 0.1)
SLOW = np.concatenate([np.full(90, 0.5), np.full(10, 7.0)])


def _config(**thresholds) -> Config:
    return Config.model_validate({
        "targets": [{"name": "t", "base_url": "http://x/v1", "model": "m", "thresholds": thresholds}],
        "thresholds": {"degraded_error_rate": 0.05, "unhealthy_error_rate": 0.5,
                       "latency_p99": 5.0, "ttft_p99": 2.0},
        "aggregator": {"window": 300}})


def _write(store, outcomes=None, latency=None, ttft=None, stream_latency=None, failed_latency=None,
           age_s: int = 10) -> None:
    at = AT.replace(second=0) if age_s == 0 else datetime.fromtimestamp(AT.timestamp() - age_s, UTC)
    if outcomes:
        synthetic.outcomes(store, "t", at, outcomes)
    if latency is not None:
        synthetic.histogram(store, "t", at, latency)
    if ttft is not None:
        synthetic.histogram(store, "t", at, ttft, metric="gen_ai.client.operation.time_to_first_chunk",
                            kind="stream")
    if stream_latency is not None:
        synthetic.histogram(store, "t", at, stream_latency, kind="stream")
    if failed_latency is not None:
        synthetic.histogram(store, "t", at, failed_latency, error_type="timeout")


CASES = [
    pytest.param({}, {}, "unknown", "no probe results in the last 5m", id="no-data-unknown"),
    pytest.param({"outcomes": {"ok": 10}, "age_s": 301}, {}, "unknown",
                 "no probe results in the last 5m", id="data-older-than-window-unknown"),
    pytest.param({"outcomes": {"ok": 40, "http_5xx": 50, "timeout": 10}}, {}, "unhealthy",
                 "error rate 60.0% >= 50.0% over 5m (60 of 100 failed: http_5xx x50, timeout x10)",
                 id="error-rate-unhealthy"),
    pytest.param({"outcomes": {"ok": 45, "connect": 5}, "latency": FAST}, {}, "degraded",
                 "error rate 10.0% >= 5.0% over 5m (5 of 50 failed: connect x5)",
                 id="error-rate-degraded"),
    pytest.param({"outcomes": {"ok": 95, "http_429": 5}}, {}, "degraded",
                 "error rate 5.0% >= 5.0% over 5m (5 of 100 failed: http_429 x5)",
                 id="error-rate-at-threshold-degraded"),
    pytest.param({"outcomes": {"ok": 100}, "latency": SLOW}, {}, "degraded",
                 "latency p99 7.00 s > 5.00 s over 5m", id="latency-p99-degraded"),
    pytest.param({"outcomes": {"ok": 100}, "latency": SLOW}, {"latency_p99": 10}, "healthy",
                 "error rate 0.0% over 5m (100 probes), latency p99 7.00 s",
                 id="per-target-threshold-override"),
    pytest.param({"outcomes": {"ok": 100}, "latency": FAST, "ttft": np.full(20, 2.5)}, {}, "degraded",
                 "TTFT p99 2.50 s > 2.00 s over 5m", id="ttft-p99-degraded"),
    pytest.param({"outcomes": {"ok": 100}, "latency": FAST, "stream_latency": np.full(20, 9.0)}, {},
                 "healthy", "error rate 0.0% over 5m (100 probes), latency p99 0.10 s",
                 id="stream-durations-not-latency"),
    pytest.param({"outcomes": {"ok": 98, "timeout": 2}, "latency": FAST,
                  "failed_latency": np.full(2, 10.0)}, {}, "healthy",
                 "error rate 2.0% over 5m (100 probes), latency p99 0.10 s",
                 id="failed-probe-durations-not-latency"),
    pytest.param({"outcomes": {"ok": 100}, "latency": FAST, "ttft": np.full(20, 0.3)}, {}, "healthy",
                 "error rate 0.0% over 5m (100 probes), latency p99 0.10 s, TTFT p99 0.30 s",
                 id="healthy"),
]


@pytest.mark.parametrize(("data", "thresholds", "status", "reason"), CASES)
def test_status(store, data: dict, thresholds: dict, status: str, reason: str) -> None:
    _write(store, **data)
    evaluate(store, _config(**thresholds), AT)
    row = store.rows("SELECT status, reason FROM health_snapshots FINAL")[0]
    assert (row["status"], row["reason"]) == (status, reason)


def test_reevaluation_of_same_instant_leaves_one_row_and_one_event(store) -> None:
    _write(store, outcomes={"ok": 10}, latency=FAST)
    for _ in range(3):
        evaluate(store, _config(), AT)
    assert store.rows("SELECT count() AS n FROM health_snapshots FINAL")[0]["n"] == 1
    events = store.rows("SELECT from_status, to_status FROM health_events FINAL")
    assert events == [{"from_status": "new", "to_status": "healthy"}]


def test_events_only_on_change(store) -> None:
    config = _config()
    _write(store, outcomes={"ok": 10}, latency=FAST)
    evaluate(store, config, AT)
    evaluate(store, config, AT.replace(second=5))  # same data, same status: no event
    synthetic.outcomes(store, "t", AT.replace(second=7), {"http_5xx": 30})
    evaluate(store, config, AT.replace(second=10))
    events = store.rows("SELECT at, from_status, to_status, reason FROM health_events FINAL ORDER BY at")
    assert [(e["from_status"], e["to_status"]) for e in events] == [("new", "healthy"),
                                                                   ("healthy", "unhealthy")]
    assert events[1]["reason"].startswith("error rate 75.0% >= 50.0%")


def test_discovered_targets_are_evaluated_with_their_endpoints_thresholds(store) -> None:
    config = Config.model_validate({
        "targets": [{"name": "local", "protocol": "ollama", "base_url": "http://127.0.0.1:11434",
                     "discover": True, "thresholds": {"degraded_error_rate": 0.2}}],
        "thresholds": {"degraded_error_rate": 0.05}})
    at = datetime.fromtimestamp(AT.timestamp() - 10, UTC)
    synthetic.outcomes(store, "local", at, {"ok": 10}, kind="models")
    synthetic.outcomes(store, "local/llama3.2:1b", at, {"ok": 90, "timeout": 10})
    synthetic.outcomes(store, "elsewhere/llama3.2:1b", at, {"ok": 10})
    evaluate(store, config, AT)
    rows = store.rows("SELECT target, status FROM health_snapshots FINAL ORDER BY target")
    # 10% errors: healthy under the endpoint's 20% limit (the global 5% would say degraded).
    assert rows == [{"target": "local", "status": "healthy"},
                    {"target": "local/llama3.2:1b", "status": "healthy"}]
