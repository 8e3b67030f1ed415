-- health_slo: availability as the applications' users saw it, reported apart from the probes'
-- (evaluate_slo.sql): per window, the applications' requests matched to the target (429s left
-- out, as for the probes) and the share of them that succeeded (NULL without any).
ALTER TABLE health_slo
    ADD COLUMN IF NOT EXISTS passive_requests_1h UInt64,
    ADD COLUMN IF NOT EXISTS passive_requests_24h UInt64,
    ADD COLUMN IF NOT EXISTS passive_requests_7d UInt64,
    ADD COLUMN IF NOT EXISTS passive_requests_30d UInt64,
    ADD COLUMN IF NOT EXISTS passive_success_1h Nullable(Float64),
    ADD COLUMN IF NOT EXISTS passive_success_24h Nullable(Float64),
    ADD COLUMN IF NOT EXISTS passive_success_7d Nullable(Float64),
    ADD COLUMN IF NOT EXISTS passive_success_30d Nullable(Float64)
