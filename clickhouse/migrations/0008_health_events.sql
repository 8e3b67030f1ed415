-- Status transitions, one row per target per instant at which its status changed.
CREATE TABLE IF NOT EXISTS health_events
(
    target LowCardinality(String),
    at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    from_status LowCardinality(String),
    to_status LowCardinality(String),
    reason String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (target, at)
TTL toDateTime(at) + toIntervalDay({events_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
