-- The latest snapshot per target and pool, for `llmhealth status` and the live view of `llmhealth run`.
SELECT target, kind, status, reason, breaker, consecutive_failures, requests, errors, error_rate,
       latency_p50_s * 1000 AS latency_p50_ms, latency_p90_s * 1000 AS latency_p90_ms,
       latency_p99_s * 1000 AS latency_p99_ms, ttft_p50_s * 1000 AS ttft_p50_ms,
       ttft_p90_s * 1000 AS ttft_p90_ms, ttft_p99_s * 1000 AS ttft_p99_ms,
       formatDateTime(evaluated_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS evaluated_at
FROM health_latest
ORDER BY kind DESC, target
SETTINGS output_format_json_quote_64bit_integers = 0
