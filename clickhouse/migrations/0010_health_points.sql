-- The health math's input: one narrow row per OTLP point the aggregator reads, in the order the
-- points were stored (materialized views 0011-0014 fill it at insert time from the otel_metrics_*
-- tables). Snapshots are computed "as of" an instant over `inserted_at`, so an evaluation re-run
-- later sees exactly the rows the first run saw, and a late (replayed) export counts in the
-- windows that follow its arrival instead of being lost. `time`/`start` are the OTLP point's own
-- timestamps: cumulative deltas order by them, the minute/hour/day rollups bucket by them.
--   source      probe (service llmhealth-prober, has llmhealth.target) | passive (applications)
--   signal      outcome | stream_end | latency | ttft | tokens_per_second | request (passive) |
--               ratelimit_remaining
--   outcome     ok or the error type; clean/cut for stream_end; the resource for ratelimit_remaining
--   temporality 1 delta, 2 cumulative (OTLP AggregationTemporality), 0 gauge
--   buckets     histogram counts re-bucketed at exponential scale 5 (key k covers
--               (2^(k/32), 2^((k+1)/32)]: quantiles within 1.1 %), probe histograms only
CREATE TABLE IF NOT EXISTS health_points
(
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1)),
    time DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    start DateTime64(3, 'UTC') CODEC(ZSTD(1)),
    temporality Int8,
    series UInt64 CODEC(ZSTD(1)),
    source LowCardinality(String),
    target LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    signal LowCardinality(String),
    kind LowCardinality(String),
    outcome LowCardinality(String),
    value Float64 CODEC(ZSTD(1)),
    buckets Map(Int16, UInt64) CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toDate(inserted_at)
ORDER BY inserted_at
TTL toDateTime(inserted_at) + toIntervalDay({metrics_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
