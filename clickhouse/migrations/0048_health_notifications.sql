-- The notifier's ledger (docs/notifications.md): one row per delivery attempt of a notification
-- (one alert's trigger, reminder or resolve for one receiver), and before its first attempt one
-- claim row (attempt 0, status `claimed`) through which aggregators running at once agree on
-- which of them sends it. `id` is derived from receiver, target, rule, start and action, so
-- every aggregator computes the same one. Rows never hold a secret: no URL, key or token.
CREATE TABLE IF NOT EXISTS health_notifications
(
    at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    id String,
    attempt UInt16,
    status LowCardinality(String),
    instance String,
    receiver LowCardinality(String),
    receiver_type LowCardinality(String),
    message_id String,
    action LowCardinality(String),
    target LowCardinality(String),
    target_kind LowCardinality(String),
    pool LowCardinality(String),
    rule LowCardinality(String),
    severity LowCardinality(String),
    started_at DateTime64(3, 'UTC'),
    event_at DateTime64(3, 'UTC'),
    http_status UInt16,
    duration_ms Float64,
    error String,
    reason String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (id, attempt, instance)
TTL toDateTime(at) + toIntervalDay({events_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
