-- Rate-limited probes reported apart: they do not count in availability, reachability or burn
-- rates (evaluate_slo.sql), and these columns say how many there were in each window.
ALTER TABLE health_slo
    ADD COLUMN IF NOT EXISTS rate_limited_1h UInt64,
    ADD COLUMN IF NOT EXISTS rate_limited_24h UInt64,
    ADD COLUMN IF NOT EXISTS rate_limited_7d UInt64,
    ADD COLUMN IF NOT EXISTS rate_limited_30d UInt64
