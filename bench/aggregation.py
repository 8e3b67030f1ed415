"""One aggregation cycle's time for N targets with 5 minutes of probe data in the tables.

Data as the prober writes it: per target, an export every 2 s for 5 minutes (150 points) of
the outcomes counter (ok and one error type) and of the latency and TTFT histograms.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from aggregator.evaluate import evaluate
from aggregator.store.embedded import EmbeddedStore
from llmhealth import PROBER_SERVICE_NAME
from llmhealth.config.model import Config

FILL_OUTCOMES = """
INSERT INTO otel_metrics_sum (ServiceName, MetricName, Attributes, TimeUnix, Value,
                              AggregationTemporality, IsMonotonic)
SELECT {service:String}, 'llmhealth.probe.outcomes',
       map('llmhealth.target', concat('t', toString(number % {targets:UInt32})),
           'llmhealth.probe.kind', 'completion',
           'llmhealth.probe.outcome', if(number % 50 = 0, 'timeout', 'ok')),
       {at:DateTime64(3, 'UTC')} - toIntervalMillisecond(2000 * intDiv(number, {targets:UInt32})),
       1, 1, true
FROM numbers({targets:UInt32} * 150)
"""

FILL_HISTOGRAMS = """
INSERT INTO otel_metrics_exponential_histogram (ServiceName, MetricName, Attributes, TimeUnix,
    Count, Sum, Scale, ZeroCount, PositiveOffset, PositiveBucketCounts, Min, Max, AggregationTemporality)
SELECT {service:String},
       if(number % 2 = 0, 'gen_ai.client.operation.duration', 'gen_ai.client.operation.time_to_first_chunk'),
       map('llmhealth.target', concat('t', toString(intDiv(number, 2) % {targets:UInt32})),
           'llmhealth.probe.kind', if(number % 2 = 0, 'completion', 'stream')),
       {at:DateTime64(3, 'UTC')} - toIntervalMillisecond(2000 * intDiv(number, 2 * {targets:UInt32})),
       3, 0.6, 8, 0, -700 + toInt32(number % 40), [1, 0, 0, 1, 0, 0, 0, 1], 0.1, 0.3, 1
FROM numbers({targets:UInt32} * 300)
"""


def measure(store: EmbeddedStore, targets: int, repeats: int = 7) -> dict:
    """Fill a fresh database and time `repeats` evaluations; returns median and p90 in ms."""
    at = datetime.fromtimestamp(int(time.time() // 5 * 5), UTC)
    params = {"service": PROBER_SERVICE_NAME, "targets": targets, "at": at}
    store.execute(FILL_OUTCOMES, params)
    store.execute(FILL_HISTOGRAMS, params)
    rows = store.rows("SELECT (SELECT count() FROM otel_metrics_sum) + "
                      "(SELECT count() FROM otel_metrics_exponential_histogram) AS n")[0]["n"]
    config = Config.model_validate({"targets": [
        {"name": f"t{i}", "base_url": "http://127.0.0.1:1/v1", "model": "m"} for i in range(targets)]})
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        evaluate(store, config, at)
        timings.append((time.perf_counter() - started) * 1000)
    statuses = store.rows("SELECT status, count() AS n FROM health_snapshots FINAL "
                          "WHERE evaluated_at = {at:DateTime64(3, 'UTC')} GROUP BY status", {"at": at})
    return {"targets": targets, "raw_rows": rows, "median_ms": statistics.median(timings),
            "max_ms": max(timings), "statuses": {r["status"]: r["n"] for r in statuses}}
