-- health_kinds: where an outage's failures are, so that a restart of the rule window that is
-- undone (evaluate_kinds.sql) leaves out that outage and nothing else. `run_from` is when the
-- kind's current run of failures began (the first failed point's insert time; 1970 when its
-- last probe succeeded), `outage_from` the run_from of its latest outage, kept after the
-- breaker closes, and `restart_undone` says the rule window restarted at rules_from was undone:
-- the kind is judged on its status window without the points from outage_from to rules_from.
ALTER TABLE health_kinds
    ADD COLUMN IF NOT EXISTS run_from DateTime64(3, 'UTC') AFTER consecutive_successes,
    ADD COLUMN IF NOT EXISTS outage_from DateTime64(3, 'UTC') AFTER run_from,
    ADD COLUMN IF NOT EXISTS restart_undone Bool AFTER outage_from
