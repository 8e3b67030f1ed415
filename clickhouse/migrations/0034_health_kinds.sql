-- One row per target, probe kind and evaluation instant: each kind answers its own question
-- (`models`: is the model listed; `completion`: does it answer; `stream`: does it stream to the
-- end; `http`: does the check pass), with its own streaks, circuit breaker and verdict, so the
-- success of one kind never clears the failure of another. The target's snapshot
-- (health_snapshots) takes the worst verdict. `rules` holds every rule the verdict checked, with
-- the value it was judged on, its limit and whether it held; `targets_version` the
-- health_targets set (the thresholds) it was judged with. State carried to the next instant:
-- breaker, its `outage` flag (and the requests before it began), streaks, rules_from, last probe
-- and failure, verdict.
CREATE TABLE IF NOT EXISTS health_kinds
(
    target LowCardinality(String),
    evaluated_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    probe_kind LowCardinality(String),
    verdict LowCardinality(String),
    reason String,
    breaker LowCardinality(String),
    breaker_since DateTime64(3, 'UTC'),
    breaker_reason String,
    previous_breaker LowCardinality(String),
    outage Bool,
    outage_baseline UInt32,
    rules_from DateTime64(3, 'UTC'),
    consecutive_failures UInt32,
    consecutive_successes UInt32,
    last_failure LowCardinality(String),
    last_probe_at Nullable(DateTime64(3, 'UTC')),
    last_outcome LowCardinality(String),
    requests UInt64,
    errors UInt64,
    error_rate Float64,
    error_rate_lower Float64,
    error_rate_upper Float64,
    errors_by_type Map(LowCardinality(String), UInt64),
    latency_p50_s Nullable(Float64),
    latency_p90_s Nullable(Float64),
    latency_p99_s Nullable(Float64),
    ttft_p50_s Nullable(Float64),
    ttft_p90_s Nullable(Float64),
    ttft_p99_s Nullable(Float64),
    rules Array(Tuple(name LowCardinality(String), value Nullable(Float64), limit Nullable(Float64), held Bool)),
    targets_version UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(evaluated_at)
ORDER BY (evaluated_at, target, probe_kind)
TTL toDateTime(evaluated_at) + toIntervalDay({snapshots_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
