"""The `context` probe kind in the health model (evaluate_windows.sql, evaluate_long_windows.sql,
evaluate_kinds.sql, evaluate_snapshots.sql): a kind like the others for verdicts (its own streak
and breaker; a completion's success never clears it), judged stale on its own interval, not on
latency (its duration is two turns), left out of the answers counted together; and a context
preservation rate (kept / answered) in the windows and the snapshot. Steps as in
test_health_kinds (offset s from T0, probes stored 1 s before the instant)."""

from __future__ import annotations

import pytest

from aggregator.evaluate import evaluate
from llmhealth_config.model import Config
from tests.embedded import synthetic
from tests.embedded.synthetic import instant, probe_points, run_steps

pytestmark = pytest.mark.embedded
RATES = """
SELECT window_seconds, probe_kind, context_preservation_rate FROM health_windows FINAL
WHERE target = 'a' AND evaluated_at = {at:DateTime64(3, 'UTC')} ORDER BY window_seconds, probe_kind
"""


def config() -> Config:
    """Target `a`: completions every 5 s (the default interval), a context probe every 300 s
    (prober.context_interval)."""
    return Config.model_validate({"targets": [
        {"name": "a", "base_url": "http://x/v1", "model": "m", "probes": ["completion", "context"]}]})


def kinds(**outcomes):
    """A step's probes: outcomes per kind, e.g. kinds(completion="ok", context="context_lost")."""
    def rows(time):
        return [row for kind, probes in outcomes.items()
                for row in probe_points("a", time, probes, kind=kind)]
    return rows


def test_context_preservation_rate_in_windows_and_snapshot(store) -> None:
    synthetic.points(store, [
        *probe_points("a", instant(-200), {"ok": 2, "context_lost": 1}, kind="context"),
        *probe_points("a", instant(-30), {"ok": 1, "timeout": 1}, kind="context"),  # not answered
        *probe_points("a", instant(-30), {"ok": 4, "http_5xx": 1})])
    evaluate(store, config(), instant(0))
    rates = {(r["window_seconds"], r["probe_kind"]): r["context_preservation_rate"]
             for r in store.rows(RATES, {"at": instant(0)})}
    # T0 is a minute's first instant: the 1 h window (the minutes before T0's) is written too
    assert rates == {(60, ""): 1.0, (60, "completion"): None, (60, "context"): 1.0,
                     (300, ""): 0.75, (300, "completion"): None, (300, "context"): 0.75,
                     (3600, ""): 0.75, (3600, "completion"): None, (3600, "context"): 0.75}
    snapshot = store.rows("SELECT context_preservation_rate FROM health_snapshots FINAL "
                          "WHERE target = 'a'")
    assert snapshot == [{"context_preservation_rate": 0.75}]


def test_long_window_rate_from_the_minute_rollup(store) -> None:
    synthetic.points(store, [
        *probe_points("a", instant(-1800), {"ok": 7, "context_lost": 3}, kind="context"),
        *probe_points("a", instant(-1800), {"ok": 5})])
    evaluate(store, config(), instant(0))  # T0 is a minute's first instant: the 1 h window too
    rates = {(r["window_seconds"], r["probe_kind"]): r["context_preservation_rate"]
             for r in store.rows(RATES, {"at": instant(0)})}
    assert (rates[(3600, "context")], rates[(3600, "")], rates[(3600, "completion")]) == (0.7, 0.7, None)


def test_lost_context_opens_its_own_breaker_while_completions_work(store) -> None:
    actual = run_steps(store, config(), [
        (0, kinds(completion={"ok": 10}, context="ok"), ("healthy", "closed")),
        (2, kinds(completion="ok", context=["context_lost"] * 3), ("unhealthy", "open", 3, 0, (
            "context: circuit breaker open: 3 consecutive failures (last: context_lost); "
            "completion: healthy"))),
        (4, kinds(completion="ok"), ("unhealthy", "open")),
    ])
    assert actual[1:] == [("unhealthy", "open", 3, 0, (
        "context: circuit breaker open: 3 consecutive failures (last: context_lost); "
        "completion: healthy")), ("unhealthy", "open")]
    deciding = store.rows("SELECT deciding_kind FROM health_snapshots FINAL WHERE target = 'a' "
                          "ORDER BY evaluated_at")
    assert [r["deciding_kind"] for r in deciding] == ["completion", "context", "context"]


def test_context_is_stale_on_its_own_interval_and_not_judged_on_latency(store) -> None:
    """60 s after its only probe, a context kind probed every 300 s is still current (a kind
    probed every 5 s would be stale after 15 s); its 9 s duration (two turns) breaks no latency
    rule."""
    run_steps(store, config(), [
        (0, (kinds(completion="ok", context="ok"),
             lambda t: [synthetic.latency_point("a", t, {9.0: 1}, kind="context")]), ()),
        *[(t, kinds(completion="ok"), ()) for t in range(10, 70, 10)],
    ])
    rows = store.rows("SELECT verdict, reason FROM health_kinds FINAL WHERE target = 'a' "
                      "AND probe_kind = 'context' AND evaluated_at = {at:DateTime64(3, 'UTC')}",
                      {"at": instant(60)})
    assert rows == [{"verdict": "healthy",
                     "reason": "error rate 0.0% over 5m (1 probes), latency p99 9.01 s"}]
    stale = store.rows("SELECT rules FROM health_kinds FINAL WHERE target = 'a' "
                       "AND probe_kind = 'context' AND evaluated_at = {at:DateTime64(3, 'UTC')}",
                       {"at": instant(60)})[0]["rules"]
    assert {"name": "stale_s", "value": 61.0, "limit": 900.0, "held": False} in stale
