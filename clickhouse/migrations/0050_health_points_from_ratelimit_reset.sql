-- When a provider's rate limit resets (seconds from the report, per resource), next to the
-- remaining values of 0014: the exhaustion forecast (evaluate_ratelimits.sql) pairs the two by
-- target, resource and time. `outcome` holds the resource, as for ratelimit_remaining.
CREATE MATERIALIZED VIEW IF NOT EXISTS health_points_from_ratelimit_reset TO health_points AS
SELECT toDateTime64(TimeUnix, 3, 'UTC') AS time,
       toDateTime64(StartTimeUnix, 3, 'UTC') AS start,
       toInt8(0) AS temporality,
       cityHash64(ServiceName, MetricName, ResourceAttributes, Attributes) AS series,
       'probe' AS source,
       Attributes['llmhealth.target'] AS target,
       Attributes['gen_ai.provider.name'] AS provider,
       Attributes['gen_ai.request.model'] AS model,
       'ratelimit_reset' AS signal,
       '' AS kind,
       Attributes['llmhealth.ratelimit.resource'] AS outcome,
       Value AS value
FROM otel_metrics_gauge
WHERE MetricName = 'llmhealth.ratelimit.reset' AND mapContains(Attributes, 'llmhealth.target')
