-- Probe results per target and minute (by the point's own time, so late points land in their
-- minute), filled at insert time by 0018_health_minutes_from_points: the 1 h window's requests, errors
-- and quantiles, and the current hour of availability.
-- Read with sum()/sumMap()/groupBitmapMerge() GROUP BY: rows of one minute merge in the background.
CREATE TABLE IF NOT EXISTS health_minutes
(
    bucket DateTime('UTC') CODEC(Delta, ZSTD(1)),
    target LowCardinality(String),
    requests SimpleAggregateFunction(sum, UInt64),
    ok SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sumMap, Map(String, UInt64)),
    latency SimpleAggregateFunction(sumMap, Map(Int16, UInt64)),
    ttft SimpleAggregateFunction(sumMap, Map(Int16, UInt64)),
    tokens_per_second SimpleAggregateFunction(sumMap, Map(Int16, UInt64)),
    streams_clean SimpleAggregateFunction(sum, UInt64),
    streams_cut SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(bucket)
ORDER BY (bucket, target)
TTL bucket + toIntervalDay({minutes_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
