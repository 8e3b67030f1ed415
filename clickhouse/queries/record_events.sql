-- health_events rows for the transitions of instant {at}, read from its snapshots (each carries its
-- previous status and breaker state): a status change (from `new` for a target's first status
-- other than unknown) and a breaker change. Re-running {at} writes the same rows, kept once.
INSERT INTO health_events (target, at, kind, from_state, to_state, reason)
SELECT target, evaluated_at, 'status', if(previous_status = '', 'new', previous_status), status, reason
FROM health_snapshots
WHERE evaluated_at = {at:DateTime64(3, 'UTC')}
  AND status != previous_status AND NOT (previous_status = '' AND status = 'unknown')
UNION ALL
SELECT target, evaluated_at, 'breaker', previous_breaker, breaker, breaker_reason
FROM health_snapshots
WHERE evaluated_at = {at:DateTime64(3, 'UTC')}
  AND kind = 'target' AND previous_breaker != '' AND breaker != previous_breaker
