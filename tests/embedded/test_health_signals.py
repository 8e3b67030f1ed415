"""Health model inputs and outputs: windows (delta, late points), pools, SLO and the views
(evaluate_windows.sql, evaluate_snapshots.sql, evaluate_pools.sql, evaluate_slo.sql, migrations
0028-0030); applications' requests are in test_passive_health.py. Rows go straight into
health_points with the instant they were stored; T0 = yesterday 12:00:00 UTC, offsets in seconds (synthetic.instant)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.evaluate import evaluate
from llmhealth_config.model import Config
from tests.embedded import synthetic
from tests.embedded.synthetic import T0, instant, point, probe_points, run_steps

pytestmark = pytest.mark.embedded

FAIL3 = ["http_5xx"] * 3
WINDOWS = """
SELECT window_seconds, requests, errors, errors_by_type, passive_requests, passive_errors
FROM health_windows FINAL WHERE target = 'a' AND evaluated_at = {at:DateTime64(3, 'UTC')}
  AND probe_kind = ''
ORDER BY window_seconds
"""
SNAPSHOT = """
SELECT status, breaker, requests, errors, passive_requests, passive_errors, reason
FROM health_snapshots FINAL WHERE target = 'a' AND evaluated_at = {at:DateTime64(3, 'UTC')}
"""


def config(pool: str | None = None) -> Config:
    return Config.model_validate({"targets": [
        {"name": name, "base_url": "http://x/v1", "model": "m", "pool": pool, "probes": ["completion"]}
        for name in ("a", "b")], "thresholds": {"min_requests": 10}})


def windows(store, offset: float) -> dict[int, tuple]:
    rows = store.rows(WINDOWS, {"at": instant(offset)})
    return {r.pop("window_seconds"): tuple(r.values()) for r in rows}


def test_windows_count_probe_results_of_configured_targets(store) -> None:
    synthetic.points(store, [
        *probe_points("a", instant(-1800), {"ok": 5, "timeout": 1}),
        *probe_points("a", instant(-200), {"ok": 4, "http_5xx": 2}),
        *probe_points("a", instant(-10), {"ok": 3, "http_429": 1}),
        *probe_points("elsewhere", instant(-10), {"http_5xx": 9}),
        synthetic.latency_point("a", instant(-10), {0.5: 9, 2.0: 1}),
        synthetic.latency_point("a", instant(-10), {9.0: 5}, kind="stream"),  # stream durations
        synthetic.latency_point("a", instant(-10), {9.0: 5}, outcome="timeout")])  # failed probes
    evaluate(store, config(), instant(0))
    assert windows(store, 0) == {
        60: (4, 1, {"http_429": 1}, 0, 0),
        300: (10, 3, {"http_429": 1, "http_5xx": 2}, 0, 0),
        3600: (16, 4, {"http_429": 1, "http_5xx": 2, "timeout": 1}, 0, 0)}
    quantiles = store.rows("SELECT latency_p50_s, latency_p99_s FROM health_windows FINAL "
                           "WHERE target = 'a' AND probe_kind = '' ORDER BY window_seconds")

    def midpoint(seconds: float) -> float:  # what a bucket stands for: within 1.1 % of `seconds`
        return 2 ** ((synthetic.bucket(seconds) + 0.5) / 32)

    assert quantiles == 3 * [{"latency_p50_s": pytest.approx(midpoint(0.5)),
                              "latency_p99_s": pytest.approx(midpoint(2.0))}]


def test_late_delta_point_counts_once_stored_and_lands_in_its_minute(store) -> None:
    synthetic.points(store, [
        *probe_points("a", instant(-10), {"ok": 3}),
        point(instant(-100), inserted_at=instant(3), target="a", outcome="http_5xx", value=2.0)])
    for offset in (0, 4, 60):
        evaluate(store, config(), instant(offset))
    assert {w: c[:3] for w, c in windows(store, 0).items() if w < 3600} == {
        60: (3, 0, {}), 300: (3, 0, {})}
    late = (5, 2, {"http_5xx": 2})
    # The 1 h window is evaluated at a minute's first instant only (it reads complete minutes).
    assert {w: c[:3] for w, c in windows(store, 4).items()} == {60: late, 300: late}
    assert windows(store, 60)[3600][:3] == late
    minutes = store.rows("SELECT toString(bucket) AS minute, sum(requests) AS n, "
                         "sumMap(errors) AS e FROM health_minutes GROUP BY bucket ORDER BY bucket")
    assert minutes == [{"minute": f"{T0.date()} 11:58:00", "n": 2, "e": {"http_5xx": 2}},
                       {"minute": f"{T0.date()} 11:59:00", "n": 3, "e": {}}]


def test_long_window_rerun_later_ignores_points_after_the_instant(store) -> None:
    synthetic.points(store, probe_points("a", instant(-1), {"ok": 5}))
    evaluate(store, config(), instant(0))
    first = windows(store, 0)[3600]
    synthetic.points(store, probe_points("a", instant(1), {"http_5xx": 1}))
    evaluate(store, config(), instant(0))
    assert first == (5, 0, {}, 0, 0)
    assert store.rows("SELECT DISTINCT requests FROM health_windows WHERE window_seconds = 3600 "
                      "AND evaluated_at = {at:DateTime64(3, 'UTC')}", {"at": instant(0)}) == [
        {"requests": 5}]


def ratelimited(target: str):
    return [*probe_points(target, instant(-10), "ok"),
            synthetic.ratelimit_point(target, instant(-10), "tokens", 0)]


POOLS = [
    pytest.param(probe_points("a", instant(-10), "ok") + probe_points("b", instant(-10), "ok"),
                 ("healthy", "all 2 members healthy", 2, 0), id="all-healthy"),
    pytest.param(probe_points("a", instant(-10), FAIL3) + probe_points("b", instant(-10), "ok"),
                 ("degraded", "1 of 2 members healthy; a unhealthy", 4, 3),
                 id="one-unhealthy-degraded"),
    pytest.param(probe_points("a", instant(-10), ["ok"])
                 + [synthetic.latency_point("a", instant(-10), {9.0: 1})]
                 + probe_points("b", instant(-10), FAIL3),
                 ("degraded", "0 of 2 members healthy; a degraded, b unhealthy", 4, 3),
                 id="none-healthy-one-degraded-degraded"),
    pytest.param(probe_points("a", instant(-10), FAIL3) + probe_points("b", instant(-10), FAIL3),
                 ("unhealthy", "0 of 2 members healthy; a unhealthy, b unhealthy", 6, 6),
                 id="all-unhealthy"),
    pytest.param([], ("unknown", "0 of 2 members healthy; a unknown, b unknown", 0, 0),
                 id="all-unknown"),
    pytest.param(ratelimited("a"),
                 ("rate_limited", "0 of 2 members healthy; a rate_limited, b unknown", 1, 0),
                 id="rate-limited-and-unknown-rate-limited"),
    pytest.param(ratelimited("a") + probe_points("b", instant(-10), FAIL3),
                 ("unhealthy", "0 of 2 members healthy; a rate_limited, b unhealthy", 4, 3),
                 id="rate-limited-and-unhealthy-unhealthy"),
]


@pytest.mark.parametrize(("rows", "expected"), POOLS)
def test_pool_status(store, rows: list[dict], expected: tuple) -> None:
    synthetic.points(store, rows)
    evaluate(store, config(pool="p"), instant(0))
    [row] = store.rows("SELECT status, reason, requests, errors FROM health_snapshots FINAL "
                       "WHERE target = 'p' AND kind = 'pool'")
    assert tuple(row.values()) == expected


def test_slo_from_rollups_at_first_instant_of_minute(store) -> None:
    rows = []
    for minute in range(50, 58):  # 8 minutes with an ok in the last hour, 2 with failures only
        rows += probe_points("a", T0.replace(hour=11, minute=minute, second=30), {"ok": 10})
    for minute in (58, 59):
        rows += probe_points("a", T0.replace(hour=11, minute=minute, second=30), {"http_5xx": 5})
    rows += probe_points("a", T0.replace(hour=9, minute=10), {"ok": 20})  # earlier today
    rows += probe_points("a", T0 - timedelta(hours=26), {"timeout": 1})  # yesterday, > 24 h ago
    rows += probe_points("a", T0 - timedelta(days=21), {"ok": 1})
    rows += probe_points("a", T0 - timedelta(days=52), {"ok": 1})  # older than 30 days
    synthetic.points(store, rows)
    evaluate(store, config(), instant(0))
    evaluate(store, config(), instant(2))  # not a minute's first instant: no SLO row
    [slo] = store.rows("SELECT * EXCEPT (target, evaluated_at) FROM health_slo WHERE target = 'a'")
    assert slo == pytest.approx({
        "slo": 0.995,
        "availability_1h": 8 / 10, "availability_24h": 9 / 11, "availability_7d": 9 / 12,
        "availability_30d": 10 / 13,
        "reachability_1h": 80 / 90, "reachability_24h": 100 / 110, "reachability_7d": 100 / 111,
        "reachability_30d": 101 / 112,
        "burn_rate_5m": (1 - 30 / 40) / 0.005, "burn_rate_30m": (1 - 80 / 90) / 0.005,
        "burn_rate_1h": (1 - 80 / 90) / 0.005, "burn_rate_6h": (1 - 100 / 110) / 0.005,
        "burn_rate_3d": (1 - 100 / 111) / 0.005, "burn_page": True, "burn_ticket": True,
        "rate_limited_1h": 0, "rate_limited_24h": 0, "rate_limited_7d": 0, "rate_limited_30d": 0,
        # no application's requests: none counted, no success share as users saw it
        "passive_requests_1h": 0, "passive_requests_24h": 0, "passive_requests_7d": 0,
        "passive_requests_30d": 0, "passive_success_1h": None, "passive_success_24h": None,
        "passive_success_7d": None, "passive_success_30d": None})


AVAILABILITY = """
SELECT availability_1h, availability_24h, availability_30d, reachability_1h, reachability_24h,
       burn_rate_1h, rate_limited_1h, rate_limited_24h, rate_limited_30d
FROM health_slo WHERE target = 'a'
"""


@pytest.mark.parametrize(("minutes", "expected"), [
    pytest.param(
        # 10 minutes answered; in 2 of them only 429s, in 1 a 429 beside a success
        {**{m: {"completion": {"ok": 10}} for m in range(40, 50)},
         50: {"completion": {"http_429": 10}}, 51: {"completion": {"http_429": 10}},
         52: {"completion": {"ok": 9, "http_429": 1}}},
        {"availability_1h": 1.0, "availability_24h": 1.0, "availability_30d": 1.0,
         "reachability_1h": 1.0, "reachability_24h": 1.0, "burn_rate_1h": 0.0,
         "rate_limited_1h": 21, "rate_limited_24h": 21, "rate_limited_30d": 21},
        id="rate-limited-probes-apart"),
    pytest.param(
        # the model list answers every minute; completions fail in 4 minutes of 10
        {m: {"models": {"ok": 12}, "completion": {"http_5xx" if m >= 56 else "ok": 12}}
         for m in range(50, 60)},
        {"availability_1h": 6 / 10, "availability_24h": 6 / 10, "availability_30d": 6 / 10,
         "reachability_1h": 192 / 240, "reachability_24h": 192 / 240,
         "burn_rate_1h": (1 - 192 / 240) / 0.005,
         "rate_limited_1h": 0, "rate_limited_24h": 0, "rate_limited_30d": 0},
        id="a-cheap-success-does-not-make-a-minute-available"),
    pytest.param(
        # refused probes (our request's problem) count for nothing; a stream that is cut once
        # in a minute where it also succeeded leaves the minute available
        {50: {"completion": {"probe_rejected": 12}, "stream": {"ok": 11, "stream_interrupted": 1}},
         51: {"completion": {"probe_rejected": 12}, "stream": {"stream_interrupted": 12}}},
        {"availability_1h": 1 / 2, "availability_24h": 1 / 2, "availability_30d": 1 / 2,
         "reachability_1h": 11 / 24, "reachability_24h": 11 / 24,
         "burn_rate_1h": (1 - 11 / 24) / 0.005,
         "rate_limited_1h": 0, "rate_limited_24h": 0, "rate_limited_30d": 0},
        id="refused-probes-count-for-nothing"),
])
def test_availability_counts_what_a_user_would(store, minutes: dict, expected: dict) -> None:
    """Minutes of the last hour (11:mm:30) with per-kind probe counts; the same minutes also
    reach the hour rollup (read for 24 h from the next hour on) and the day rollup."""
    rows = []
    for minute, kinds in minutes.items():
        for kind, counts in kinds.items():
            rows += probe_points("a", T0.replace(hour=11, minute=minute, second=30), counts, kind=kind)
            # the same results 25 h earlier, in the day rollup for 30 d (24 h reads the hours)
            rows += probe_points("a", T0.replace(hour=11, minute=minute, second=30) - timedelta(hours=25),
                                 counts, kind=kind)
    synthetic.points(store, rows)
    evaluate(store, config(), instant(0))
    [slo] = store.rows(AVAILABILITY)
    doubled = {k: v * 2 if k == "rate_limited_30d" else v for k, v in expected.items()}
    assert slo == pytest.approx(doubled)


def test_long_windows_per_kind(store) -> None:
    """The 1 h window: a row per kind with its own latency, and the row over all kinds with the
    answers' latency (not the 5 ms model list); refused probes not counted."""
    at = T0.replace(hour=11, minute=50, second=30)
    synthetic.points(store, [
        *probe_points("a", at, {"ok": 10}, kind="models"),
        *probe_points("a", at, {"ok": 8, "http_5xx": 2, "probe_rejected": 3}),
        synthetic.latency_point("a", at, {0.005: 10}, kind="models"),
        synthetic.latency_point("a", at, {2.0: 8})])
    evaluate(store, config(), instant(0))
    rows = store.rows(
        "SELECT probe_kind, requests, errors, errors_by_type, latency_p50_s FROM health_windows FINAL "
        "WHERE target = 'a' AND window_seconds = 3600 ORDER BY probe_kind")
    assert rows == [
        {"probe_kind": "", "requests": 20, "errors": 2, "errors_by_type": {"http_5xx": 2},
         "latency_p50_s": pytest.approx(2.0, rel=0.02)},
        {"probe_kind": "completion", "requests": 10, "errors": 2, "errors_by_type": {"http_5xx": 2},
         "latency_p50_s": pytest.approx(2.0, rel=0.02)},
        {"probe_kind": "models", "requests": 10, "errors": 0, "errors_by_type": {},
         "latency_p50_s": pytest.approx(0.005, rel=0.02)}]


def test_views_latest_timeline_incidents(store) -> None:
    # The views filter and measure with now64(): instants of the last minutes.
    base = datetime.fromtimestamp(math.floor(time.time() / 60) * 60 - 120, UTC)
    b_fails = (lambda t: probe_points("b", t, FAIL3), "ok")
    run_steps(store, config(pool="p"), [
        (0, (lambda t: probe_points("b", t, "ok"), "ok"), ()), (2, b_fails, ()), (4, None, ()),
        (4, None, ())], base=base)

    def select(sql: str) -> list[tuple]:
        return [tuple(r.values()) for r in store.rows(sql, {"base": base})]

    def offset(column: str) -> str:
        return f"dateDiff('millisecond', {{base:DateTime64(3, 'UTC')}}, {column}) / 1000"

    assert select(f"SELECT target, {offset('evaluated_at')}, status FROM health_latest "
                  "ORDER BY target") == [
        ("a", 4, "healthy"), ("b", 4, "unhealthy"), ("p", 4, "degraded")]
    assert select(f"SELECT target, status, {offset('since')} AS s, if(until IS NULL, NULL, "
                  f"{offset('until')}), if(until IS NULL, NULL, duration_s) FROM health_timeline "
                  "ORDER BY target, s") == [
        ("a", "healthy", 0, None, None),
        ("b", "healthy", 0, 2, 2), ("b", "unhealthy", 2, None, None),
        ("p", "healthy", 0, 2, 2), ("p", "degraded", 2, None, None)]
    assert select(f"SELECT target, kind, status, {offset('since')}, reason, breaker, "
                  "consecutive_failures FROM health_incidents ORDER BY target") == [
        ("b", "target", "unhealthy", 2,
         "completion: circuit breaker open: 3 consecutive failures (last: http_5xx)", "open", 3),
        ("p", "pool", "degraded", 2, "1 of 2 members healthy; b unhealthy", "", 0)]


def test_latest_view_shows_the_targets_of_the_latest_evaluation_however_old(store) -> None:
    # `gone` was last evaluated more than a minute before the latest instant, so it has left the
    # view; T0 may be more than a day ago, and the view still shows what that evaluation wrote.
    with_gone = Config.model_validate({"targets": [
        {"name": name, "base_url": "http://x/v1", "model": "m"} for name in ("a", "gone")]})
    for offset in (-130, -128):
        evaluate(store, with_gone, instant(offset))
    only_a = Config.model_validate({"targets": [{"name": "a", "base_url": "http://x/v1", "model": "m"}]})
    evaluate(store, only_a, instant(-40))
    evaluate(store, only_a, instant(0))
    rows = store.rows("SELECT target, dateDiff('second', {t0:DateTime64(3, 'UTC')}, evaluated_at) AS offset "
                      "FROM health_latest ORDER BY target", {"t0": T0})
    assert rows == [{"target": "a", "offset": 0}]
    evaluate(store, with_gone, instant(2))
    rows = store.rows("SELECT target, dateDiff('second', {t0:DateTime64(3, 'UTC')}, evaluated_at) AS offset "
                      "FROM health_latest ORDER BY target", {"t0": T0})
    assert rows == [{"target": "a", "offset": 2}, {"target": "gone", "offset": 2}]
