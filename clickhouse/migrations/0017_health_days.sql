-- Probe results per target and day (by the point's own time, so late points land in their
-- day), filled at insert time by 0020_health_days_from_points: availability and burn
-- rates over long windows without scanning raw points.
-- Read with sum()/sumMap()/groupBitmapMerge() GROUP BY: rows of one day merge in the background.
CREATE TABLE IF NOT EXISTS health_days
(
    bucket DateTime('UTC') CODEC(Delta, ZSTD(1)),
    target LowCardinality(String),
    requests SimpleAggregateFunction(sum, UInt64),
    ok SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sumMap, Map(String, UInt64)),
    minutes_with_data AggregateFunction(groupBitmap, UInt32),
    minutes_with_ok AggregateFunction(groupBitmap, UInt32)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, target)
TTL bucket + toIntervalDay({rollups_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
