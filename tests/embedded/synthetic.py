"""Synthetic input for SQL tests: probe metrics written into the otel_metrics_* tables, or
health_points rows written directly (with the instant they were stored), and a small scenario
DSL that evaluates instants in order."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View

from aggregator.evaluate import evaluate
from aggregator.store.base import Store
from llmhealth_config.model import Config
from llmhealth_config.product import PROBER_SERVICE_NAME

INSERT_OUTCOMES = """
INSERT INTO otel_metrics_sum (ServiceName, MetricName, Attributes, TimeUnix, Value,
                              AggregationTemporality, IsMonotonic)
VALUES ({service:String}, 'llmhealth.probe.outcomes', {attrs:Map(String, String)},
        {at:DateTime64(3, 'UTC')}, {n:Float64}, 1, true)
"""

INSERT_HISTOGRAM = """
INSERT INTO otel_metrics_exponential_histogram (ServiceName, MetricName, Attributes, TimeUnix,
    Count, Sum, Scale, ZeroCount, PositiveOffset, PositiveBucketCounts, Min, Max,
    AggregationTemporality)
VALUES ({service:String}, {metric:String}, {attrs:Map(String, String)}, {at:DateTime64(3, 'UTC')},
        {count:UInt64}, {sum:Float64}, {scale:Int32}, {zero:UInt64}, {offset:Int32},
        {buckets:Array(UInt64)}, {min:Float64}, {max:Float64}, 1)
"""


def outcomes(store: Store, target: str, at: datetime, counts: dict[str, int],
             kind: str = "completion") -> None:
    for outcome, n in counts.items():
        attrs = {"llmhealth.target": target, "llmhealth.probe.kind": kind,
                 "llmhealth.probe.outcome": outcome}
        store.execute(INSERT_OUTCOMES, {"service": PROBER_SERVICE_NAME, "attrs": attrs,
                                        "at": at, "n": float(n)})


def exponential_point(samples: Iterable[float], max_size: int = 640):
    """The delta exponential-histogram point the OTel SDK builds from `samples`."""
    reader = InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})
    provider = MeterProvider(metric_readers=[reader], views=[
        View(instrument_type=Histogram, aggregation=ExponentialBucketHistogramAggregation(max_size=max_size))])
    histogram = provider.get_meter("synthetic").create_histogram("h", unit="s")
    for value in samples:
        histogram.record(float(value))
    data = reader.get_metrics_data()
    provider.shutdown()
    return data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points[0]


def histogram(store: Store, target: str, at: datetime, samples: Iterable[float],
              metric: str = "gen_ai.client.operation.duration", kind: str = "completion",
              error_type: str | None = None) -> None:
    point = exponential_point(samples)
    attrs = {"llmhealth.target": target, "llmhealth.probe.kind": kind}
    if error_type:
        attrs["error.type"] = error_type
    store.execute(INSERT_HISTOGRAM, {
        "service": PROBER_SERVICE_NAME, "metric": metric, "attrs": attrs, "at": at,
        "count": point.count, "sum": point.sum, "scale": point.scale, "zero": point.zero_count,
        "offset": point.positive.offset, "buckets": list(point.positive.bucket_counts),
        "min": point.min, "max": point.max})


# health_points rows written directly (the health model's input), with explicit `inserted_at`, so
# evaluations "as of" an instant see exactly the rows stored by then.
POINT_DEFAULTS = {"temporality": 1, "series": 0, "source": "probe", "target": "", "provider": "",
                  "model": "", "signal": "outcome", "kind": "completion", "outcome": "ok",
                  "value": 1.0, "buckets": {}}

INSERT_POINTS = """
INSERT INTO health_points (inserted_at, time, start, temporality, series, source, target, provider,
                           model, signal, kind, outcome, value, buckets)
SELECT * FROM format(JSONEachRow,
    'inserted_at DateTime64(3, \\'UTC\\'), time DateTime64(3, \\'UTC\\'),
     start DateTime64(3, \\'UTC\\'), temporality Int8, series UInt64, source String,
     target String, provider String, model String, signal String, kind String, outcome String,
     value Float64, buckets Map(Int16, UInt64)',
    {rows:String})
"""


def stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def point(time: datetime, *, inserted_at: datetime | None = None, start: datetime | None = None,
          **columns) -> dict:
    """One health_points row at `time`: stored at `inserted_at` (default `time`), the series
    started at `start` (default `time`); other columns default to a delta probe outcome `ok`."""
    unknown = set(columns) - set(POINT_DEFAULTS)
    assert not unknown, f"not health_points columns: {unknown}"
    return {"inserted_at": stamp(inserted_at or time), "time": stamp(time),
            "start": stamp(start or time), **POINT_DEFAULTS, **columns}


def points(store: Store, rows: Iterable[dict]) -> None:
    """Insert `rows` (from `point`) into health_points in one statement."""
    text = "\n".join(json.dumps(row) for row in rows)
    if text:
        store.execute(INSERT_POINTS, {"rows": text})  # encode_param escapes the newlines


def probe_points(target: str, time: datetime, probes: str | list[str] | dict[str, int] | None,
                 kind: str = "completion") -> list[dict]:
    """Outcome points of `target`'s probes of `kind` at `time`: one outcome, a sequence of
    outcomes (10 ms apart, in order) or counts per outcome (one point each, exported together at
    one time)."""
    if probes is None:
        return []
    if isinstance(probes, dict):
        return [point(time, target=target, kind=kind, outcome=o, value=float(n)) for o, n in probes.items()]
    if isinstance(probes, str):
        probes = [probes]
    return [point(time + timedelta(milliseconds=10 * i), target=target, kind=kind, outcome=o)
            for i, o in enumerate(probes)]


def bucket(seconds: float) -> int:
    """The scale-5 exponential bucket holding `seconds`: key k covers (2^(k/32), 2^((k+1)/32)]."""
    return math.ceil(32 * math.log2(seconds)) - 1


def latency_point(target: str, time: datetime, samples: dict[float, int], signal: str = "latency",
                  kind: str = "completion", outcome: str = "ok") -> dict:
    """A histogram point of probes with `outcome`: `samples` maps a value (s) to its count."""
    buckets: dict[int, int] = {}
    for value, n in samples.items():
        buckets[bucket(value)] = buckets.get(bucket(value), 0) + n
    return point(time, target=target, signal=signal, kind=kind, outcome=outcome,
                 value=float(sum(samples.values())), buckets={str(k): n for k, n in buckets.items()})


APP_DEFAULTS = {"temporality": 1, "series": 0, "service": "app", "provider": "openai", "model": "m",
                "server_address": "x", "server_port": "", "operation": "chat",
                "metric": "gen_ai.client.operation.duration", "error_type": "", "value": 1.0,
                "buckets": {}}

INSERT_APP_POINTS = """
INSERT INTO health_passive_points (inserted_at, time, start, temporality, series, source, service,
                                   provider, model, server_address, server_port, operation, metric,
                                   error_type, value, buckets)
SELECT inserted_at, time, start, temporality, series,
       cityHash64(service, provider, model, server_address, server_port), service, provider, model,
       server_address, server_port, operation, metric, error_type, value, buckets
FROM format(JSONEachRow,
    'inserted_at DateTime64(3, \\'UTC\\'), time DateTime64(3, \\'UTC\\'),
     start DateTime64(3, \\'UTC\\'), temporality Int8, series UInt64, service String,
     provider String, model String, server_address String, server_port String, operation String,
     metric String, error_type String, value Float64, buckets Map(Int16, UInt64)',
    {rows:String})
"""


def app_points(time: datetime, counts: dict[str, int], *, inserted_at: datetime | None = None,
               start: datetime | None = None, **columns) -> list[dict]:
    """Applications' request counts (health_passive_points rows) at `time`, one per error.type
    ('' for successes); other columns default to service `app` calling openai model `m` at
    server `x` (APP_DEFAULTS)."""
    unknown = set(columns) - set(APP_DEFAULTS)
    assert not unknown, f"not health_passive_points columns: {unknown}"
    return [{"inserted_at": stamp(inserted_at or time), "time": stamp(time),
             "start": stamp(start or time), **APP_DEFAULTS, **columns, "error_type": error_type,
             "value": float(n)} for error_type, n in counts.items()]


def app_insert(store: Store, rows: Iterable[dict]) -> None:
    """Insert `rows` (from `app_points`) into health_passive_points in one statement."""
    text = "\n".join(json.dumps(row) for row in rows)
    if text:
        store.execute(INSERT_APP_POINTS, {"rows": text})


def ratelimit_point(target: str, time: datetime, resource: str, remaining: float) -> dict:
    """The provider's remaining requests/tokens (`resource`) reported to a probe of `target`."""
    return point(time, target=target, signal="ratelimit_remaining", kind="", outcome=resource,
                 temporality=0, value=float(remaining))


# Scenario DSL for the health model: steps (offset s from T0, probes, expected snapshot).
# T0 is yesterday 12:00 UTC: a fixed time of day (minute and hour alignment as the scenarios
# expect) that stays inside every table's default retention, which drops older rows on insert.
T0 = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)

Probes = str | list[str] | dict[str, int] | Callable[[datetime], list[dict]] | tuple | None

SNAPSHOT = """
SELECT status, breaker, consecutive_failures, consecutive_successes, reason
FROM health_snapshots FINAL
WHERE target = {target:String} AND evaluated_at = {at:DateTime64(3, 'UTC')}
"""


def instant(offset_s: float, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=offset_s)


def step_rows(target: str, time: datetime, probes: Probes) -> list[dict]:
    """Rows of one step at `time`: outcomes of `target` (see `probe_points`), rows built by a
    callable from the time, or a tuple of those."""
    if probes is None:
        return []
    if isinstance(probes, tuple):
        return [row for part in probes for row in step_rows(target, time, part)]
    if callable(probes):
        return probes(time)
    return probe_points(target, time, probes)


def run_steps(store: Store, config: Config, steps: Iterable[tuple[float, Probes, tuple]],
              target: str = "a", base: datetime = T0) -> list[tuple]:
    """Per step (offset, probes, expected): store the probes 1 s before the instant, evaluate
    the instant, and return `target`'s snapshot as (status, breaker, consecutive_failures,
    consecutive_successes, reason), cut to the length of that step's expected tuple."""
    actual = []
    for offset, probes, expected in steps:
        at = instant(offset, base)
        points(store, step_rows(target, at - timedelta(seconds=1), probes))
        evaluate(store, config, at)
        rows = store.rows(SNAPSHOT, {"target": target, "at": at})
        assert len(rows) == 1, f"{len(rows)} snapshots of {target} at {at}"
        actual.append(tuple(rows[0].values())[:len(expected)])
    return actual


def events(store: Store, base: datetime = T0) -> list[tuple]:
    """health_events (FINAL) as (offset s from `base`, target, kind, from, to, reason)."""
    rows = store.rows("SELECT dateDiff('millisecond', {base:DateTime64(3, 'UTC')}, at) / 1000, "
                      "target, kind, from_state, to_state, reason FROM health_events FINAL "
                      "ORDER BY at, target, kind", {"base": base})
    return [tuple(r.values()) for r in rows]
