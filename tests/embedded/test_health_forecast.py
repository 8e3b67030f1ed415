"""The rate-limit exhaustion forecast (evaluate_ratelimits.sql, evaluate_snapshots.sql): from the
remaining values and resets the probes report (and the applications' request rate where the
reports are too few), when each resource runs out at the current rate, and whether that is
before its reset and soon enough to make the target `degraded`.

Each case is a list of reports (offset s from T0, resource, remaining, seconds to reset or None),
stored at their own time, with one successful completion probe, for a target of its own (named
after the case); T0 is evaluated once for all of them (no previous snapshot: the candidate
takes effect at once). thresholds.ratelimit_exhaustion is 60 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.evaluate import evaluate
from aggregator.store.embedded import EmbeddedStore
from llmhealth_config.model import Config
from tests.conftest import migrated_store
from tests.embedded import synthetic
from tests.embedded.synthetic import T0, instant, point, probe_points

pytestmark = pytest.mark.embedded

Report = tuple[float, str, float, float | None]
FORECAST = """
SELECT resource, samples, burn_per_s, burn_from, exhausted_in_s, reset_in_s, runs_out, warns
FROM health_ratelimits FINAL WHERE target = {target:String} AND evaluated_at = {at:DateTime64(3, 'UTC')}
ORDER BY resource
"""
SNAPSHOT = """
SELECT status, reason, deciding_kind, ratelimit_exhausted_resource, ratelimit_exhausted_in_s,
       ratelimit_reset_in_s
FROM health_snapshots FINAL WHERE target = {target:String} AND evaluated_at = {at:DateTime64(3, 'UTC')}
"""


def config(*names: str, **thresholds) -> Config:
    """Targets `names` (default `a`), each with its own model, probing completions."""
    return Config.model_validate({
        "targets": [{"name": name, "base_url": "http://x/v1", "model": name, "provider": "openai",
                     "probes": ["completion"]} for name in names or ("a",)],
        "thresholds": thresholds})


def steady(last: float, per_s: float, reset_in: float | None, resource: str = "tokens",
           every: float = 2, since: float = -40) -> list[Report]:
    """Reports every `every` s from `since` to -2 s, falling `per_s` a second to `last` at -2 s;
    each announces the same reset instant, `reset_in` s after T0 (None: no reset reported)."""
    count = int((-2 - since) / every) + 1
    times = [since + every * i for i in range(count)]
    return [(t, resource, last + per_s * (-2 - t), None if reset_in is None else reset_in - t)
            for t in times]


def rows(reports: list[Report], probe_at: float = -1, target: str = "a",
         base: datetime = T0) -> list[dict]:
    """The reports' points of `target`, and a successful completion probe at `probe_at` (offsets
    from `base`)."""
    out = probe_points(target, instant(probe_at, base), "ok")
    for offset, resource, remaining, reset_s in reports:
        at = instant(offset, base)
        out.append(synthetic.ratelimit_point(target, at, resource, remaining))
        if reset_s is not None:
            out.append(point(at, target=target, signal="ratelimit_reset", kind="",
                             outcome=resource, temporality=0, value=float(reset_s)))
    return out


BURSTS = [(t, "tokens", 1000.0 - 100 * sum(1 for b in (-30, -20, -10) if t >= b), 120 - t)
          for t in range(-40, -1, 2)]
RESET_BETWEEN = [(t, "requests", 100 - 2 * (t + 40), -9 - t) for t in range(-40, -9, 2)] + \
                [(t, "requests", 60 - (t + 8), 70 - t) for t in range(-8, -1, 2)]
# The provider's announced reset passes between two reports without the value rising (another
# client spent what came back): the run starts again there.
ANNOUNCED = [(t, "tokens", 500 - 20 * (t + 40), -19 - t) for t in range(-40, -19, 2)] + \
            [(t, "tokens", 100 - 2.5 * (t + 18), 100 - t) for t in range(-18, -1, 2)]

# (reports, forecast rows (resource, samples, burn, from, exhausted in, reset in,
# runs out, warns), snapshot (status, reason, deciding kind, resource, exhausted in, reset in))
CASES = [
    pytest.param(steady(last=420, per_s=10, reset_in=55),
                 [("tokens", 20, 10.0, "remaining", 40.0, 55.0, True, True)],
                 ("degraded", ("tokens run out in ~40 s at the current rate; reset in 55 s; "
                               "completion: healthy"), "ratelimit", "tokens", 40.0, 55.0),
                 id="steady-burn-runs-out-before-reset-degraded"),
    pytest.param(steady(last=420, per_s=10, reset_in=30),
                 [("tokens", 20, 10.0, "remaining", 40.0, 30.0, False, False)],
                 ("healthy", "completion: error rate 0.0% over 5m (1 probes)", "completion", "",
                  None, None),
                 id="steady-burn-reset-comes-first-healthy"),
    pytest.param(steady(last=3020, per_s=10, reset_in=600),
                 [("tokens", 20, 10.0, "remaining", 300.0, 600.0, True, False)],
                 ("healthy", ("completion: error rate 0.0% over 5m (1 probes); tokens run out in "
                              "~5 min at the current rate; reset in 10 min"), "completion", "tokens",
                  300.0, 600.0),
                 id="runs-out-later-than-threshold-named-in-reason"),
    pytest.param(BURSTS,
                 [("tokens", 20, 300 / 38, "remaining", 700 / (300 / 38) - 2, 120.0, True, False)],
                 ("healthy", ("completion: error rate 0.0% over 5m (1 probes); tokens run out in "
                              "~87 s at the current rate; reset in 2 min"), "completion", "tokens",
                  pytest.approx(700 / (300 / 38) - 2), 120.0),
                 id="bursts-burn-at-their-average-over-the-minute"),
    pytest.param([(-100, "tokens", 1000, 300), (-90, "tokens", 100, 290)]
                 + [(t, "tokens", 100, 200 - t) for t in range(-80, -1, 2)],
                 [("tokens", 31, 0.0, "remaining", None, 200.0, False, False)],
                 ("healthy", "completion: error rate 0.0% over 5m (1 probes)", "completion", "",
                  None, None),
                 id="burst-over-a-minute-ago-then-flat-no-forecast"),
    pytest.param(RESET_BETWEEN,
                 [("requests", 4, 1.0, "remaining", 52.0, 70.0, True, True)],
                 ("degraded", ("requests run out in ~52 s at the current rate; reset in 70 s; "
                               "completion: healthy"), "ratelimit", "requests", 52.0, 70.0),
                 id="reset-in-between-only-the-run-since-counts"),
    pytest.param(ANNOUNCED,
                 [("tokens", 9, 2.5, "remaining", 22.0, 100.0, True, True)],
                 ("degraded", ("tokens run out in ~22 s at the current rate; reset in 100 s; "
                               "completion: healthy"), "ratelimit", "tokens", 22.0, 100.0),
                 id="announced-reset-passed-without-a-rise-run-starts-there"),
    pytest.param(steady(last=420, per_s=10, reset_in=None),
                 [("tokens", 20, 10.0, "remaining", 40.0, None, True, True)],
                 ("degraded", ("tokens run out in ~40 s at the current rate; the provider reports "
                               "no reset; completion: healthy"), "ratelimit", "tokens", 40.0, None),
                 id="no-reset-reported-runs-out-anyway"),
    pytest.param(steady(last=420, per_s=10, reset_in=-1),
                 [("tokens", 20, 10.0, "remaining", None, -1.0, False, False)],
                 ("healthy", "completion: error rate 0.0% over 5m (1 probes)", "completion", "",
                  None, None),
                 id="reset-passed-since-last-report-value-is-old"),
    pytest.param([(-10, "requests", 50, 100)],
                 [("requests", 1, None, "", None, 90.0, False, False)],
                 ("healthy", "completion: error rate 0.0% over 5m (1 probes)", "completion", "",
                  None, None),
                 id="one-report-no-rate-no-forecast"),
    pytest.param(steady(last=420, per_s=10, reset_in=55)
                 + steady(last=100, per_s=1, reset_in=55, resource="requests"),
                 [("requests", 20, 1.0, "remaining", 98.0, 55.0, False, False),
                  ("tokens", 20, 10.0, "remaining", 40.0, 55.0, True, True)],
                 ("degraded", ("tokens run out in ~40 s at the current rate; reset in 55 s; "
                               "completion: healthy"), "ratelimit", "tokens", 40.0, 55.0),
                 id="the-resource-that-runs-out-decides"),
]


@pytest.fixture(scope="module")
def evaluated(engine_dir: Path) -> Iterator[EmbeddedStore]:
    """Every case as a target of its own, evaluated once at T0 (one evaluation for all)."""
    with migrated_store(engine_dir) as store:
        names = [case.id for case in CASES]
        synthetic.points(store, [row for case in CASES
                                 for row in rows(case.values[0], target=case.id)])
        evaluate(store, config(*names), instant(0))
        yield store


@pytest.mark.parametrize(("reports", "forecast", "snapshot"), CASES)
def test_forecast(evaluated: EmbeddedStore, request: pytest.FixtureRequest, reports: list[Report],
                  forecast: list[tuple], snapshot: tuple) -> None:
    where = {"target": request.node.callspec.id, "at": instant(0)}
    actual = [tuple(r.values()) for r in evaluated.rows(FORECAST, where)]
    assert actual == [tuple(pytest.approx(v) if isinstance(v, float) else v for v in row)
                      for row in forecast]
    assert tuple(evaluated.rows(SNAPSHOT, where)[0].values()) == snapshot


def test_threshold_is_a_setting_per_target(store) -> None:
    """thresholds.ratelimit_exhaustion: 30 s keeps a run-out in 40 s a note, not a verdict; the
    rule is recorded with its value and limit either way."""
    synthetic.points(store, rows(steady(last=420, per_s=10, reset_in=55)))
    evaluate(store, config(ratelimit_exhaustion="30s"), instant(0))
    snapshot = store.rows(SNAPSHOT, {"target": "a", "at": instant(0)})[0]
    assert snapshot["status"] == "healthy"
    assert snapshot["reason"].endswith("; tokens run out in ~40 s at the current rate; reset in 55 s")
    rules = store.rows("SELECT rules FROM health_snapshots FINAL WHERE target = 'a'")[0]["rules"]
    assert {"name": "ratelimit_exhausted_in_s", "value": 40.0, "limit": 30.0, "held": False} in rules


def test_degraded_waits_for_hysteresis_and_clears_when_the_reset_comes(store) -> None:
    """Evaluated in order like the worker: the forecast's degraded takes effect after two
    evaluations (hysteresis), and once the limit resets (the remaining rises) the target is
    healthy again, after two evaluations too."""
    reports = steady(last=420, per_s=10, reset_in=55, since=-60)
    after_reset = [(3, "tokens", 1000, 60), (5, "tokens", 990, 58)]
    statuses = {}
    for at, since in ((-30, -60), (-10, -30), (0, -10), (6, 0), (8, 6)):
        batch = [r for r in reports + after_reset if since <= r[0] < at]
        synthetic.points(store, rows(batch, probe_at=at - 1))
        evaluate(store, config(), instant(at))
        statuses[at] = store.rows(SNAPSHOT, {"target": "a", "at": instant(at)})[0]["status"]
    # -30: runs out in 70 s (> 60 s); -10: in 50 s, degraded for 1 of 2 evaluations; 0: degraded;
    # 6: reset, healthy for 1 of 2; 8: healthy
    assert statuses == {-30: "healthy", -10: "healthy", 0: "degraded", 6: "degraded",
                        8: "healthy"}


def test_one_report_burns_at_the_applications_request_rate(store) -> None:
    """One report of the remaining requests, and 60 requests of an application (exported as the
    GenAI conventions have it, to the target's server) in the last minute: the requests burn at
    1 a second. Evaluated a moment after now: applications' points are stored as they arrive."""
    at = datetime.fromtimestamp(time.time() // 2 * 2 + 4, UTC)
    synthetic.points(store, rows([(-10, "requests", 50, 100)], target="a", probe_at=-1, base=at))
    point_ = synthetic.exponential_point([0.2] * 60)
    store.execute(synthetic.INSERT_HISTOGRAM, {
        "service": "app", "metric": "gen_ai.client.operation.duration",
        "attrs": {"gen_ai.provider.name": "openai", "gen_ai.request.model": "a",
                  "gen_ai.operation.name": "chat", "server.address": "x", "server.port": "80"},
        "at": instant(-5, at), "count": point_.count, "sum": point_.sum, "scale": point_.scale,
        "zero": point_.zero_count, "offset": point_.positive.offset,
        "buckets": list(point_.positive.bucket_counts), "min": point_.min, "max": point_.max})
    time.sleep(max(0.0, at.timestamp() - time.time()))
    evaluate(store, config("a"), at)
    where = {"target": "a", "at": at}
    assert [tuple(r.values()) for r in store.rows(FORECAST, where)] == [
        ("requests", 1, pytest.approx(1.0), "applications", pytest.approx(40.0),
         pytest.approx(90.0), True, True)]
    assert store.rows(SNAPSHOT, where)[0]["reason"] == (
        "requests run out in ~40 s at the current rate; reset in 90 s; completion: healthy")
