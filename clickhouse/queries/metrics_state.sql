-- The health state that `GET /metrics` serves (aggregator/prometheus.py), read once after each
-- evaluated instant {at}, never per scrape: one row per target and pool evaluated at {at}, with
--   the snapshot's status, the deciding kind's counts, the status window's quantiles, the
--   soonest rate-limit run-out the forecast expects and the context preservation rate
--   (health_snapshots, as `llmhealth status` shows them);
--   each probe kind's breaker and counts over its rule window (health_kinds), as parallel arrays;
--   the latest availability, reachability and burn rates written by {at} (health_slo, a row per
--   minute: the newest of the last 5 minutes);
--   the provider's latest rate-limit remaining and limit per resource reported within the status
--   window (the prober's llmhealth.ratelimit.* gauges, service {service}), as parallel arrays;
--   the newest point's own time among the points stored in the last minute before the newest
--   insert (health_points, the health math's input), capped at now: the storage lag is now minus
--   this, so it grows when nothing arrives and when what arrives is old.
-- Times are seconds since the epoch (Float64), so that every store interface returns numbers.
WITH
snapshots AS (
    SELECT target, kind, status, pool, requests, errors, error_rate,
           latency_p50_s, latency_p90_s, latency_p99_s, ttft_p50_s, ttft_p90_s, ttft_p99_s,
           ratelimit_exhausted_resource, ratelimit_exhausted_in_s, context_preservation_rate
    FROM health_snapshots
    WHERE evaluated_at = {at:DateTime64(3, 'UTC')}
    LIMIT 1 BY target, kind
),
kinds AS (
    SELECT target, groupArray(probe_kind) AS kind_names, groupArray(breaker) AS kind_breakers,
           groupArray(toFloat64(requests)) AS kind_requests, groupArray(toFloat64(errors)) AS kind_errors,
           groupArray(error_rate) AS kind_error_rates
    FROM (SELECT target, probe_kind, breaker, requests, errors, error_rate FROM health_kinds
          WHERE evaluated_at = {at:DateTime64(3, 'UTC')}
          ORDER BY target, probe_kind
          LIMIT 1 BY target, probe_kind)
    GROUP BY target
),
slo AS (
    SELECT target, availability_1h, availability_24h, availability_7d, availability_30d,
           reachability_1h, reachability_24h, reachability_7d, reachability_30d,
           burn_rate_5m, burn_rate_30m, burn_rate_1h, burn_rate_6h, burn_rate_3d
    FROM health_slo
    WHERE evaluated_at > {at:DateTime64(3, 'UTC')} - INTERVAL 5 MINUTE
      AND evaluated_at <= {at:DateTime64(3, 'UTC')}
    ORDER BY target, evaluated_at DESC
    LIMIT 1 BY target
),
ratelimits AS (
    SELECT target, groupArray(resource) AS ratelimit_resources,
           groupArray(remaining) AS ratelimit_remaining, groupArray(limit) AS ratelimit_limit
    FROM (
        SELECT Attributes['llmhealth.target'] AS target,
               Attributes['llmhealth.ratelimit.resource'] AS resource,
               argMaxIf(toNullable(Value), TimeUnix, MetricName = 'llmhealth.ratelimit.remaining') AS remaining,
               argMaxIf(toNullable(Value), TimeUnix, MetricName = 'llmhealth.ratelimit.limit') AS limit
        FROM otel_metrics_gauge
        WHERE ServiceName = {service:String}
          AND MetricName IN ('llmhealth.ratelimit.remaining', 'llmhealth.ratelimit.limit')
          AND TimeUnix > {window_from:DateTime64(3, 'UTC')} AND TimeUnix <= {at:DateTime64(3, 'UTC')}
        GROUP BY target, resource
        ORDER BY target, resource
    )
    GROUP BY target
)
SELECT s.target AS target, s.kind AS kind, s.status AS status, s.pool AS pool,
       toFloat64(s.requests) AS requests, toFloat64(s.errors) AS errors, s.error_rate AS error_rate,
       s.latency_p50_s AS latency_p50_s, s.latency_p90_s AS latency_p90_s,
       s.latency_p99_s AS latency_p99_s, s.ttft_p50_s AS ttft_p50_s, s.ttft_p90_s AS ttft_p90_s,
       s.ttft_p99_s AS ttft_p99_s,
       s.ratelimit_exhausted_resource AS ratelimit_exhausted_resource,
       s.ratelimit_exhausted_in_s AS ratelimit_exhausted_in_s,
       s.context_preservation_rate AS context_preservation_rate,
       k.kind_names AS kind_names, k.kind_breakers AS kind_breakers, k.kind_requests AS kind_requests,
       k.kind_errors AS kind_errors, k.kind_error_rates AS kind_error_rates,
       o.availability_1h AS availability_1h, o.availability_24h AS availability_24h,
       o.availability_7d AS availability_7d, o.availability_30d AS availability_30d,
       o.reachability_1h AS reachability_1h, o.reachability_24h AS reachability_24h,
       o.reachability_7d AS reachability_7d, o.reachability_30d AS reachability_30d,
       o.burn_rate_5m AS burn_rate_5m, o.burn_rate_30m AS burn_rate_30m,
       o.burn_rate_1h AS burn_rate_1h, o.burn_rate_6h AS burn_rate_6h, o.burn_rate_3d AS burn_rate_3d,
       r.ratelimit_resources AS ratelimit_resources, r.ratelimit_remaining AS ratelimit_remaining,
       r.ratelimit_limit AS ratelimit_limit,
       (SELECT toUnixTimestamp64Milli(least(max(time), now64(3))) / 1000
        FROM health_points
        WHERE inserted_at >= (SELECT max(inserted_at) FROM health_points) - INTERVAL 1 MINUTE) AS newest_point
FROM snapshots AS s
LEFT JOIN kinds AS k ON k.target = s.target
LEFT JOIN slo AS o ON o.target = s.target
LEFT JOIN ratelimits AS r ON r.target = s.target
ORDER BY s.kind DESC, s.target
SETTINGS join_use_nulls = 0
