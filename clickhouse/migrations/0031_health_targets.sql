-- The evaluated targets and the settings their status rules use, one set per `version` (a hash of
-- the set: configuration and discovered targets). The aggregator writes a set once when it first
-- evaluates it; the evaluation queries join it instead of carrying the list in their text, so the
-- cost of a query does not grow with the number of targets. Identical sets written by two workers
-- are the same rows, kept once.
CREATE TABLE IF NOT EXISTS health_targets
(
    version UInt64,
    target String,
    provider LowCardinality(String),
    model LowCardinality(String),
    probe_interval Float64,
    degraded_rate Float64,
    unhealthy_rate Float64,
    latency_max Float64,
    ttft_max Float64,
    min_requests UInt32,
    pool LowCardinality(String),
    written_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (version, target)
