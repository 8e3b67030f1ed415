-- Applications' requests (passive traffic): one row per `gen_ai.*` operation-duration point of
-- a service other than the prober (no llmhealth.target), stored by materialized views 0056 and
-- 0057 with what the aggregator matches it to a target by (aggregator/passive_match.py):
--   service        the resource's service.name (ServiceName)
--   provider       gen_ai.provider.name, else the older conventions' gen_ai.system
--   model          gen_ai.request.model
--   server_address, server_port   server.address, server.port ('' when the application sent none)
--   source         cityHash64(service, provider, model, server_address, server_port): the key
--                  a match is made for
--   error_type     error.type as the instrumentation sent it ('' for a success); mapped onto the
--                  outcome taxonomy when read (aggregator/passive_outcome.py)
--   value, buckets the point's request count and its duration buckets, re-bucketed at
--                  exponential scale 5 (key k covers (2^(k/32), 2^((k+1)/32)]), as exported:
--                  delta or cumulative (temporality 1 or 2)
-- Ordered by when a point was stored, like health_points: windows are computed "as of" an
-- instant over inserted_at.
CREATE TABLE IF NOT EXISTS health_passive_points
(
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1)),
    time DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    start DateTime64(3, 'UTC') CODEC(ZSTD(1)),
    temporality Int8,
    series UInt64 CODEC(ZSTD(1)),
    source UInt64 CODEC(ZSTD(1)),
    service LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    server_address LowCardinality(String),
    server_port LowCardinality(String),
    operation LowCardinality(String),
    metric LowCardinality(String),
    error_type LowCardinality(String),
    value Float64 CODEC(ZSTD(1)),
    buckets Map(Int16, UInt64) CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toDate(inserted_at)
ORDER BY inserted_at
TTL toDateTime(inserted_at) + toIntervalDay({metrics_ttl_days:UInt16})
SETTINGS ttl_only_drop_parts = 1
