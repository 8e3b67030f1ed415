-- health_targets: thresholds.ratelimit_exhaustion (a rate limit forecast to run out within this
-- many seconds, before its reset, makes the target degraded), and the probe interval of each
-- kind that has one of its own (`context`), which its staleness rule uses instead of
-- probe_interval.
ALTER TABLE health_targets
    ADD COLUMN IF NOT EXISTS ratelimit_exhaustion Float64 DEFAULT 60 AFTER min_requests,
    ADD COLUMN IF NOT EXISTS kind_intervals Map(LowCardinality(String), Float64) AFTER probe_interval
