-- health_snapshots explain themselves: the kind whose verdict decided the target's status
-- (`deciding_kind`), every kind's verdict and reason (`kinds`), the target-level rules checked
-- (`rules`: name, value, limit, held) and the health_targets set it was judged with.
ALTER TABLE health_snapshots
    ADD COLUMN IF NOT EXISTS deciding_kind LowCardinality(String),
    ADD COLUMN IF NOT EXISTS kinds Array(Tuple(probe_kind LowCardinality(String), verdict LowCardinality(String), reason String)),
    ADD COLUMN IF NOT EXISTS rules Array(Tuple(name LowCardinality(String), value Nullable(Float64), limit Nullable(Float64), held Bool)),
    ADD COLUMN IF NOT EXISTS targets_version UInt64
