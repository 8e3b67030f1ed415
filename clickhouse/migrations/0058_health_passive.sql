-- Applications' requests per request source and minute, hour and day (`unit`), by the points'
-- own time, matched to a target: written by the aggregator at each minute's first instant
-- (evaluate_passive.sql: the last complete minutes from health_passive_points, cumulative
-- points counted by their increase; evaluate_passive_rollups.sql: the hours and days those
-- minutes lie in), so the 1 h window, the SLO's burn rates and the availability "as users saw
-- it" read them without raw points. A bucket is computed again while its points may still
-- arrive; the latest computation (`version`, the instant) replaces the earlier ones: read with
-- FINAL. `target` is '' for traffic no target claims; `candidates` then names the targets it
-- could not choose between (none: no target matches it). `errors` counts failed requests by
-- outcome (error.type mapped, aggregator/passive_outcome.py), `latency` the durations of the
-- successful ones (scale-5 buckets).
CREATE TABLE IF NOT EXISTS health_passive
(
    unit LowCardinality(String),
    bucket DateTime('UTC') CODEC(Delta, ZSTD(1)),
    source UInt64,
    target LowCardinality(String),
    candidates Array(String),
    service LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    server String,
    requests UInt64,
    ok UInt64,
    errors Map(LowCardinality(String), UInt64),
    latency Map(Int16, UInt64),
    last_seen DateTime64(3, 'UTC'),
    version DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(bucket)
ORDER BY (unit, bucket, source)
TTL bucket + toIntervalDay({rollups_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
