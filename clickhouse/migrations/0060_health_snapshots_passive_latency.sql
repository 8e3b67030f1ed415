-- health_snapshots: the latency quantiles of the applications' successful requests (passive
-- traffic matched to the target) over the status window, beside the probes' (latency_p*_s);
-- NULL without any.
ALTER TABLE health_snapshots
    ADD COLUMN IF NOT EXISTS passive_latency_p50_s Nullable(Float64),
    ADD COLUMN IF NOT EXISTS passive_latency_p90_s Nullable(Float64),
    ADD COLUMN IF NOT EXISTS passive_latency_p99_s Nullable(Float64)
