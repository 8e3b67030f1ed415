-- health_minutes per probe kind: the rollup's rows from 0043_health_minutes_by_kind_from_points
-- on carry their kind (`completion`, `stream`, `models`, `http`), so availability can ask
-- whether every kind answered in a minute and long windows have per-kind quantiles. Rows
-- written before have probe_kind '' (every kind together, rate-limited results included).
ALTER TABLE health_minutes
    ADD COLUMN IF NOT EXISTS probe_kind LowCardinality(String) AFTER target,
    MODIFY ORDER BY (bucket, target, probe_kind)
