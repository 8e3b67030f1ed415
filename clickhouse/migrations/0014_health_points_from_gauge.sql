-- Rate-limit headroom reported by the provider (remaining requests/tokens per resource).
CREATE MATERIALIZED VIEW IF NOT EXISTS health_points_from_gauge TO health_points AS
SELECT toDateTime64(TimeUnix, 3, 'UTC') AS time,
       toDateTime64(StartTimeUnix, 3, 'UTC') AS start,
       toInt8(0) AS temporality,
       cityHash64(ServiceName, MetricName, ResourceAttributes, Attributes) AS series,
       'probe' AS source,
       Attributes['llmhealth.target'] AS target,
       Attributes['gen_ai.provider.name'] AS provider,
       Attributes['gen_ai.request.model'] AS model,
       'ratelimit_remaining' AS signal,
       '' AS kind,
       Attributes['llmhealth.ratelimit.resource'] AS outcome,
       Value AS value
FROM otel_metrics_gauge
WHERE MetricName = 'llmhealth.ratelimit.remaining' AND mapContains(Attributes, 'llmhealth.target')
