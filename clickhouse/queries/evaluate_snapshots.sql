-- One health snapshot per configured target for the window ending at {at}.
-- Inputs: the prober's delta-temporality points (docs/metrics.md), so a window is a sum of points.
--   requests, errors, errors_by_type  <- llmhealth.probe.outcomes (otel_metrics_sum)
--   latency p50/p90/p99               <- gen_ai.client.operation.duration, successful non-stream probes
--   TTFT p50/p90/p99                  <- gen_ai.client.operation.time_to_first_chunk
-- Quantiles of exponential histograms: each bucket stands for its geometric midpoint, clamped to
-- the point's Min/Max, weighted by its count (relative error <= sqrt(2^(2^-scale)) - 1).
-- Status, first rule that holds: unknown (no probe result in the window) > unhealthy (error
-- rate >= unhealthy) > degraded (error rate >= degraded, latency p99 or TTFT p99 above limit) > healthy.
INSERT INTO health_snapshots
WITH
configured AS (
    SELECT t.1 AS target, t.2 AS degraded_error_rate, t.3 AS unhealthy_error_rate,
           t.4 AS latency_p99_max, t.5 AS ttft_p99_max
    FROM (SELECT arrayJoin(arrayZip({targets:Array(String)}, {degraded_error_rate:Array(Float64)},
        {unhealthy_error_rate:Array(Float64)}, {latency_p99_max:Array(Float64)},
        {ttft_p99_max:Array(Float64)})) AS t)
),
outcomes AS (
    SELECT Attributes['llmhealth.target'] AS target,
           toUInt64(sum(Value)) AS requests,
           toUInt64(sumIf(Value, Attributes['llmhealth.probe.outcome'] != 'ok')) AS errors,
           sumMapIf(map(Attributes['llmhealth.probe.outcome'], toUInt64(Value)),
                    Attributes['llmhealth.probe.outcome'] != 'ok') AS errors_by_type
    FROM otel_metrics_sum
    WHERE ServiceName = {service:String} AND MetricName = 'llmhealth.probe.outcomes'
      AND TimeUnix > {at:DateTime64(3, 'UTC')} - toIntervalSecond({window_s:UInt32})
      AND TimeUnix <= {at:DateTime64(3, 'UTC')}
      AND has({targets:Array(String)}, Attributes['llmhealth.target'])
    GROUP BY target
),
buckets AS (
    SELECT Attributes['llmhealth.target'] AS target, MetricName AS metric,
           least(greatest(exp2((PositiveOffset + pos - 0.5) * exp2(-Scale)), Min), Max) AS value,
           bucket_count
    FROM otel_metrics_exponential_histogram
    ARRAY JOIN PositiveBucketCounts AS bucket_count, arrayEnumerate(PositiveBucketCounts) AS pos
    WHERE ServiceName = {service:String}
      AND MetricName IN ('gen_ai.client.operation.duration', 'gen_ai.client.operation.time_to_first_chunk')
      AND TimeUnix > {at:DateTime64(3, 'UTC')} - toIntervalSecond({window_s:UInt32})
      AND TimeUnix <= {at:DateTime64(3, 'UTC')}
      AND has({targets:Array(String)}, Attributes['llmhealth.target'])
      AND NOT mapContains(Attributes, 'error.type')
      AND NOT (MetricName = 'gen_ai.client.operation.duration'
               AND Attributes['llmhealth.probe.kind'] = 'stream')
      AND bucket_count > 0
),
quantiles AS (
    SELECT target,
           quantilesExactWeightedIf(0.5, 0.9, 0.99)(value, bucket_count,
               metric = 'gen_ai.client.operation.duration') AS latency,
           quantilesExactWeightedIf(0.5, 0.9, 0.99)(value, bucket_count,
               metric = 'gen_ai.client.operation.time_to_first_chunk') AS ttft,
           countIf(metric = 'gen_ai.client.operation.duration') > 0 AS has_latency,
           countIf(metric = 'gen_ai.client.operation.time_to_first_chunk') > 0 AS has_ttft
    FROM buckets
    GROUP BY target
),
joined AS (
    SELECT c.target AS target, c.degraded_error_rate, c.unhealthy_error_rate,
           c.latency_p99_max, c.ttft_p99_max,
           o.requests AS requests, o.errors AS errors, o.errors_by_type AS errors_by_type,
           if(o.requests > 0, o.errors / o.requests, 0) AS error_rate,
           if(q.has_latency, q.latency[1], NULL) AS latency_p50_s,
           if(q.has_latency, q.latency[2], NULL) AS latency_p90_s,
           if(q.has_latency, q.latency[3], NULL) AS latency_p99_s,
           if(q.has_ttft, q.ttft[1], NULL) AS ttft_p50_s,
           if(q.has_ttft, q.ttft[2], NULL) AS ttft_p90_s,
           if(q.has_ttft, q.ttft[3], NULL) AS ttft_p99_s,
           if({window_s:UInt32} % 60 = 0, concat(toString(intDiv({window_s:UInt32}, 60)), 'm'),
              concat(toString({window_s:UInt32}), 's')) AS window_text,
           arrayStringConcat(arrayMap((k, v) -> concat(k, ' x', toString(v)),
               mapKeys(o.errors_by_type), mapValues(o.errors_by_type)), ', ') AS error_kinds
    FROM configured AS c
    LEFT JOIN outcomes AS o ON o.target = c.target
    LEFT JOIN quantiles AS q ON q.target = c.target
    SETTINGS join_use_nulls = 0
)
SELECT
    target,
    {at:DateTime64(3, 'UTC')} AS evaluated_at,
    {window_s:UInt32} AS window_seconds,
    multiIf(requests = 0, 'unknown',
            error_rate >= unhealthy_error_rate, 'unhealthy',
            error_rate >= degraded_error_rate, 'degraded',
            latency_p99_s > latency_p99_max, 'degraded',
            ttft_p99_s > ttft_p99_max, 'degraded',
            'healthy') AS status,
    multiIf(requests = 0, concat('no probe results in the last ', window_text),
            error_rate >= unhealthy_error_rate OR error_rate >= degraded_error_rate,
                printf('error rate %.1f%% >= %.1f%% over %s (%d of %d failed: %s)',
                       100 * error_rate,
                       100 * if(error_rate >= unhealthy_error_rate, unhealthy_error_rate, degraded_error_rate),
                       window_text, errors, requests, error_kinds),
            latency_p99_s > latency_p99_max,
                printf('latency p99 %.2f s > %.2f s over %s', latency_p99_s, latency_p99_max, window_text),
            ttft_p99_s > ttft_p99_max,
                printf('TTFT p99 %.2f s > %.2f s over %s', ttft_p99_s, ttft_p99_max, window_text),
            concat(printf('error rate %.1f%% over %s (%d probes)', 100 * error_rate, window_text, requests),
                   if(latency_p99_s IS NULL, '', printf(', latency p99 %.2f s', latency_p99_s)),
                   if(ttft_p99_s IS NULL, '', printf(', TTFT p99 %.2f s', ttft_p99_s)))) AS reason,
    requests, errors, error_rate, errors_by_type,
    latency_p50_s, latency_p90_s, latency_p99_s, ttft_p50_s, ttft_p90_s, ttft_p99_s
FROM joined
ORDER BY target
