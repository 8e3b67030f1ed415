-- One row per instant an aggregator evaluated: how long the evaluation took and how many
-- targets it judged, so the pipeline dashboard and operators see the cycle time and whether it
-- keeps pace with aggregator.interval (`interval_s`). Two aggregators write a row each
-- (`instance`); a backfilled instant has its own row, `backfill` set.
CREATE TABLE IF NOT EXISTS health_cycles
(
    evaluated_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    instance String,
    targets UInt32,
    duration_ms Float64,
    interval_s Float64,
    backfill Bool,
    written_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(evaluated_at)
ORDER BY (evaluated_at, instance)
