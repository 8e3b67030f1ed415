"""A verdict per probe kind, then per target (evaluate_kinds.sql, evaluate_snapshots.sql): a
cheap kind's success never clears a costlier kind's failure, each kind keeps its own breaker,
streaks and latency, a refused probe is not an outage, and a target failing at random settles
instead of flapping. Steps as in test_health_breaker (offset s from T0, probes stored 1 s
before the instant)."""

from __future__ import annotations

import pytest

from aggregator.evaluate import evaluate
from aggregator.store.embedded import EmbeddedStore
from bench.settle_replay import schedule
from llmhealth_config.model import Config
from tests.embedded import synthetic
from tests.embedded.conftest import ReusableStore
from tests.embedded.synthetic import instant, probe_points, run_steps

pytestmark = pytest.mark.embedded
FAIL3 = ["http_5xx"] * 3


@pytest.fixture
def store(reusable_store: ReusableStore) -> EmbeddedStore:
    """A store as freshly migrated, one for the whole module, emptied for each test."""
    return reusable_store.fresh()


def config(*kinds: str) -> Config:
    return Config.model_validate({"targets": [
        {"name": "a", "base_url": "http://x/v1", "model": "m", "probes": list(kinds)}]})


def kinds(**outcomes):
    """A step's probes: outcomes per kind, e.g. kinds(models="ok", completion=FAIL3)."""
    return kinds_of("a", **outcomes)


def kinds_of(target: str, **outcomes):
    """A step's probes of `target`: outcomes per kind."""
    def rows(time):
        return [row for kind, probes in outcomes.items()
                for row in probe_points(target, time, probes, kind=kind)]
    return rows


def test_listed_model_whose_completions_fail_is_never_healthy(store) -> None:
    """The demo's `demo-ollama/demo-down`: listed by /api/tags, every chat request fails. The
    `models` probe's successes must not close the breaker the completion failures opened."""
    steps = [(0, kinds(models="ok", completion=FAIL3), ())]
    steps += [(t, kinds(models="ok", completion="http_5xx" if t % 4 else None), ())
              for t in range(2, 62, 2)]
    run_steps(store, config("models", "completion"), steps)
    rows = store.rows("SELECT status, reason FROM health_snapshots FINAL WHERE target = 'a' "
                      "ORDER BY evaluated_at")
    assert {r["status"] for r in rows} == {"unhealthy"}
    assert rows[0]["reason"] == ("completion: circuit breaker open: 3 consecutive failures "
                                 "(last: http_5xx); models: healthy")
    breakers = store.rows("SELECT probe_kind, from_state, to_state FROM health_events FINAL "
                          "WHERE kind = 'breaker' ORDER BY at")
    assert {b["probe_kind"] for b in breakers} == {"completion"}
    assert ("half_open", "closed") not in {(b["from_state"], b["to_state"]) for b in breakers}


def test_cut_streams_make_a_target_unhealthy_while_completions_work(store) -> None:
    actual = run_steps(store, config("completion", "stream"), [
        (0, kinds(completion={"ok": 10}, stream={"ok": 10}), ("healthy", "closed")),
        (2, kinds(completion="ok", stream=["stream_interrupted"] * 3), ("unhealthy", "open", 3, 0, (
            "stream: circuit breaker open: 3 consecutive failures (last: stream_interrupted); "
            "completion: healthy"))),
        (4, kinds(completion="ok"), ("unhealthy", "open")),
    ])
    assert actual[1:] == [("unhealthy", "open", 3, 0, (
        "stream: circuit breaker open: 3 consecutive failures (last: stream_interrupted); "
        "completion: healthy")), ("unhealthy", "open")]


def test_answers_of_all_kinds_together_reach_a_verdict_first(store) -> None:
    """Completions and streams each fail half their requests: 6 of each are too few for
    either kind's rules (breaker.min_requests 10), 12 together are enough."""
    alternate = ["ok", "http_5xx"]
    actual = run_steps(store, config("models", "completion", "stream"), [
        (0, kinds(models="ok", completion=alternate, stream=alternate), ("unknown",)),
        (2, kinds(completion=alternate, stream=alternate), ("unknown",)),
        (4, kinds(completion=alternate, stream=alternate), ("unhealthy", "closed", 1, 0, (
            "completion+stream together: 50.0% >= 50.0%: error rate 50.0% (at least 32.7% at 90% "
            "confidence) over the rule windows (6 of 12 failed); completion: unknown; stream: "
            "unknown; models: healthy"))),
        # held while the answers fail 35 % or more; a success of `models` changes nothing
        (6, kinds(models="ok", completion="ok", stream="ok"), ("unhealthy",)),
    ])
    assert actual[2][0] == "unhealthy" and actual[3] == ("unhealthy",)
    [snapshot] = store.rows("SELECT deciding_kind, rules FROM health_snapshots FINAL "
                            "WHERE evaluated_at = {at:DateTime64(3, 'UTC')}", {"at": instant(4)})
    assert snapshot["deciding_kind"] == "completion+stream"
    rules = {r.pop("name"): r for r in snapshot["rules"]}
    assert rules["answers_error_rate"] == {"value": 0.5, "limit": 0.5, "held": True}
    assert rules["answers_requests"] == {"value": 12.0, "limit": 30.0, "held": False}


def test_a_run_the_other_kinds_failures_explain_is_not_an_outage(store) -> None:
    """A model failing at random fails every kind: streams fail a third of their requests, then
    completions, clean so far, fail 3 in a row. Judged on the answers of both kinds (10 of 50
    failed before the run), a run of 3 is what such a model does, not an outage: the
    completion breaker opens, and the kind reads `degraded` (an open breaker is never
    `healthy`), not `unhealthy`."""
    steps = [(t, kinds(completion=["ok", "ok"], stream=["http_5xx", "ok", "ok"]), ())
             for t in range(0, 20, 2)]
    steps += [(20, kinds(completion=FAIL3, stream=["ok"]), ("degraded", "open", 3, 0))]
    actual = run_steps(store, config("completion", "stream"), steps)
    assert actual[-1] == ("degraded", "open", 3, 0)
    [kind] = store.rows("SELECT verdict, reason, outage, rules FROM health_kinds FINAL "
                        "WHERE probe_kind = 'completion' AND evaluated_at = {at:DateTime64(3, 'UTC')}",
                        {"at": instant(20)})
    assert not kind["outage"]
    assert kind["reason"] == (
        "circuit breaker open: 3 consecutive failures (last: http_5xx), not an outage (the "
        "answers' error rate explains such runs): error rate 13.0% (6.5% to 24.5% at 80% "
        "confidence) over 5m (3 of 23 failed: http_5xx x3)")
    rules = {r.pop("name"): r for r in kind["rules"]}
    # 9 in a row would be an outage: (10 + 1) / (50 + 2) ^ 9 < 1 / 1,000,000
    assert rules["consecutive_failures"] == {"value": 3.0, "limit": 9.0, "held": False}
    assert rules["breaker_not_closed"] == {"value": None, "limit": None, "held": True}


def test_kinds_recovering_one_after_the_other_go_straight_back_to_healthy(store) -> None:
    """An outage of both kinds; completion closes its breaker first, stream 6 s later. The
    outage's failures leave the answers counted together with each kind's rule window: the
    target goes unhealthy -> healthy, never through degraded."""
    fail = "http_5xx"
    steps = [(0, kinds(completion={"ok": 20}, stream={"ok": 20}), ("healthy",)),
             (2, kinds(completion=FAIL3, stream=FAIL3), ("unhealthy",)),
             (4, kinds(completion=fail, stream=fail), ("unhealthy",)),
             (6, kinds(completion=fail, stream=fail), ("unhealthy",))]
    steps += [(t, kinds(completion="ok", stream=fail if t < 14 else "ok"), ("",)) for t in range(8, 26, 2)]
    actual = run_steps(store, config("completion", "stream"), steps)
    statuses = [a[0] for a in actual]
    assert "degraded" not in statuses, statuses
    assert statuses[-1] == "healthy", statuses
    events = [(e[3], e[4]) for e in synthetic.events(store) if e[2] == "status"]
    assert events == [("new", "healthy"), ("healthy", "unhealthy"), ("unhealthy", "healthy")], events


def test_a_run_during_another_kinds_outage_is_an_outage_too(store) -> None:
    """Both kinds go down 2 s apart with a history of their own: completion's 3 failures open
    its breaker as an outage; by the time stream has its 3, the flip back has given completion a
    success, so completion's failures of the same outage are no longer its current run. They
    must not count as stream's baseline (3 of its 32 requests would ask 7 in a row): stream's run is an
    outage because completion's is, both rule windows restart at the close, and the target goes
    unhealthy -> healthy, never through degraded."""
    steps = [(0, kinds(completion={"ok": 14}, stream={"ok": 14}), ("healthy",)),
             (2, kinds(completion=FAIL3, stream="http_5xx"), ("unhealthy",)),
             (4, kinds(completion="ok", stream=["http_5xx", "http_5xx"]), ("unhealthy",))]
    steps += [(t, kinds(completion="ok", stream="ok"), ("",)) for t in range(6, 24, 2)]
    actual = run_steps(store, config("completion", "stream"), steps)
    statuses = [a[0] for a in actual]
    assert "degraded" not in statuses and statuses[-1] == "healthy", statuses
    rows = store.rows("SELECT probe_kind, outage, rules_from = evaluated_at AS restarted FROM health_kinds FINAL "
                      "WHERE target = 'a' ORDER BY evaluated_at, probe_kind")
    assert {"completion": True, "stream": True} == {
        k: any(r["outage"] for r in rows if r["probe_kind"] == k) for k in ("completion", "stream")}
    assert sorted(r["probe_kind"] for r in rows if r["restarted"]) == ["completion", "stream"]


def _completion_verdicts(store) -> list[tuple[str, str]]:
    return [(r["verdict"], r["reason"]) for r in store.rows(
        "SELECT verdict, reason FROM health_kinds FINAL WHERE target = 'a' AND probe_kind = 'completion' "
        "ORDER BY evaluated_at")]


@pytest.mark.parametrize(("steps", "expected"), [
    pytest.param([["ok"], ["http_5xx", "http_5xx", "ok"], ["http_5xx", "http_5xx"]], [
        ("healthy", "error rate 0.0% over 5m (1 probes)"),
        ("healthy", "error rate 50.0% over 5m (4 probes)"),
        ("unknown", "4 of 6 requests failed over 5m: a verdict needs 30 requests")],
        id="failures-the-bound-puts-at-the-unhealthy-hold-put-it-in-doubt"),
    pytest.param([["ok"] * 10, ["http_5xx", "ok"], ["http_5xx"]], [
        ("healthy", "error rate 0.0% over 5m (10 probes)"),
        ("healthy", "error rate 8.3% over 5m (12 probes)"),
        ("healthy", "error rate 15.4% over 5m (13 probes)")],
        id="two-failures-among-thirteen-leave-it-healthy"),
])
def test_a_healthy_kind_keeps_its_verdict_through_few_failures_among_few(
        store, steps: list[list[str]], expected: list[tuple[str, str]]) -> None:
    """Random failures among few requests are no change; failures that put the kind in doubt
    (90 % lower bound of 4 of 6 at 35 %, the rate that holds `unhealthy`, or more) make it
    `unknown` until min_requests, never `healthy`; 2 of 13 (lower bound 6.6 %, a model failing
    1 % in the false-alarm soak) do not."""
    run_steps(store, config("completion"), [(2 * i, kinds(completion=probes), ())
                                            for i, probes in enumerate(steps)])
    assert _completion_verdicts(store) == expected


@pytest.mark.parametrize(("before", "verdict", "restarted"), [
    pytest.param(3, "unhealthy", False, id="within-its-first-probes-the-failures-stay"),
    pytest.param(10, "healthy", True, id="after-breaker-min-requests-the-window-restarts"),
])
def test_the_rule_window_restarts_only_after_an_outage_of_a_kind_with_a_history(
        store, before: int, verdict: str, restarted: bool) -> None:
    """Clean probes, 3 failures in a row (an outage: none failed before), recovery. With fewer
    than breaker.min_requests (10) requests before it, which a model failing half its requests
    also shows, the failures stay in the rule window and the kind stays `unhealthy` (4 of 10
    failed, held at 35 %); with 10, the window starts again at the close and the kind is
    `healthy`."""
    run_steps(store, config("completion"), [
        (0, kinds(completion=["ok"] * before), ()), (2, kinds(completion=FAIL3), ()),
        (4, kinds(completion="http_5xx"), ()), (8, kinds(completion="ok"), ()),
        (10, kinds(completion=["ok", "ok"]), ())])
    rows = store.rows("SELECT verdict, breaker, outage, rules_from = evaluated_at AS restarted "
                      "FROM health_kinds FINAL WHERE target = 'a' ORDER BY evaluated_at")
    assert [(r["breaker"], r["outage"]) for r in rows] == [
        ("closed", False), ("open", True), ("open", True), ("half_open", True), ("closed", False)]
    assert [r["verdict"] for r in rows[1:]] == ["unhealthy"] * 3 + [verdict]
    assert rows[-1]["restarted"] == restarted


def test_latency_quantiles_per_kind(store) -> None:
    """A `models` listing's 5 ms answers do not dilute a completion's 2 s."""
    synthetic.points(store, [
        *probe_points("a", instant(-10), {"ok": 20}, kind="models"),
        *probe_points("a", instant(-10), {"ok": 5}, kind="completion"),
        synthetic.latency_point("a", instant(-10), {0.005: 20}, kind="models"),
        synthetic.latency_point("a", instant(-10), {2.0: 5}, kind="completion")])
    evaluate(store, config("models", "completion"), instant(0))
    windows = {r["probe_kind"]: r["latency_p50_s"] for r in store.rows(
        "SELECT probe_kind, latency_p50_s FROM health_windows FINAL WHERE window_seconds = 300")}
    assert windows["models"] == pytest.approx(0.005, rel=0.02)
    assert windows["completion"] == pytest.approx(2.0, rel=0.02)
    assert windows[""] == pytest.approx(2.0, rel=0.02)  # the target's: answers only
    [snapshot] = store.rows("SELECT latency_p50_s FROM health_snapshots FINAL WHERE target = 'a'")
    assert snapshot["latency_p50_s"] == pytest.approx(2.0, rel=0.02)


def test_a_refused_probe_is_unknown_not_an_outage(store) -> None:
    actual = run_steps(store, config("completion"), [
        (0, {"ok": 10}, ("healthy", "closed")),
        (2, ["probe_rejected"] * 5, ("unknown", "closed", 0, 10, (
            "completion: the provider refused the probe request itself (probe_rejected): the "
            "prober log says which setting to change"))),
    ])
    assert actual[1][0] == "unknown"
    [kind] = store.rows("SELECT requests, errors, consecutive_failures FROM health_kinds FINAL "
                        "WHERE evaluated_at = {at:DateTime64(3, 'UTC')}", {"at": instant(2)})
    assert kind == {"requests": 10, "errors": 0, "consecutive_failures": 0}


def test_a_snapshot_records_every_rule_it_checked(store) -> None:
    run_steps(store, config("completion"), [(0, {"ok": 20, "http_5xx": 20}, ())])
    [kind] = store.rows("SELECT rules, targets_version FROM health_kinds FINAL")
    rules = {r.pop("name"): r for r in kind["rules"]}
    assert rules["error_rate"] == {"value": 0.5, "limit": 0.5, "held": True}
    assert rules["requests"] == {"value": 40.0, "limit": 30.0, "held": True}
    assert rules["latency_p99_s"] == {"value": None, "limit": 5.0, "held": False}
    [target] = store.rows("SELECT deciding_kind, kinds, targets_version FROM health_snapshots FINAL")
    assert target["deciding_kind"] == "completion"
    assert [(k["probe_kind"], k["verdict"]) for k in target["kinds"]] == [("completion", "unhealthy")]
    assert target["targets_version"] == kind["targets_version"] != 0


SETTLED = {0.01: "healthy", 0.1: "degraded", 0.3: "degraded", 0.5: "unhealthy", 1.0: "unhealthy"}
SETTLE_S = 150
SETTLE_EVERY_S = 3


def settle_target(p: float) -> str:
    return f"p{p:g}"


@pytest.fixture(scope="module")
def settled(reusable_store: ReusableStore) -> dict[float, list[dict]]:
    """Every p of SETTLED run at once: one target per p (completions and streams, as the
    prober's cadence runs them, fixed seeds), all in one store and evaluated together every 3 s
    for 150 s, probes stored 1 s before each instant as in run_steps. Targets are evaluated
    independently (every rule, streak and count is per target), so each target's snapshots are
    those it would get alone; per p: its snapshots in order as {at, status, n, e}, with the
    requests (n) and errors (e) of its kinds at that instant."""
    targets = {p: settle_target(p) for p in SETTLED}
    cfg = Config.model_validate({"targets": [
        {"name": name, "base_url": "http://x/v1", "model": "m", "probes": ["completion", "stream"]}
        for name in targets.values()]})
    # the two kinds half an interval apart, as the prober spreads them
    probes = {p: {"completion": schedule(p, SETTLE_S, seed=1, offset=1.0),
                  "stream": schedule(p, SETTLE_S, seed=2, offset=3.5)}
              for p in SETTLED}
    instants = list(range(SETTLE_EVERY_S, SETTLE_S + 1, SETTLE_EVERY_S))
    store = reusable_store.fresh()
    for at in instants:
        rows = []
        for p, name in targets.items():
            due = {kind: [o for t, o in runs if at - SETTLE_EVERY_S < t <= at] or None
                   for kind, runs in probes[p].items()}
            rows += synthetic.step_rows(name, instant(at - 1), kinds_of(name, **due))
        synthetic.points(store, rows)
        evaluate(store, cfg, instant(at))
    snapshots = store.rows(
        "SELECT target, dateDiff('second', {t0:DateTime64(3, 'UTC')}, evaluated_at) AS at, status "
        "FROM health_snapshots FINAL ORDER BY target, at", {"t0": instant(0)})
    answers = store.rows(
        "SELECT target, dateDiff('second', {t0:DateTime64(3, 'UTC')}, evaluated_at) AS at, "
        "sum(requests) AS n, sum(errors) AS e FROM health_kinds FINAL GROUP BY target, at",
        {"t0": instant(0)})
    counts = {(r["target"], r["at"]): (r["n"], r["e"]) for r in answers}
    result = {}
    for p, name in targets.items():
        rows = [r for r in snapshots if r["target"] == name]
        # one snapshot of the target at every instant (run_steps checks each as it goes)
        assert [r["at"] for r in rows] == instants, (name, [r["at"] for r in rows])
        for row in rows:
            row["n"], row["e"] = counts[(name, row["at"])]
        result[p] = rows
    return result


@pytest.mark.parametrize("p", list(SETTLED))
def test_a_target_failing_at_random_settles_then_holds(settled: dict, p: float) -> None:
    """Completions and streams failing at random with probability p, as the prober's cadence
    runs them (fixed seeds), evaluated every 3 s for 150 s. The target is never `healthy`
    once failing is evident: never while the answers so far hold at least 10 with half or
    more failed, and never after it first reads what p should read (`SETTLED`), which it then
    holds to the end; 50 % and more within 30 s of the first evaluation. (All five p run at
    once in one store, one target each: see `settled`.)"""
    rows = settled[p]
    statuses = [r["status"] for r in rows]
    expected = SETTLED[p]
    assert expected in statuses, statuses
    first = statuses.index(expected)
    assert set(statuses[first:]) == {expected}, statuses
    evident = [r for r in rows if r["n"] >= 10 and 2 * r["e"] >= r["n"]]
    assert all(r["status"] != "healthy" for r in evident), evident
    if p == 0.01:
        assert set(statuses) <= {"unknown", "healthy"}, statuses
    if p >= 0.5:
        assert rows[first]["at"] - rows[0]["at"] <= 30, rows[:12]
