-- The rate-limit exhaustion forecast per target, resource and evaluation instant
-- (evaluate_ratelimits.sql): the provider's last remaining value and reset, the burn rate of
-- the current run of falling remaining values (or of the applications' requests), and when the
-- remaining reaches zero at that rate. One row per resource a target's probes reported in the
-- status window. Ordered by time first, like health_snapshots, which reads this instant's rows.
CREATE TABLE IF NOT EXISTS health_ratelimits
(
    target LowCardinality(String),
    evaluated_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    resource LowCardinality(String),
    remaining Float64,
    reported_at DateTime64(3, 'UTC'),
    reset_in_s Nullable(Float64),
    samples UInt32,
    burn_per_s Nullable(Float64),
    burn_from LowCardinality(String),
    exhausted_in_s Nullable(Float64),
    runs_out Bool,
    warning_s Float64,
    warns Bool
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(evaluated_at)
ORDER BY (evaluated_at, target, resource)
TTL toDateTime(evaluated_at) + toIntervalDay({snapshots_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
