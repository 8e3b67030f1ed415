-- Availability and SLO burn rates per target, written at each minute's first evaluation from the
-- minute/hour/day rollups (never raw points). Windows are calendar-aligned: the current
-- (partial) unit plus the complete ones before it, e.g. 24 h = this hour + the 23 before.
--   availability_*  by time: minutes with a successful probe / minutes with any probe result
--   reachability_*  by execution: successful probes / probes
--   burn_rate_*     (1 - reachability) / (1 - slo): 1 spends the error budget exactly over 30 d
--   burn_page, burn_ticket: the multi-window rules (1 h and 5 m >= 14.4, 6 h and 30 m >= 6;
--   3 d and 6 h >= 1), true when both windows of a pair burn at least that fast
CREATE TABLE IF NOT EXISTS health_slo
(
    target LowCardinality(String),
    evaluated_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    slo Float64,
    availability_1h Nullable(Float64),
    availability_24h Nullable(Float64),
    availability_7d Nullable(Float64),
    availability_30d Nullable(Float64),
    reachability_1h Nullable(Float64),
    reachability_24h Nullable(Float64),
    reachability_7d Nullable(Float64),
    reachability_30d Nullable(Float64),
    burn_rate_5m Nullable(Float64),
    burn_rate_30m Nullable(Float64),
    burn_rate_1h Nullable(Float64),
    burn_rate_6h Nullable(Float64),
    burn_rate_3d Nullable(Float64),
    burn_page Bool,
    burn_ticket Bool
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(evaluated_at)
ORDER BY (target, evaluated_at)
TTL toDateTime(evaluated_at) + toIntervalDay({rollups_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
