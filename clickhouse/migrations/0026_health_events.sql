-- Transitions, one row per target, kind (`status` or `breaker`) and instant at which it changed,
-- with the reason of the new state. Re-running an instant writes the same rows, kept once.
CREATE TABLE IF NOT EXISTS health_events
(
    target LowCardinality(String),
    at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    kind LowCardinality(String),
    from_state LowCardinality(String),
    to_state LowCardinality(String),
    reason String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (target, kind, at)
TTL toDateTime(at) + toIntervalDay({events_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
