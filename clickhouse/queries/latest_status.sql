-- The latest snapshot per target and pool, for `llmhealth status` and the live view of `llmhealth run`:
-- the rows of the health_latest view (migration 0028), read from health_snapshots itself for the
-- columns added since the view was created (the rate-limit forecast, the context preservation rate,
-- the applications' latency).
SELECT target, kind, status, reason, breaker, consecutive_failures, requests, errors, error_rate,
       latency_p50_s * 1000 AS latency_p50_ms, latency_p90_s * 1000 AS latency_p90_ms,
       latency_p99_s * 1000 AS latency_p99_ms, ttft_p50_s * 1000 AS ttft_p50_ms,
       ttft_p90_s * 1000 AS ttft_p90_ms, ttft_p99_s * 1000 AS ttft_p99_ms,
       ratelimit_exhausted_resource, ratelimit_exhausted_in_s, context_preservation_rate,
       passive_requests, passive_errors, passive_latency_p50_s * 1000 AS passive_latency_p50_ms,
       passive_latency_p90_s * 1000 AS passive_latency_p90_ms,
       passive_latency_p99_s * 1000 AS passive_latency_p99_ms,
       formatDateTime(evaluated_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS evaluated_at
FROM (SELECT * FROM health_snapshots
      WHERE evaluated_at >= (SELECT max(evaluated_at) FROM health_snapshots) - INTERVAL 1 MINUTE
      ORDER BY target, evaluated_at DESC
      LIMIT 1 BY target)
ORDER BY kind DESC, target
SETTINGS output_format_json_quote_64bit_integers = 0
