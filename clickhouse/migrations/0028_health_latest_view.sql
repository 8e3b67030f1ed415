-- The latest snapshot of every target and pool evaluated in the last day:
-- `SELECT target, status, reason FROM health_latest`.
CREATE VIEW IF NOT EXISTS health_latest AS
SELECT *
FROM health_snapshots
WHERE evaluated_at > now64(3) - INTERVAL 1 DAY
ORDER BY target, evaluated_at DESC
LIMIT 1 BY target
