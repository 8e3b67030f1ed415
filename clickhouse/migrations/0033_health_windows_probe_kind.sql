-- health_windows per probe kind: a row per target, window and kind (`completion`, `stream`,
-- `models`, `http`, `passive` for applications' requests), next to the target's row over all of
-- them (probe_kind ''). A `models` probe's 5 ms answer no longer dilutes a completion's latency.
ALTER TABLE health_windows
    ADD COLUMN IF NOT EXISTS probe_kind LowCardinality(String) AFTER window_seconds,
    MODIFY ORDER BY (evaluated_at, target, window_seconds, probe_kind)
