-- Request counts, errors by type and quantiles per target, evaluation instant and window
-- (aggregator.windows, default 1 m, 5 m, 1 h). Windows up to 15 min are read from health_points
-- as of the instant (probe and passive, delta and cumulative); longer ones from health_minutes
-- (probe results, to the minute). Ordered by time first, like health_snapshots: the snapshot
-- reads this instant's rows of all targets.
CREATE TABLE IF NOT EXISTS health_windows
(
    target LowCardinality(String),
    evaluated_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    window_seconds UInt32,
    requests UInt64,
    errors UInt64,
    error_rate Float64,
    errors_by_type Map(LowCardinality(String), UInt64),
    passive_requests UInt64,
    passive_errors UInt64,
    latency_p50_s Nullable(Float64),
    latency_p90_s Nullable(Float64),
    latency_p99_s Nullable(Float64),
    ttft_p50_s Nullable(Float64),
    ttft_p90_s Nullable(Float64),
    ttft_p99_s Nullable(Float64),
    tokens_per_second_p50 Nullable(Float64),
    stream_completion_rate Nullable(Float64)
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(evaluated_at)
ORDER BY (evaluated_at, target, window_seconds)
TTL toDateTime(evaluated_at) + toIntervalDay({snapshots_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
