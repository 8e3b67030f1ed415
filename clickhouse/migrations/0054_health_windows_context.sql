-- health_windows: the context preservation rate (context probes whose second answer held the
-- first turn's content / context probes answered, ok or context_lost), NULL without any, in
-- the `context` kind's row and in the row over all kinds.
ALTER TABLE health_windows
    ADD COLUMN IF NOT EXISTS context_preservation_rate Nullable(Float64)
