-- The state the HTTP API serves (aggregator/api_state.py, docs/api.md), read once after each
-- evaluated instant {at}, never per request: one row per target and pool evaluated at {at}, with
--   the snapshot: status, reason, the rules checked, the status window's counts, errors by type,
--   quantiles (the probes' and the applications'), tokens/s, stream completion, the lowest
--   rate-limit remaining, the soonest rate-limit run-out the forecast expects and the context
--   preservation rate (health_snapshots);
--   each probe kind's verdict, breaker and counts, one JSON object per kind (health_kinds);
--   the latest availability, reachability and rate-limited counts, and the applications'
--   requests and success share (as users saw it), written by {at} (health_slo, a row per
--   minute: the newest of the last 5 minutes);
--   the provider's latest rate-limit remaining, limit and reset per resource within the status
--   window, and the latest retry-after with the time it was reported (the prober's
--   llmhealth.ratelimit.* gauges, service {service});
--   the newest successful and failed probe result stored after {since} and by {at}
--   (health_points: the API carries older ones forward between refreshes);
--   on every row, the applications' requests no target claimed in the hour before {at}, and
--   their errors (health_passive; passive_unmatched.sql reads the same for `llmhealth status`).
-- Times are seconds since the epoch (Float64), so that every store interface returns numbers.
WITH
snapshots AS (
    SELECT target, kind, status, reason, status_since, previous_status, deciding_kind,
           last_probe_at, window_seconds, requests, errors, error_rate, error_rate_lower, errors_by_type,
           passive_requests, passive_errors, latency_p50_s, latency_p90_s, latency_p99_s,
           ttft_p50_s, ttft_p90_s, ttft_p99_s, tokens_per_second_p50, stream_completion_rate,
           ratelimit_remaining_min, pool, rules, ratelimit_exhausted_in_s,
           ratelimit_exhausted_resource, ratelimit_reset_in_s, context_preservation_rate,
           passive_latency_p50_s, passive_latency_p90_s, passive_latency_p99_s
    FROM health_snapshots
    WHERE evaluated_at = {at:DateTime64(3, 'UTC')}
    LIMIT 1 BY target, kind
),
kinds AS (
    SELECT target,
           groupArray(formatRowNoNewline('JSONEachRow', probe_kind, verdict, reason, breaker,
               toUnixTimestamp64Milli(breaker_since) / 1000 AS breaker_since_s, breaker_reason,
               consecutive_failures, consecutive_successes, last_failure,
               toUnixTimestamp64Milli(last_probe_at) / 1000 AS last_probe_at_s, last_outcome,
               requests, errors, error_rate, errors_by_type, latency_p50_s, latency_p90_s,
               latency_p99_s, ttft_p50_s, ttft_p90_s, ttft_p99_s, rules)) AS kinds_json
    FROM (SELECT * FROM health_kinds
          WHERE evaluated_at = {at:DateTime64(3, 'UTC')}
          LIMIT 1 BY target, probe_kind)
    GROUP BY target
),
slo AS (
    SELECT target, availability_1h, availability_24h, availability_7d, availability_30d,
           reachability_1h, reachability_24h, reachability_7d, reachability_30d,
           rate_limited_1h, rate_limited_24h, rate_limited_7d, rate_limited_30d,
           burn_rate_5m, burn_rate_30m, burn_rate_1h, burn_rate_6h, burn_rate_3d,
           burn_page, burn_ticket, passive_requests_1h, passive_requests_24h,
           passive_requests_7d, passive_requests_30d, passive_success_1h, passive_success_24h,
           passive_success_7d, passive_success_30d
    FROM health_slo
    WHERE evaluated_at > {at:DateTime64(3, 'UTC')} - INTERVAL 5 MINUTE
      AND evaluated_at <= {at:DateTime64(3, 'UTC')}
    ORDER BY target, evaluated_at DESC
    LIMIT 1 BY target
),
gauges AS (
    SELECT Attributes['llmhealth.target'] AS target,
           Attributes['llmhealth.ratelimit.resource'] AS resource,
           argMaxIf(toNullable(Value), TimeUnix, MetricName = 'llmhealth.ratelimit.remaining') AS remaining,
           argMaxIf(toNullable(Value), TimeUnix, MetricName = 'llmhealth.ratelimit.limit') AS limit,
           argMaxIf(toNullable(toUnixTimestamp64Milli(TimeUnix) / 1000 + Value), TimeUnix,
                    MetricName = 'llmhealth.ratelimit.reset') AS reset_at_s,
           argMaxIf(toNullable(Value), TimeUnix, MetricName = 'llmhealth.ratelimit.retry_after') AS retry_after_s,
           argMaxIf(toNullable(toUnixTimestamp64Milli(TimeUnix) / 1000), TimeUnix,
                    MetricName = 'llmhealth.ratelimit.retry_after') AS retry_after_reported_s
    FROM otel_metrics_gauge
    WHERE ServiceName = {service:String}
      AND MetricName IN ('llmhealth.ratelimit.remaining', 'llmhealth.ratelimit.limit',
                         'llmhealth.ratelimit.reset', 'llmhealth.ratelimit.retry_after')
      AND TimeUnix > {window_from:DateTime64(3, 'UTC')} AND TimeUnix <= {at:DateTime64(3, 'UTC')}
    GROUP BY target, resource
),
ratelimits AS (
    SELECT target,
           groupArrayIf(formatRowNoNewline('JSONEachRow', resource, remaining, limit, reset_at_s),
                        resource != '') AS ratelimits_json,
           maxIf(retry_after_s, resource = '') AS retry_after_s,
           maxIf(retry_after_reported_s, resource = '') AS retry_after_reported_s
    FROM gauges
    GROUP BY target
),
unmatched AS (
    SELECT toFloat64(sum(requests)) AS unmatched_requests_1h,
           toFloat64(sum(requests - ok)) AS unmatched_errors_1h
    FROM health_passive FINAL
    WHERE unit = 'minute' AND target = ''
      AND bucket >= {at:DateTime64(3, 'UTC')} - INTERVAL 1 HOUR AND bucket < {at:DateTime64(3, 'UTC')}
),
outcomes AS (
    SELECT target,
           maxIf(toUnixTimestamp64Milli(time) / 1000, outcome = 'ok') AS success_s,
           maxIf(toUnixTimestamp64Milli(time) / 1000, outcome != 'ok') AS failure_s,
           argMaxIf(outcome, time, outcome != 'ok') AS failure_type
    FROM health_points
    WHERE inserted_at > {since:DateTime64(3, 'UTC')} AND inserted_at <= {at:DateTime64(3, 'UTC')}
      AND source = 'probe' AND signal = 'outcome' AND outcome != 'probe_rejected' AND value > 0
    GROUP BY target
)
SELECT s.target AS target, s.kind AS kind, s.status AS status, s.reason AS reason,
       toUnixTimestamp64Milli(s.status_since) / 1000 AS status_since_s,
       s.previous_status AS previous_status, s.deciding_kind AS deciding_kind,
       toUnixTimestamp64Milli(s.last_probe_at) / 1000 AS last_probe_at_s,
       s.window_seconds AS window_seconds, toFloat64(s.requests) AS requests,
       toFloat64(s.errors) AS errors, s.error_rate AS error_rate,
       s.error_rate_lower AS error_rate_lower,
       mapKeys(s.errors_by_type) AS error_types,
       arrayMap(v -> toFloat64(v), mapValues(s.errors_by_type)) AS error_counts,
       toFloat64(s.passive_requests) AS passive_requests, toFloat64(s.passive_errors) AS passive_errors,
       s.latency_p50_s AS latency_p50_s, s.latency_p90_s AS latency_p90_s,
       s.latency_p99_s AS latency_p99_s, s.ttft_p50_s AS ttft_p50_s, s.ttft_p90_s AS ttft_p90_s,
       s.ttft_p99_s AS ttft_p99_s, s.tokens_per_second_p50 AS tokens_per_second_p50,
       s.stream_completion_rate AS stream_completion_rate,
       s.ratelimit_remaining_min AS ratelimit_remaining_min, s.pool AS pool,
       s.ratelimit_exhausted_in_s AS ratelimit_exhausted_in_s,
       s.ratelimit_exhausted_resource AS ratelimit_exhausted_resource,
       s.ratelimit_reset_in_s AS ratelimit_reset_in_s,
       s.context_preservation_rate AS context_preservation_rate,
       s.passive_latency_p50_s AS passive_latency_p50_s, s.passive_latency_p90_s AS passive_latency_p90_s,
       s.passive_latency_p99_s AS passive_latency_p99_s,
       s.rules.name AS rule_names, s.rules.value AS rule_values, s.rules.limit AS rule_limits,
       s.rules.held AS rule_held,
       k.kinds_json AS kinds_json,
       o.availability_1h AS availability_1h, o.availability_24h AS availability_24h,
       o.availability_7d AS availability_7d, o.availability_30d AS availability_30d,
       o.reachability_1h AS reachability_1h, o.reachability_24h AS reachability_24h,
       o.reachability_7d AS reachability_7d, o.reachability_30d AS reachability_30d,
       if(o.target != '', toFloat64(o.rate_limited_1h), NULL) AS rate_limited_1h,
       if(o.target != '', toFloat64(o.rate_limited_24h), NULL) AS rate_limited_24h,
       if(o.target != '', toFloat64(o.rate_limited_7d), NULL) AS rate_limited_7d,
       if(o.target != '', toFloat64(o.rate_limited_30d), NULL) AS rate_limited_30d,
       o.burn_rate_5m AS burn_rate_5m, o.burn_rate_30m AS burn_rate_30m,
       o.burn_rate_1h AS burn_rate_1h, o.burn_rate_6h AS burn_rate_6h, o.burn_rate_3d AS burn_rate_3d,
       if(o.target != '', toFloat64(o.passive_requests_1h), NULL) AS passive_requests_1h,
       if(o.target != '', toFloat64(o.passive_requests_24h), NULL) AS passive_requests_24h,
       if(o.target != '', toFloat64(o.passive_requests_7d), NULL) AS passive_requests_7d,
       if(o.target != '', toFloat64(o.passive_requests_30d), NULL) AS passive_requests_30d,
       o.passive_success_1h AS passive_success_1h, o.passive_success_24h AS passive_success_24h,
       o.passive_success_7d AS passive_success_7d, o.passive_success_30d AS passive_success_30d,
       o.burn_page AS burn_page, o.burn_ticket AS burn_ticket, o.target != '' AS has_slo,
       r.ratelimits_json AS ratelimits_json, r.retry_after_s AS retry_after_s,
       r.retry_after_reported_s AS retry_after_reported_s,
       if(p.success_s > 0, p.success_s, NULL) AS last_success_s,
       if(p.failure_s > 0, p.failure_s, NULL) AS last_failure_s,
       p.failure_type AS last_failure_type,
       u.unmatched_requests_1h AS unmatched_requests_1h, u.unmatched_errors_1h AS unmatched_errors_1h
FROM snapshots AS s
CROSS JOIN unmatched AS u
LEFT JOIN kinds AS k ON k.target = s.target
LEFT JOIN slo AS o ON o.target = s.target
LEFT JOIN ratelimits AS r ON r.target = s.target
LEFT JOIN outcomes AS p ON p.target = s.target
ORDER BY s.kind DESC, s.target
SETTINGS join_use_nulls = 0, output_format_json_quote_64bit_integers = 0
