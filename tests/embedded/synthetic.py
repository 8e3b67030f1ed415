"""Write synthetic probe metrics straight into the otel_metrics_* tables for SQL tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View

from aggregator.store.base import Store
from llmhealth import PROBER_SERVICE_NAME

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
