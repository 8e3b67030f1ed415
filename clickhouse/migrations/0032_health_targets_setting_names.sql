-- health_targets: each column named as the setting it holds (thresholds.degraded_error_rate,
-- …, thresholds.latency_p99, thresholds.ttft_p99), and the probe kinds each target runs, which
-- the per-kind verdicts (health_kinds) are evaluated for.
ALTER TABLE health_targets
    RENAME COLUMN IF EXISTS degraded_rate TO degraded_error_rate,
    RENAME COLUMN IF EXISTS unhealthy_rate TO unhealthy_error_rate,
    RENAME COLUMN IF EXISTS latency_max TO latency_p99,
    RENAME COLUMN IF EXISTS ttft_max TO ttft_p99,
    ADD COLUMN IF NOT EXISTS probe_kinds Array(LowCardinality(String)) AFTER model
