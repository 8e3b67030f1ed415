-- The alerts open at instant {at}: every target and pool whose status is one of {rules}, since
-- when and why (its snapshot at {at}).
SELECT target, kind AS target_kind, pool, status, status_since, reason
FROM health_snapshots
WHERE evaluated_at = {at:DateTime64(3, 'UTC')} AND has({rules:Array(String)}, status)
ORDER BY target
LIMIT 1 BY target
