-- Applications' requests that no target claimed over the last hour (the complete minutes of
-- health_passive, evaluate_passive.sql), and how many failed: the note of `llmhealth status`
-- when it reads the store (the API's state carries the same numbers: api_state.sql).
-- `SELECT * FROM health_passive_unmatched` lists them by source.
SELECT toFloat64(sum(requests)) AS unmatched_requests, toFloat64(sum(requests - ok)) AS unmatched_errors
FROM health_passive FINAL
WHERE unit = 'minute' AND target = '' AND bucket >= now() - INTERVAL 1 HOUR
