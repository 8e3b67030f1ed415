-- health_events per probe kind: a breaker transition belongs to one kind of a target
-- (probe_kind; '' for status changes, which are the target's).
ALTER TABLE health_events
    ADD COLUMN IF NOT EXISTS probe_kind LowCardinality(String),
    MODIFY ORDER BY (target, kind, at, probe_kind)
