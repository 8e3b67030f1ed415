-- One row per target (and per pool) per evaluation instant: status with its reason, the state
-- the next evaluation carries forward (breaker, streaks, hysteresis candidate), and the status
-- window's numbers. Evaluations are aligned to fixed instants and read rows "as of" the instant,
-- so a re-run or a second worker writes the same row again; ReplacingMergeTree keeps one, and
-- readers use FINAL or LIMIT 1 BY (the health_latest view does).
-- Ordered by time first: every evaluation reads the last seconds of all targets (their previous
-- snapshot, this instant's rows), which then lie in the last granules however much of the day
-- is stored. A target's history reads the time range it asks for.
CREATE TABLE IF NOT EXISTS health_snapshots
(
    target LowCardinality(String),
    evaluated_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    kind LowCardinality(String),
    status LowCardinality(String),
    reason String,
    status_since DateTime64(3, 'UTC'),
    previous_status LowCardinality(String),
    candidate LowCardinality(String),
    candidate_count UInt32,
    breaker LowCardinality(String),
    breaker_since DateTime64(3, 'UTC'),
    breaker_reason String,
    previous_breaker LowCardinality(String),
    rules_from DateTime64(3, 'UTC'),
    consecutive_failures UInt32,
    consecutive_successes UInt32,
    last_failure LowCardinality(String),
    last_probe_at Nullable(DateTime64(3, 'UTC')),
    window_seconds UInt32,
    requests UInt64,
    errors UInt64,
    error_rate Float64,
    error_rate_lower Float64,
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
    stream_completion_rate Nullable(Float64),
    ratelimit_remaining_min Nullable(Float64),
    pool LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(evaluated_at)
ORDER BY (evaluated_at, target)
TTL toDateTime(evaluated_at) + toIntervalDay({snapshots_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
