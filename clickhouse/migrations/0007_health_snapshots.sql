-- One row per target per evaluation instant. Evaluations are aligned to fixed instants and
-- computed from the same raw rows, so a re-run or a second worker writes the same row again;
-- ReplacingMergeTree keeps one, and readers use FINAL (or LIMIT 1 BY) to see one before merges.
CREATE TABLE IF NOT EXISTS health_snapshots
(
    target LowCardinality(String),
    evaluated_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    window_seconds UInt32,
    status LowCardinality(String),
    reason String,
    requests UInt64,
    errors UInt64,
    error_rate Float64,
    errors_by_type Map(LowCardinality(String), UInt64),
    latency_p50_s Nullable(Float64),
    latency_p90_s Nullable(Float64),
    latency_p99_s Nullable(Float64),
    ttft_p50_s Nullable(Float64),
    ttft_p90_s Nullable(Float64),
    ttft_p99_s Nullable(Float64)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(evaluated_at)
ORDER BY (target, evaluated_at)
TTL toDateTime(evaluated_at) + toIntervalDay({snapshots_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
