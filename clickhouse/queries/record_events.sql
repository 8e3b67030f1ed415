-- health_events rows for the transitions of instant {at}: a status change of a target or pool (from
-- its snapshot, which carries its previous status; from `new` for a target's first status other
-- than unknown) and a breaker change of a target's probe kind (from health_kinds). Re-running
-- {at} writes the same rows, kept once.
INSERT INTO health_events (target, at, kind, probe_kind, from_state, to_state, reason)
SELECT target, evaluated_at, 'status', '', if(previous_status = '', 'new', previous_status), status, reason
FROM health_snapshots
WHERE evaluated_at = {at:DateTime64(3, 'UTC')}
  AND status != previous_status AND NOT (previous_status = '' AND status = 'unknown')
UNION ALL
SELECT target, evaluated_at, 'breaker', probe_kind, previous_breaker, breaker, breaker_reason
FROM health_kinds
WHERE evaluated_at = {at:DateTime64(3, 'UTC')}
  AND previous_breaker != '' AND breaker != previous_breaker
