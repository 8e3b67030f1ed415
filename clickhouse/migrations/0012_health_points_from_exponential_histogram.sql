-- Probe latency, time to first token and tokens/s histograms (buckets re-bucketed at scale 5,
-- merged duplicates summed), and passive requests: `gen_ai.client.operation.duration` points of
-- applications (no llmhealth.target), counted by their Count with error.type as the outcome.
CREATE MATERIALIZED VIEW IF NOT EXISTS health_points_from_exponential_histogram TO health_points AS
SELECT toDateTime64(TimeUnix, 3, 'UTC') AS time,
       toDateTime64(StartTimeUnix, 3, 'UTC') AS start,
       toInt8(AggregationTemporality) AS temporality,
       cityHash64(ServiceName, MetricName, ResourceAttributes, Attributes) AS series,
       if(mapContains(Attributes, 'llmhealth.target'), 'probe', 'passive') AS source,
       Attributes['llmhealth.target'] AS target,
       Attributes['gen_ai.provider.name'] AS provider,
       Attributes['gen_ai.request.model'] AS model,
       multiIf(source = 'passive', 'request',
               MetricName = 'gen_ai.client.operation.duration', 'latency',
               MetricName = 'gen_ai.client.operation.time_to_first_chunk', 'ttft',
               'tokens_per_second') AS signal,
       Attributes['llmhealth.probe.kind'] AS kind,
       if(mapContains(Attributes, 'error.type'), Attributes['error.type'], 'ok') AS outcome,
       toFloat64(Count) AS value,
       if(source = 'passive', map(), mapFromArrays(rebucketed.1, rebucketed.2)) AS buckets
FROM otel_metrics_exponential_histogram
ARRAY JOIN [arrayReduce('sumMap',
    [arrayMap(i -> toInt16(if(Scale >= 5, floor((PositiveOffset + i - 1) / exp2(Scale - 5)),
                                (PositiveOffset + i - 1) * exp2(5 - Scale))),
              arrayEnumerate(PositiveBucketCounts))],
    [PositiveBucketCounts])] AS rebucketed
WHERE (MetricName IN ('gen_ai.client.operation.duration', 'gen_ai.client.operation.time_to_first_chunk',
                      'llmhealth.probe.output_tokens_per_second')
       AND mapContains(Attributes, 'llmhealth.target'))
   OR (MetricName = 'gen_ai.client.operation.duration' AND NOT mapContains(Attributes, 'llmhealth.target'))
