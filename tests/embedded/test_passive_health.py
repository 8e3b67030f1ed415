"""Applications' requests (passive traffic) in the health model: cumulative and delta points,
matching to targets, the verdicts they give (probed and passive-only targets), the minute, hour
and day counts of health_passive, the 1 h window and the SLO's burn rates (evaluate_windows.sql,
evaluate_passive.sql, evaluate_passive_rollups.sql, evaluate_snapshots.sql, evaluate_slo.sql).
Rows go straight into health_passive_points; T0 = yesterday 12:00:00 UTC (synthetic.instant)."""

from __future__ import annotations

import pytest

from aggregator.evaluate import evaluate
from llmhealth_config.model import Config
from tests.embedded import synthetic
from tests.embedded.synthetic import app_insert, app_points, instant, probe_points, run_steps

pytestmark = pytest.mark.embedded

WINDOWS = """
SELECT window_seconds, passive_requests, passive_errors
FROM health_windows FINAL WHERE target = {t:String} AND evaluated_at = {at:DateTime64(3, 'UTC')}
  AND probe_kind = 'passive'
ORDER BY window_seconds
"""
SNAPSHOT = """
SELECT status, passive_requests, passive_errors, reason
FROM health_snapshots FINAL WHERE target = {t:String} AND evaluated_at = {at:DateTime64(3, 'UTC')}
"""


def config(*extra: dict, a: dict | None = None, **aggregator) -> Config:
    """Target `a` at server x:80 (with `a` merged in) and `b` at y:8000, both model m,
    completion probes, and the `extra` targets."""
    return Config.model_validate({"targets": [
        {"name": "a", "base_url": "http://x/v1", "model": "m", "probes": ["completion"], **(a or {})},
        {"name": "b", "base_url": "http://y:8000/v1", "model": "m", "probes": ["completion"]},
        *extra], "thresholds": {"min_requests": 10}, "aggregator": aggregator})


def windows(store, offset: float, target: str = "a") -> dict[int, tuple]:
    rows = store.rows(WINDOWS, {"at": instant(offset), "t": target})
    return {r.pop("window_seconds"): tuple(r.values()) for r in rows}


def snapshot(store, offset: float, target: str = "a") -> tuple:
    [row] = store.rows(SNAPSHOT, {"at": instant(offset), "t": target})
    return tuple(row.values())


def cumulative(series: int, offset: float, value: float, start: float, model: str = "m",
               error_type: str = "") -> dict:
    """A cumulative request count of `series` at T0 + offset, started at T0 + start."""
    return app_points(instant(offset), {error_type: value}, temporality=2, series=series,
                      start=instant(start), model=model)[0]


OLD = -5000  # a series start before the lookback (10 min before the 15 min of short windows)
SERIES_1 = [(-250, 1000), (-200, 1010), (-100, 1030), (-50, 1040), (-30, 1070)]

CUMULATIVE = [
    pytest.param([cumulative(1, t, v, OLD) for t, v in SERIES_1]
                 + [cumulative(2, t, v, OLD, error_type="500") for t, v in ((-250, 10), (-30, 14))],
                 {60: (44, 4), 300: (74, 4), 3600: (74, 4)}, id="increases-counted-first-point-of-old-series-0"),
    pytest.param([cumulative(1, t, v, OLD) for t, v in SERIES_1 if t != -100],
                 {60: (60, 0), 300: (70, 0), 3600: (70, 0)}, id="lost-export-next-point-carries-whole-increase"),
    pytest.param([cumulative(1, -250, 1000, OLD), cumulative(1, -200, 1010, OLD),
                  cumulative(1, -40, 5, -45), cumulative(1, -30, 8, -45)],
                 {60: (8, 0), 300: (18, 0), 3600: (18, 0)}, id="reset-by-new-start-counts-new-value"),
    pytest.param([cumulative(1, -250, 1000, OLD), cumulative(1, -200, 1010, OLD),
                  cumulative(1, -40, 5, OLD), cumulative(1, -30, 8, OLD)],
                 {60: (8, 0), 300: (18, 0), 3600: (18, 0)}, id="reset-by-lower-value-counts-new-value"),
    pytest.param([cumulative(2, -250, 7, -260), cumulative(2, -30, 9, -260)],
                 {60: (2, 0), 300: (9, 0), 3600: (9, 0)}, id="first-point-of-series-started-in-lookback-counts"),
    pytest.param([cumulative(1, t, v, OLD, model="other") for t, v in SERIES_1],
                 {}, id="other-model-not-counted"),
]


@pytest.mark.parametrize(("rows", "expected"), CUMULATIVE)
def test_cumulative_requests_in_every_window(store, rows: list[dict], expected: dict) -> None:
    app_insert(store, rows)
    evaluate(store, config(), instant(0))
    assert windows(store, 0) == expected


MATCHING = [
    pytest.param({"server_address": "x"}, {"a": 50}, id="server-and-default-port-of-a"),
    pytest.param({"server_address": "y", "server_port": "8000"}, {"b": 50}, id="server-of-b"),
    pytest.param({"server_address": "y", "server_port": "9999"}, {}, id="another-port-counts-nowhere"),
    pytest.param({"server_address": "z"}, {}, id="another-server-counts-nowhere"),
    pytest.param({"server_address": "", "provider": "anthropic"}, {}, id="another-provider"),
    # no server named: a and b both could be meant, so neither gets it
    pytest.param({"server_address": ""}, {}, id="no-server-two-candidates-none"),
    pytest.param({"server_address": "", "model": "solo"}, {"c": 50}, id="no-server-one-candidate"),
    pytest.param({"server_address": "", "model": "llama3.2"}, {"local/llama3.2:latest": 50},
                 id="discovered-model-by-name-latest-implied"),
    pytest.param({"server_address": "x", "service": "batch"}, {}, id="service-excluded"),
]


@pytest.mark.parametrize(("columns", "expected"), MATCHING)
def test_requests_count_for_the_one_target_that_matches(store, columns: dict,
                                                        expected: dict) -> None:
    cfg = config({"name": "c", "base_url": "http://z:1/v1", "model": "solo"},
                 {"name": "local", "protocol": "ollama", "base_url": "http://w:11434", "discover": True},
                 a={"passive": {"exclude_services": ["batch"]}})
    # the prober's discovery round found llama3.2:latest on `local`
    synthetic.points(store, [synthetic.point(instant(-20), target=t, kind="models")
                             for t in ("local", "local/llama3.2:latest")])
    app_insert(store, app_points(instant(-10), {"": 45, "InternalServerError": 5}, **columns))
    evaluate(store, cfg, instant(0))
    counted = store.rows("SELECT target, passive_requests FROM health_windows FINAL "
                         "WHERE probe_kind = 'passive' AND window_seconds = 60")
    assert {r["target"]: r["passive_requests"] for r in counted} == expected


def test_unmatched_traffic_is_listed_with_its_candidates(store) -> None:
    app_insert(store, [*app_points(instant(-30), {"": 7, "RateLimitError": 3}, server_address=""),
                       *app_points(instant(-30), {"": 4}, server_address="z", server_port="81",
                                   service="other-app"),
                       *app_points(instant(-30), {"": 5})])
    evaluate(store, config(), instant(60))  # a minute's first instant: health_passive is written
    rows = store.rows("SELECT unit, target, candidates, service, server, requests, ok, errors "
                      "FROM health_passive FINAL WHERE unit = 'minute' ORDER BY requests DESC")
    assert rows == [
        {"unit": "minute", "target": "", "candidates": ["a", "b"], "service": "app", "server": "",
         "requests": 10, "ok": 7, "errors": {"http_429": 3}},
        {"unit": "minute", "target": "a", "candidates": [], "service": "app", "server": "x",
         "requests": 5, "ok": 5, "errors": {}},
        {"unit": "minute", "target": "", "candidates": [], "service": "other-app",
         "server": "z:81", "requests": 4, "ok": 4, "errors": {}}]
    hours = store.rows("SELECT unit, target, requests FROM health_passive FINAL WHERE unit != 'minute' "
                       "ORDER BY unit, requests")
    assert hours == [{"unit": "day", "target": "", "requests": 4}, {"unit": "day", "target": "a", "requests": 5},
                     {"unit": "day", "target": "", "requests": 10},
                     {"unit": "hour", "target": "", "requests": 4}, {"unit": "hour", "target": "a", "requests": 5},
                     {"unit": "hour", "target": "", "requests": 10}]


VERDICTS = [
    pytest.param({"": 85, "InternalServerError": 15}, "degraded",
                 "app requests: error rate 15.0% (at least 9.3% at 95% confidence) over 5m (15 of 100 "
                 "failed); completion: healthy", id="app-errors-degrade-target-with-healthy-probes"),
    pytest.param({"": 20, "<class 'openai.InternalServerError'>": 60}, "unhealthy",
                 "app requests: error rate 75.0% (at least 64.5% at 95% confidence) over 5m (60 of 80 "
                 "failed); completion: healthy", id="app-errors-make-target-unhealthy"),
    # half of them failing is unhealthy, as for the probes, although the 95 % lower bound
    # (37.7 %) is below the threshold
    pytest.param({"": 30, "InternalServerError": 30}, "unhealthy",
                 "app requests: error rate 50.0% (at least 37.7% at 95% confidence) over 5m (30 of 60 "
                 "failed); completion: healthy", id="half-of-app-requests-failing-is-unhealthy"),
    pytest.param({"": 20, "RateLimitError": 55, "500": 5}, "rate_limited",
                 "app requests: error rate 75.0% (at least 64.5% at 95% confidence) over 5m (60 of 80 "
                 "failed, 55 rate limited); completion: healthy", id="app-429s-make-target-rate-limited"),
    pytest.param({"": 5, "InternalServerError": 4}, "healthy", None,
                 id="fewer-than-min-requests-judge-nothing"),
]


@pytest.mark.parametrize(("counts", "status", "reason"), VERDICTS)
def test_app_requests_judge_the_target(store, counts: dict, status: str, reason: str | None) -> None:
    synthetic.points(store, probe_points("a", instant(-10), {"ok": 20}))
    app_insert(store, app_points(instant(-10), counts))
    evaluate(store, config(), instant(0))
    actual = snapshot(store, 0)
    assert actual[0] == status
    assert reason is None or actual[3] == reason


def test_a_verdict_of_app_requests_holds_while_their_rate_stays_near_it(store) -> None:
    """Unhealthy at 75 %; still unhealthy at 43 % (>= 70 % of 50 %); degraded below 35 %
    (after the hysteresis of 2 evaluations)."""
    cfg = config()
    steps = [(0, {"": 20, "500": 60}, "unhealthy"), (2, {"": 60}, "unhealthy"),
             (4, {"": 60}, "unhealthy"), (6, {"": 60}, "degraded")]
    actual = []
    for offset, counts, _ in steps:
        synthetic.points(store, probe_points("a", instant(offset - 1), "ok"))
        app_insert(store, app_points(instant(offset - 1), counts))
        evaluate(store, cfg, instant(offset))
        actual.append(snapshot(store, offset)[0])
    assert actual == [s[2] for s in steps]


def test_app_errors_of_an_outage_do_not_hold_the_recovered_target_down(store) -> None:
    app_insert(store, app_points(instant(1), {"500": 30}))
    actual = run_steps(store, config(), [
        (0, {"ok": 10}, ("healthy", "closed")),
        (2, ["http_5xx"] * 3, ("unhealthy", "open")), (8, None, ("unhealthy", "half_open")),
        (10, "ok", ("unhealthy", "half_open")), (12, "ok", ("healthy", "closed")),
        (14, "ok", ("healthy", "closed", 0, 3))])
    assert actual == [("healthy", "closed"), ("unhealthy", "open"), ("unhealthy", "half_open"),
                      ("unhealthy", "half_open"), ("healthy", "closed"),
                      ("healthy", "closed", 0, 3)]


PASSIVE_ONLY = {"name": "p", "base_url": "http://p:8000/v1", "model": "mp", "probes": []}


def test_passive_only_target_follows_its_traffic(store) -> None:
    cfg = config(PASSIVE_ONLY, window=60, windows=[60])
    apps = {"model": "mp", "server_address": "p", "server_port": "8000"}
    steps = [(0, None), (2, {"": 15, "APIConnectionError": 45}), (62, {"": 60}), (124, None)]
    actual = []
    for offset, counts in steps:
        if counts:
            app_insert(store, app_points(instant(offset - 1), counts, **apps))
        evaluate(store, cfg, instant(offset))
        actual.append(snapshot(store, offset, "p")[:3])
    assert actual == [("unknown", 0, 0), ("unhealthy", 60, 45), ("healthy", 60, 0), ("unknown", 0, 0)]
    assert store.rows("SELECT count() AS n FROM health_kinds WHERE target = 'p'") == [{"n": 0}]
    reason = snapshot(store, 124, "p")[3]
    assert reason == "no application requests over 1m (a passive-only target is judged on them alone)"


def test_long_window_and_burn_rates_count_app_requests(store) -> None:
    synthetic.points(store, probe_points("a", instant(-50), {"ok": 10}))
    # the successful requests' durations: scale-5 bucket -32 holds 2^(-31.5/32) = 0.506 s
    app_insert(store, app_points(instant(-50), {"": 900, "InternalServerError": 100},
                                 buckets={"-32": 900}))
    evaluate(store, config(), instant(0))  # minute's first instant: health_passive, then the hour
    row = store.rows("SELECT passive_requests, passive_errors FROM health_windows FINAL "
                     "WHERE target = 'a' AND window_seconds = 3600 AND probe_kind = 'passive'")
    assert row == [{"passive_requests": 1000, "passive_errors": 100}]
    [slo] = store.rows("SELECT reachability_1h, burn_rate_1h, passive_requests_1h, passive_success_1h, "
                       "passive_requests_24h, passive_success_24h FROM health_slo FINAL "
                       "WHERE target = 'a'")
    # reachability is the probes' (all ok); the burn rate counts what users saw: 100 of 1010 failed
    assert slo["reachability_1h"] == 1.0
    assert slo["burn_rate_1h"] == pytest.approx((100 / 1010) / 0.005)
    # availability as users saw it, apart: 900 of their 1000 requests succeeded
    assert (slo["passive_requests_1h"], slo["passive_requests_24h"]) == (1000, 1000)
    assert slo["passive_success_1h"] == slo["passive_success_24h"] == pytest.approx(0.9)
    [snap] = store.rows("SELECT passive_latency_p50_s, latency_p50_s FROM health_snapshots FINAL "
                        "WHERE target = 'a' AND evaluated_at = {at:DateTime64(3, 'UTC')}",
                        {"at": instant(0)})
    assert snap["passive_latency_p50_s"] == pytest.approx(2 ** (-31.5 / 32))
    assert snap["latency_p50_s"] != snap["passive_latency_p50_s"]  # the probes' own, apart
