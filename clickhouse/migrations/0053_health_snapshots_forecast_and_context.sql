-- health_snapshots: the soonest rate-limit exhaustion the forecast expects before a reset
-- (resource, seconds from the instant, the reset's seconds; NULL when none runs out at the
-- current rate), and the context preservation rate over the status window (context probes
-- that kept the first turn / those answered, NULL without any).
ALTER TABLE health_snapshots
    ADD COLUMN IF NOT EXISTS ratelimit_exhausted_in_s Nullable(Float64),
    ADD COLUMN IF NOT EXISTS ratelimit_exhausted_resource LowCardinality(String),
    ADD COLUMN IF NOT EXISTS ratelimit_reset_in_s Nullable(Float64),
    ADD COLUMN IF NOT EXISTS context_preservation_rate Nullable(Float64)
