-- Applications' operation durations with explicit buckets (the OTel SDKs' default) into
-- health_passive_points. The metric names of each generation of the GenAI conventions:
-- gen_ai.client.operation.duration (semantic conventions 1.27 on), gen_ai.client.inference.duration
-- (the GenAI conventions' own repository) and gen_ai.operation.duration (the first draft). Each
-- explicit bucket (lo, hi] becomes the scale-5 key of its geometric midpoint (the first bucket:
-- half its bound; the last, open one: its lower bound), so a quantile read from it is within
-- the bucket's own width (a factor 2 with the conventions' advised bounds 0.01, 0.02, 0.04, …).
CREATE MATERIALIZED VIEW IF NOT EXISTS health_passive_points_from_histogram TO health_passive_points AS
SELECT toDateTime64(TimeUnix, 3, 'UTC') AS time,
       toDateTime64(StartTimeUnix, 3, 'UTC') AS start,
       toInt8(AggregationTemporality) AS temporality,
       cityHash64(ServiceName, MetricName, ResourceAttributes, Attributes) AS series,
       cityHash64(service, provider, model, server_address, server_port) AS source,
       toString(ServiceName) AS service,
       if(Attributes['gen_ai.provider.name'] != '', Attributes['gen_ai.provider.name'],
          Attributes['gen_ai.system']) AS provider,
       Attributes['gen_ai.request.model'] AS model,
       lower(Attributes['server.address']) AS server_address,
       Attributes['server.port'] AS server_port,
       Attributes['gen_ai.operation.name'] AS operation,
       MetricName AS metric,
       Attributes['error.type'] AS error_type,
       toFloat64(Count) AS value,
       mapFromArrays(merged.1, merged.2) AS buckets
FROM otel_metrics_histogram
ARRAY JOIN [arrayReduce('sumMap',
    [arrayMap(i -> toInt16(ceil(32 * log2(multiIf(i > length(ExplicitBounds), ExplicitBounds[-1],
                                                  i = 1 OR ExplicitBounds[i - 1] <= 0, ExplicitBounds[i] / 2,
                                                  sqrt(ExplicitBounds[i - 1] * ExplicitBounds[i])))) - 1),
              arrayFilter(i -> BucketCounts[i] > 0 AND NOT empty(ExplicitBounds)
                               AND (i > length(ExplicitBounds) OR ExplicitBounds[i] > 0),
                          arrayEnumerate(BucketCounts)))],
    [arrayFilter((c, i) -> c > 0 AND NOT empty(ExplicitBounds)
                           AND (i > length(ExplicitBounds) OR ExplicitBounds[i] > 0),
                 BucketCounts, arrayEnumerate(BucketCounts))])] AS merged
WHERE MetricName IN ('gen_ai.client.operation.duration', 'gen_ai.client.inference.duration',
                     'gen_ai.operation.duration')
  AND NOT mapContains(Attributes, 'llmhealth.target')
