-- Applications' operation durations exported as exponential histograms into
-- health_passive_points (the metric names as in 0056); positive buckets re-bucketed at scale 5
-- as the prober's (0012), merged duplicates summed.
CREATE MATERIALIZED VIEW IF NOT EXISTS health_passive_points_from_exponential_histogram TO health_passive_points AS
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
       mapFromArrays(rebucketed.1, rebucketed.2) AS buckets
FROM otel_metrics_exponential_histogram
ARRAY JOIN [arrayReduce('sumMap',
    [arrayMap(i -> toInt16(if(Scale >= 5, floor((PositiveOffset + i - 1) / exp2(Scale - 5)),
                                (PositiveOffset + i - 1) * exp2(5 - Scale))),
              arrayEnumerate(PositiveBucketCounts))],
    [PositiveBucketCounts])] AS rebucketed
WHERE MetricName IN ('gen_ai.client.operation.duration', 'gen_ai.client.inference.duration',
                     'gen_ai.operation.duration')
  AND NOT mapContains(Attributes, 'llmhealth.target')
