-- Probe outcome and stream-end counters into health_points (delta or cumulative, as exported).
CREATE MATERIALIZED VIEW IF NOT EXISTS health_points_from_sum TO health_points AS
SELECT toDateTime64(TimeUnix, 3, 'UTC') AS time,
       toDateTime64(StartTimeUnix, 3, 'UTC') AS start,
       toInt8(AggregationTemporality) AS temporality,
       cityHash64(ServiceName, MetricName, ResourceAttributes, Attributes) AS series,
       'probe' AS source,
       Attributes['llmhealth.target'] AS target,
       Attributes['gen_ai.provider.name'] AS provider,
       Attributes['gen_ai.request.model'] AS model,
       if(MetricName = 'llmhealth.probe.outcomes', 'outcome', 'stream_end') AS signal,
       Attributes['llmhealth.probe.kind'] AS kind,
       if(MetricName = 'llmhealth.probe.outcomes', Attributes['llmhealth.probe.outcome'],
          Attributes['llmhealth.stream.end']) AS outcome,
       Value AS value
FROM otel_metrics_sum
WHERE MetricName IN ('llmhealth.probe.outcomes', 'llmhealth.stream.ends')
  AND mapContains(Attributes, 'llmhealth.target')
