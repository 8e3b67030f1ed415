-- Passive requests from applications exporting `gen_ai.client.operation.duration` with explicit
-- buckets (the OTel SDKs' default): counted by Count, error.type as the outcome.
CREATE MATERIALIZED VIEW IF NOT EXISTS health_points_from_histogram TO health_points AS
SELECT toDateTime64(TimeUnix, 3, 'UTC') AS time,
       toDateTime64(StartTimeUnix, 3, 'UTC') AS start,
       toInt8(AggregationTemporality) AS temporality,
       cityHash64(ServiceName, MetricName, ResourceAttributes, Attributes) AS series,
       'passive' AS source,
       '' AS target,
       Attributes['gen_ai.provider.name'] AS provider,
       Attributes['gen_ai.request.model'] AS model,
       'request' AS signal,
       '' AS kind,
       if(mapContains(Attributes, 'error.type'), Attributes['error.type'], 'ok') AS outcome,
       toFloat64(Count) AS value
FROM otel_metrics_histogram
WHERE MetricName = 'gen_ai.client.operation.duration' AND NOT mapContains(Attributes, 'llmhealth.target')
