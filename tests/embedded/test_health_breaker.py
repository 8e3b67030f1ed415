"""Health model, per target: circuit breaker, status rules with hysteresis, staleness, rate
limits, events, and re-evaluation (evaluate_snapshots.sql, record_events.sql).

Scenarios are steps (offset s from T0, probes stored 1 s before that instant, expected snapshot
(status, breaker, consecutive_failures, consecutive_successes[, reason])), evaluated in order
like the worker; see synthetic.run_steps. Defaults: breaker 3 failures / 2 successes / 50 % of
at least 10 requests / 5 s cooldown, hysteresis 2, probe interval 5 s, backoff_max 60 s.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.evaluate import evaluate
from aggregator.store.embedded import EmbeddedStore
from llmhealth_config.model import Config
from tests.embedded import synthetic
from tests.embedded.conftest import ReusableStore
from tests.embedded.synthetic import instant, run_steps

pytestmark = pytest.mark.embedded

FAIL3 = ["http_5xx"] * 3
NO_BREAKER = {"breaker": {"failures": 100, "error_rate": 1.0}}


@pytest.fixture
def store(reusable_store: ReusableStore) -> EmbeddedStore:
    """A store as freshly migrated, one for the whole module, emptied for each test."""
    return reusable_store.fresh()


def config(min_requests: int = 10, **aggregator) -> Config:
    """Target `a`; the error-rate rules apply from 10 requests on (default 30) so that the
    scenarios stay short."""
    return Config.model_validate({
        "targets": [{"name": "a", "base_url": "http://x/v1", "model": "m", "probes": ["completion"]}],
        "thresholds": {"min_requests": min_requests}, "aggregator": aggregator})


def spread(n: int, failures: dict[str, int]) -> list[str]:
    """`n` outcomes in order: the failures evenly among oks, starting with the first."""
    failed = [outcome for outcome, count in failures.items() for _ in range(count)]
    outcomes = ["ok"] * n
    for i, outcome in enumerate(failed):
        outcomes[i * (n // len(failed))] = outcome
    return outcomes


def parse(value) -> datetime:
    """A DateTime64 column as chDB returns it (text)."""
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def slow(time):
    return [synthetic.latency_point("a", time, {9.0: 10})]


def no_requests_left(time):
    return [synthetic.ratelimit_point("a", time, "requests", 0),
            synthetic.ratelimit_point("a", time, "tokens", 5000)]


C = "completion: "  # target `a` runs completion probes only: its reason is that kind's
OPEN_3 = "3 consecutive failures (last: http_5xx)"
COOLDOWN = "cooldown of 5 s over; "
HALF_OPEN_FAILED = "probe failed while half-open ({})"
HELD = "still healthy: degraded for 1 of 2 evaluations (completion: {})"
SLOW = "latency p99 9.01 s > 5.00 s over 5m"
RATE_14 = ("error rate 14.3% (7.8% to 24.7% at 80% confidence) over 5m (4 of 28 failed: http_5xx x4)")
RATE_50 = ("50.0% >= 50.0%: error rate 50.0% ({} at 80% confidence) over 5m ({} of {} failed: "
           "http_5xx x{})")
NO_REQUESTS = "the provider reports 0 requests remaining"

RECOVERED_THEN_TIMEOUTS = [
    (0, {"ok": 20}, ("healthy", "closed", 0, 20)),
    (2, FAIL3, ("unhealthy", "open", 3, 0)),
    (4, "ok", ("unhealthy", "open", 0, 1)),
    (6, "ok", ("unhealthy", "open", 0, 2)),
    (8, None, ("healthy", "closed", 0, 2)),
    # The rule window restarted at 8; 2 of the next 3 time out, a rate whose lower bound
    # reaches degraded_error_rate: the restart is undone, and the status window without the
    # outage's run (from its first failure, stored at 1, to the close at 8) judges the kind:
    # 2 failures after 20 clean probes. The outage's failures do not come back.
    (10, ["timeout", "ok", "timeout"], ("healthy", "closed", 1, 0, (
        C + "error rate 8.7% over 5m without the outage from 9 s to 2 s ago (23 probes)"))),
    (12, "ok", ("healthy", "closed", 0, 1, (
        C + "error rate 8.3% over 5m without the outage from 11 s to 4 s ago (24 probes)"))),
]

FAIL7 = ["http_5xx"] * 7
FAILING_AGAIN = [
    # 2 of 20 failed: after that baseline, a run of 7 is an outage (0.136^7 < 1/1,000,000)
    (0, spread(20, {"http_5xx": 2}), ("healthy", "closed", 0, 9)),
    (2, FAIL7, ("unhealthy", "open", 7, 0)),
    (4, "ok", ("unhealthy", "open", 0, 1)),
    (6, "ok", ("unhealthy", "open", 0, 2)),
    (8, None, ("healthy", "closed", 0, 2)),
    # 2 of the next 3 fail: the restart is undone, and the window without the outage's run
    # shows the rate the kind fails at, before the run and since the close (4 of 23); on the
    # restarted window alone, 2 of 3 read healthy until min_requests. The target's status
    # follows after the hysteresis.
    (10, ["http_5xx", "ok", "http_5xx"], ("healthy", "closed", 1, 0, (
        "still healthy: degraded for 1 of 2 evaluations (" + C + "at least 9.5% >= 5.0%: "
        "error rate 17.4% (9.5% to 29.6% at 80% confidence) over 5m without the outage from 9 s "
        "to 2 s ago (4 of 23 failed: http_5xx x4))"))),
    (12, "ok", ("degraded", "closed", 0, 1)),
]


SCENARIOS = [
    pytest.param({}, [
        (0, {"ok": 20}, ("healthy", "closed", 0, 20, C + "error rate 0.0% over 5m (20 probes)")),
        (2, "http_5xx", ("healthy", "closed", 1, 0, C + "error rate 4.8% over 5m (21 probes)")),
        (4, "http_5xx", ("healthy", "closed", 2, 0, C + "error rate 9.1% over 5m (22 probes)")),
        # 3 in a row after a clean baseline: an outage
        (6, "http_5xx", ("unhealthy", "open", 3, 0, f"{C}circuit breaker open: {OPEN_3}")),
        (10, None, ("unhealthy", "open", 3, 0)),
        (12, None, ("unhealthy", "half_open", 3, 0,
                    f"{C}circuit breaker half_open: {COOLDOWN}{OPEN_3}")),
        (14, "ok", ("unhealthy", "half_open", 0, 1)),
        (16, "ok", ("healthy", "closed", 0, 2, C + "circuit breaker closed: 2 consecutive successes")),
        (18, "ok", ("healthy", "closed", 0, 3,
                    C + "error rate 0.0% since the breaker closed 2 s ago (1 probes)")),
    ], [
        (0, "a", "status", "new", "healthy", C + "error rate 0.0% over 5m (20 probes)"),
        (6, "a", "breaker", "closed", "open", OPEN_3),
        (6, "a", "status", "healthy", "unhealthy", f"{C}circuit breaker open: {OPEN_3}"),
        (12, "a", "breaker", "open", "half_open", COOLDOWN + OPEN_3),
        (16, "a", "breaker", "half_open", "closed", "2 consecutive successes"),
        (16, "a", "status", "unhealthy", "healthy",
         C + "circuit breaker closed: 2 consecutive successes"),
    ], id="opens-on-3rd-failure-half-opens-after-cooldown-closes-on-2-successes"),
    pytest.param({}, [
        (0, FAIL3, ("unhealthy", "open", 3, 0)),
        (6, None, ("unhealthy", "half_open", 3, 0)),
        (8, "http_5xx", ("unhealthy", "open", 4, 0,
                         C + "circuit breaker open: " + HALF_OPEN_FAILED.format("http_5xx"))),
        (12, None, ("unhealthy", "open", 4, 0)),
        (14, None, ("unhealthy", "half_open", 4, 0)),
        (16, "ok", ("unhealthy", "half_open", 0, 1)),
        (18, "timeout", ("unhealthy", "open", 1, 0,
                         C + "circuit breaker open: " + HALF_OPEN_FAILED.format("timeout"))),
    ], [
        (0, "a", "status", "new", "unhealthy", f"{C}circuit breaker open: {OPEN_3}"),
        (6, "a", "breaker", "open", "half_open", COOLDOWN + OPEN_3),
        (8, "a", "breaker", "half_open", "open", HALF_OPEN_FAILED.format("http_5xx")),
        (14, "a", "breaker", "open", "half_open", COOLDOWN + HALF_OPEN_FAILED.format("http_5xx")),
        (18, "a", "breaker", "half_open", "open", HALF_OPEN_FAILED.format("timeout")),
    ], id="failure-while-half-open-reopens-and-restarts-cooldown"),
    pytest.param({}, [
        (0, {"ok": 20}, ("healthy", "closed", 0, 20)),
        # exported together: the failures count as the later ones
        (2, {"ok": 5, "http_5xx": 2}, ("healthy", "closed", 2, 0)),
        # 10 ms apart: the success after the failure ends its streak
        (4, ["http_5xx", "ok"], ("healthy", "closed", 0, 1)),
        # a point counting no probes breaks no streak
        (6, {"http_5xx": 2, "ok": 0}, ("degraded", "closed", 2, 0)),
        # 3 in a row open the breaker; after 3 failures among 29 before them, only 5 in a row
        # would be an outage: the status is the error rate's
        (8, {"timeout": 1, "ok": 0}, ("degraded", "open", 3, 0, (
            C + "still degraded: 18.8% >= 2.5%: error rate 18.8% (11.5% to 29.0% at 80% confidence) "
            "over 5m (6 of 32 failed: http_5xx x5, timeout x1)"))),
    ], None, id="streaks-follow-point-time-a-run-the-error-rate-explains-is-no-outage"),
    pytest.param({}, [
        (0, {"ok": 10}, ("healthy", "closed", 0, 10)),
        (2, FAIL3, ("unhealthy", "open", 3, 0)),
        (4, "ok", ("unhealthy", "open", 0, 1)),
        (6, "ok", ("unhealthy", "open", 0, 2)),
        # The last 2 probes succeeded during the cooldown (it only holds the breaker open that
        # long): the instant it ends closes the breaker without a half-open instant between;
        # after an outage of a kind with a baseline, the rule window starts again.
        (8, None, ("healthy", "closed", 0, 2, (
            C + "circuit breaker closed: cooldown of 5 s over and 2 consecutive successes"))),
        (10, None, ("healthy", "closed", 0, 2)),
    ], [
        (0, "a", "status", "new", "healthy", C + "error rate 0.0% over 5m (10 probes)"),
        (2, "a", "breaker", "closed", "open", OPEN_3),
        (2, "a", "status", "healthy", "unhealthy", f"{C}circuit breaker open: {OPEN_3}"),
        (8, "a", "breaker", "open", "closed", "cooldown of 5 s over and 2 consecutive successes"),
        (8, "a", "status", "unhealthy", "healthy",
         C + "circuit breaker closed: cooldown of 5 s over and 2 consecutive successes"),
    ], id="successes-during-cooldown-close-when-it-ends"),
    pytest.param({}, FAILING_AGAIN, None,
                 id="failing-again-after-a-restart-is-judged-on-the-window-without-the-outage"),
    pytest.param({}, RECOVERED_THEN_TIMEOUTS, None,
                 id="a-recovered-kind-failing-twice-after-the-close-keeps-its-outage-out"),
    pytest.param({}, [
        (0, FAIL3, ("unhealthy", "open", 3, 0)),
        (2, "ok", ("unhealthy", "open", 0, 1)),
        (4, "ok", ("unhealthy", "open", 0, 2)),
        # A kind failing from its first probes has no baseline: its failures stay in the rule
        # window when the breaker closes, and hold it unhealthy while they are 35 % or more.
        (6, None, ("unhealthy", "closed", 0, 2, (
            C + "still unhealthy: 60.0% >= 35.0%: error rate 60.0% (33.0% to 82.0% at 80% confidence) "
            "over 5m (3 of 5 failed: http_5xx x3)"))),
        # below 35 % (3 of 9): degraded, after the hysteresis
        (10, {"ok": 4}, ("unhealthy", "closed", 0, 6)),
        (12, None, ("degraded", "closed", 0, 6)),
    ], None, id="failing-from-the-first-probe-stays-unhealthy-after-close"),
    pytest.param({"min_requests": 30}, [
        # failures among fewer requests than min_requests: no verdict either way
        (0, spread(28, {"http_5xx": 4}), ("unknown", "closed", 0, 6,
                                          C + "4 of 28 requests failed over 5m: a verdict needs 30 requests")),
        (2, ["ok", "ok"], ("degraded", "closed", 0, 8, (
            C + "at least 7.3% >= 5.0%: error rate 13.3% (7.3% to 23.2% at 80% confidence) over 5m "
            "(4 of 30 failed: http_5xx x4)"))),
    ], None, id="failures-below-min-requests-unknown-never-healthy"),
    pytest.param({}, [
        # 9 requests: below min_requests (10), so no error-rate rule applies yet.
        (0, ["http_5xx", "ok"] * 4 + ["http_5xx"], ("unknown", "closed", 1, 0,
                                                   C + "5 of 9 requests failed over 5m: a verdict needs 10 requests")),
        (2, "ok", ("unhealthy", "open", 0, 1, C + RATE_50.format("31.2% to 68.8%", 5, 10, 5))),
    ], None, id="error-rate-of-10-requests-opens-breaker-without-3-in-a-row"),
    pytest.param({}, [
        (0, {"ok": 20}, ("healthy", "closed", 0, 20)),
        (2, ("ok", slow), ("healthy", "closed", 0, 21, HELD.format(SLOW))),
        (4, None, ("degraded", "closed", 0, 21, C + SLOW)),
    ], None, id="latency-p99-degrades-after-2-evaluations"),
    pytest.param({}, [
        (0, {"ok": 20}, ("healthy", "closed", 0, 20)),
        (2, ["http_5xx", "ok"] * 4, ("healthy", "closed", 0, 1, HELD.format("at least 7.8% >= 5.0%: " + RATE_14))),
        (4, None, ("degraded", "closed", 0, 1, C + "still degraded: 14.3% >= 2.5%: " + RATE_14)),
        # degraded holds while the rate stays at half the threshold or more (3.1 %)...
        (6, {"ok": 100}, ("degraded", "closed", 0, 101, (
            C + "still degraded: 3.1% >= 2.5%: error rate 3.1% (1.7% to 5.8% at 80% confidence) "
            "over 5m (4 of 128 failed: http_5xx x4)"))),
        # ...and ends below it (1.8 %), after the hysteresis
        (8, {"ok": 100}, ("degraded", "closed", 0, 201, (
            "still degraded: healthy for 1 of 2 evaluations "
            "(completion: error rate 1.8% over 5m (228 probes))"))),
        (10, None, ("healthy", "closed", 0, 201, C + "error rate 1.8% over 5m (228 probes)")),
    ], None, id="wilson-bound-over-5pct-degrades-holds-to-half-the-threshold-then-recovers"),
    pytest.param({}, [
        (0, {"ok": 20}, ("healthy", "closed", 0, 20)),
        (2, "http_5xx", ("healthy", "closed", 1, 0, C + "error rate 4.8% over 5m (21 probes)")),
        (4, "ok", ("healthy", "closed", 0, 1, C + "error rate 4.5% over 5m (22 probes)")),
    ], None, id="single-failure-among-oks-does-not-flap"),
    pytest.param({}, [
        (0, spread(60, {"http_5xx": 3}),
         ("healthy", "closed", 0, 19, C + "error rate 5.0% over 5m (60 probes)")),
    ], None, id="3-of-60-failed-healthy-wilson-bound-1.7pct"),
    pytest.param({}, [
        (0, ["ok", "http_5xx"] * 30,
         ("unhealthy", "open", 1, 0, C + RATE_50.format("41.8% to 58.2%", 30, 60, 30))),
    ], None, id="30-of-60-failed-opens-breaker"),
    pytest.param(NO_BREAKER, [
        # the unhealthy rule compares the error rate itself (a model failing half of its
        # requests is unhealthy), from breaker.min_requests requests on
        (0, ["ok", "http_5xx"] * 30,
         ("unhealthy", "closed", 1, 0, C + RATE_50.format("41.8% to 58.2%", 30, 60, 30))),
    ], None, id="30-of-60-failed-without-breaker-unhealthy"),
    pytest.param(NO_BREAKER, [
        (0, spread(60, {"http_5xx": 40}), ("unhealthy", "closed", 0, 20, (
            C + "66.7% >= 50.0%: error rate 66.7% (58.5% to 73.9% at 80% confidence) over 5m "
            "(40 of 60 failed: http_5xx x40)"))),
    ], None, id="40-of-60-failed-without-breaker-unhealthy"),
    pytest.param({}, [
        (0, {"ok": 5}, ("healthy", "closed", 0, 5)),
        (2, ("ok", no_requests_left), ("healthy", "closed", 0, 6, (
            f"still healthy: rate_limited for 1 of 2 evaluations ({NO_REQUESTS})"))),
        (4, None, ("rate_limited", "closed", 0, 6, NO_REQUESTS)),
    ], None, id="ratelimit-remaining-0-rate-limited-naming-resource"),
    pytest.param({}, [
        (0, ["ok"] + ["http_429"] * 3, ("rate_limited", "open", 3, 0, (
            C + "circuit breaker open: 3 consecutive failures (last: http_429)"))),
        (6, None, ("rate_limited", "half_open", 3, 0)),
    ], None, id="breaker-open-on-429s-rate-limited"),
    pytest.param({}, [
        (0, spread(20, {"http_429": 2, "http_5xx": 1}), ("rate_limited", "closed", 0, 7, (
            C + "at least 7.5% >= 5.0%: error rate 15.0% (7.5% to 27.8% at 80% confidence) over 5m "
            "(3 of 20 failed: http_429 x2, http_5xx x1)"))),
    ], None, id="429s-most-errors-of-error-rate-rule-rate-limited"),
    pytest.param({}, [
        (0, None, ("unknown", "closed", 0, 0, "no probe result yet")),
        (2, "ok", ("healthy", "closed", 0, 1)),
        (16, None, ("healthy", "closed", 0, 1)),
        (18, None, ("unknown", "closed", 0, 1, C + "no probe result for 17 s (more than 3 x 5 s)")),
        (20, "ok", ("healthy", "closed", 0, 2, C + "error rate 0.0% over 5m (2 probes)")),
    ], [
        (2, "a", "status", "unknown", "healthy", C + "error rate 0.0% over 5m (1 probes)"),
        (18, "a", "status", "healthy", "unknown", C + "no probe result for 17 s (more than 3 x 5 s)"),
        (20, "a", "status", "unknown", "healthy", C + "error rate 0.0% over 5m (2 probes)"),
    ], id="unknown-after-3-probe-intervals-no-event-from-new-to-unknown"),
    pytest.param({}, [
        (0, FAIL3, ("unhealthy", "open", 3, 0)),
        *[(t, None, ("unhealthy", "half_open", 3, 0)) for t in (30, 60, 90, 120, 150, 178)],
        (180, None, ("unknown", "half_open", 3, 0,
                     C + "no probe result for 181 s (more than 3 x 60 s)")),
    ], None, id="breaker-not-closed-allows-3-backoff-max-without-probes"),
]


@pytest.mark.parametrize(("aggregator", "steps", "expected_events"), SCENARIOS)
def test_scenario(store, aggregator: dict, steps: list, expected_events: list | None) -> None:
    actual = run_steps(store, config(**aggregator), steps)
    assert actual == [expected for _, _, expected in steps]
    if expected_events is not None:
        assert synthetic.events(store) == expected_events


def test_an_undone_restart_is_a_rule_of_the_kind(store) -> None:
    """The kind's row says why the restart was undone and which points its rule window leaves
    out, and stays undone once the points since the close no longer would undo it (12
    requests, more than min_requests)."""
    run_steps(store, config(), [*FAILING_AGAIN, (14, {"ok": 8}, ())])
    kinds = store.rows("SELECT evaluated_at, rules, rules_from, outage_from, restart_undone, requests, errors "
                       "FROM health_kinds FINAL WHERE target = 'a' ORDER BY evaluated_at")
    by_instant = {parse(k["evaluated_at"]): k for k in kinds}
    undone, later = by_instant[instant(10)], by_instant[instant(14)]
    rules = {r.pop("name"): r for r in undone["rules"]}
    # 2 of 3 since the restart: Wilson lower bound (2 + 0.8213 - 1.2816 sqrt(2/3 + 0.4106)) / 4.6425
    assert rules["restart_undone"] == {"value": pytest.approx(0.3212, abs=1e-3), "limit": 0.05, "held": True}
    later_rules = {r.pop("name"): r for r in later["rules"]}
    assert later_rules["restart_undone"] == {"value": None, "limit": 0.05, "held": True}
    for row in (undone, by_instant[instant(12)], later):
        assert row["restart_undone"] is True
        assert parse(row["rules_from"]) == instant(8)  # the close
        assert parse(row["outage_from"]) == instant(1)  # the run's first failure, stored at 1
    # the 20 before the outage and the 12 since the close (the run's 7 failures and the 2
    # successes that closed the breaker left out)
    assert (later["requests"], later["errors"]) == (32, 4)
    assert [k["restart_undone"] for k in kinds[:5]] == [False] * 5


def test_discovered_targets_are_evaluated_with_their_endpoints_thresholds(store) -> None:
    cfg = Config.model_validate({
        "targets": [{"name": "local", "protocol": "ollama", "base_url": "http://127.0.0.1:11434",
                     "discover": True, "thresholds": {"degraded_error_rate": 0.2}}],
        "thresholds": {"degraded_error_rate": 0.05}})
    synthetic.points(store, [
        synthetic.point(instant(-10), target="local", kind="models", value=10.0),
        *synthetic.probe_points("local/llama3.2:1b", instant(-10), spread(100, {"timeout": 10})),
        *synthetic.probe_points("elsewhere/llama3.2:1b", instant(-10), "ok")])
    evaluate(store, cfg, instant(0))
    rows = store.rows("SELECT target, status, reason FROM health_snapshots FINAL ORDER BY target")
    # 10 % errors (lower bound 6.8 %): healthy under the endpoint's 20 %, not the global 5 %.
    # The endpoint itself is judged on its model listing; a discovered model on the kinds of
    # its endpoint, and it is unknown until each of them has answered.
    assert rows == [
        {"target": "local", "status": "healthy", "reason": "models: error rate 0.0% over 5m (10 probes)"},
        {"target": "local/llama3.2:1b", "status": "unknown",
         "reason": "models: no probe result yet; stream: no result yet; completion: healthy"}]
    [completion] = store.rows("SELECT verdict, reason FROM health_kinds FINAL "
                              "WHERE target = 'local/llama3.2:1b' AND probe_kind = 'completion'")
    assert completion == {"verdict": "healthy", "reason": "error rate 10.0% over 5m (100 probes)"}


KEYS = {"health_snapshots": ("target", "evaluated_at"),
        "health_kinds": ("target", "probe_kind", "evaluated_at"),
        "health_windows": ("target", "window_seconds", "probe_kind", "evaluated_at"),
        "health_events": ("target", "kind", "probe_kind", "at")}


def test_reevaluating_an_instant_writes_identical_rows_and_one_event_per_transition(store) -> None:
    for table in KEYS:  # keep the copies ReplacingMergeTree would merge away
        store.execute("SYSTEM STOP MERGES {table:Identifier}", {"table": table})
    cfg = config()
    for offset, probes in ((0, "ok"), (2, FAIL3), (8, None)):
        synthetic.points(store, synthetic.step_rows("a", instant(offset - 1), probes))
        evaluate(store, cfg, instant(offset))
        evaluate(store, cfg, instant(offset))
    for table, key in KEYS.items():
        copies: dict[tuple, list] = {}
        for row in store.rows("SELECT * FROM {table:Identifier}", {"table": table}):
            copies.setdefault(tuple(row[k] for k in key), []).append(row)
        assert copies and all(len(c) == 2 and c[0] == c[1] for c in copies.values()), table
    assert [e[1:5] for e in synthetic.events(store)] == [
        ("a", "status", "new", "healthy"), ("a", "breaker", "closed", "open"),
        ("a", "status", "healthy", "unhealthy"), ("a", "breaker", "open", "half_open")]


def test_backfill_in_order_after_a_gap_equals_live_evaluation(store) -> None:
    """Live: each instant evaluated once its rows are stored. Backfill: every row stored first
    (same inserted_at), then all instants evaluated in order: the same snapshots, windows and
    events. (The 1 h window is left out: it reads the minute rollup by point time, not as of
    the instant; see test_long_window_rerun_later_ignores_points_after_the_instant.)"""
    cfg = config()
    late = synthetic.point(instant(-20), inserted_at=instant(11), target="a", outcome="timeout")
    steps = [(0, {"ok": 5}), (2, FAIL3), (8, None), (10, "ok"), (12, lambda _: [late]),
             (14, "http_429"), (16, None)]
    for offset, probes in steps:
        synthetic.points(store, synthetic.step_rows("a", instant(offset - 1), probes))
        evaluate(store, cfg, instant(offset))

    def outputs() -> dict:
        return {table: store.rows("SELECT * FROM {table:Identifier} FINAL ORDER BY ALL",
                                  {"table": table}) for table in KEYS}

    live = outputs()
    for table in KEYS:
        store.execute("TRUNCATE TABLE {table:Identifier}", {"table": table})
    for offset, _ in steps:
        evaluate(store, cfg, instant(offset))
    backfilled = outputs()
    for result in (live, backfilled):
        result["health_windows"] = [w for w in result["health_windows"]
                                    if w["window_seconds"] != 3600]
    assert backfilled == live
    reopened = HALF_OPEN_FAILED.format("timeout")  # the late point, counted once stored
    assert [(s["status"], s["breaker"], s["reason"]) for s in live["health_snapshots"][2:]] == [
        ("unhealthy", "half_open", f"{C}circuit breaker half_open: {COOLDOWN}{OPEN_3}"),
        ("unhealthy", "half_open", f"{C}circuit breaker half_open: {COOLDOWN}{OPEN_3}"),
        ("unhealthy", "open", f"{C}circuit breaker open: {reopened}"),
        ("unhealthy", "open", ("still unhealthy: rate_limited for 1 of 2 evaluations "
                               f"({C}circuit breaker open: {reopened})")),
        ("rate_limited", "open", f"{C}circuit breaker open: {reopened}")]


def test_a_status_window_over_15_min_counts_the_points_stored_in_it(store) -> None:
    """health_windows counts a window over 15 min in the complete minutes before the instant;
    the snapshot's rule counts are the points stored in the window, this minute's too."""
    cfg = config(window=3600, windows=[60, 3600])
    for offset in (0, 2, 4):  # T0 starts a minute: the points at 1 s and 3 s are in this one
        synthetic.points(store, synthetic.probe_points("a", instant(offset - 1), ["ok", "http_5xx"]))
        evaluate(store, cfg, instant(offset))
    [window] = store.rows("SELECT requests FROM health_windows FINAL WHERE target = 'a' "
                          "AND window_seconds = 3600 AND probe_kind = '' AND evaluated_at = {at:DateTime64(3, 'UTC')}",
                          {"at": instant(4)})
    [snap] = store.rows("SELECT requests, errors, errors_by_type FROM health_snapshots FINAL "
                        "WHERE target = 'a' AND evaluated_at = {at:DateTime64(3, 'UTC')}", {"at": instant(4)})
    assert window["requests"] == 2
    assert (snap["requests"], snap["errors"], snap["errors_by_type"]) == (6, 3, {"http_5xx": 3})


def test_rule_window_counts_are_the_points_stored_since_the_rules_window_start(store) -> None:
    """Over a random sequence (outages open and close the breaker, so the rule window restarts;
    a gap longer than the state lookback forces a fresh start) each kind's requests, errors
    and errors by type count the points stored in (rule window start, instant]."""
    rng = random.Random(7)
    cfg = config(window=60, windows=[60, 300, 3600])
    stored = []  # (inserted_at, outcome)
    for offset in range(0, 180, 2):
        time = instant(offset - 1)
        probes = rng.choices(["ok", "http_5xx", "http_429", "timeout"], [20, 1, 1, 1], k=rng.randint(0, 3))
        if offset % 40 == 20:  # an outage: 16 failures in a row, more than the random ones explain
            probes += ["timeout"] * 16
        synthetic.points(store, synthetic.probe_points("a", time, probes))
        stored += [(time + timedelta(milliseconds=10 * i), o) for i, o in enumerate(probes)]
        if not 60 <= offset < 100:  # 40 s without evaluations: more than the 30 s state lookback
            evaluate(store, cfg, instant(offset))
    snapshots = store.rows(
        "SELECT evaluated_at, rules_from, requests, errors, errors_by_type FROM health_kinds FINAL "
        "WHERE target = 'a' AND probe_kind = 'completion' ORDER BY evaluated_at")
    assert len(snapshots) == 70
    previous = None
    for snap in snapshots:
        at = parse(snap["evaluated_at"])
        start = at - timedelta(seconds=60)
        if previous and at - parse(previous["evaluated_at"]) <= timedelta(seconds=30):
            start = max(start, parse(previous["rules_from"]))
        counted = [o for t, o in stored if start < t <= at]
        failed = [o for o in counted if o != "ok"]
        assert (snap["requests"], snap["errors"], snap["errors_by_type"]) == (
            len(counted), len(failed), {o: failed.count(o) for o in sorted(set(failed))}), at
        previous = snap
    assert {s["rules_from"] for s in snapshots} != {snapshots[0]["rules_from"]}  # the window restarted
