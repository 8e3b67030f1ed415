-- The latest snapshot of every target and pool: `SELECT target, status, reason FROM health_latest`.
-- Rows of the minute before the latest evaluation (max(evaluated_at) comes from the parts'
-- min-max index, and the table is ordered by time first), so it costs the same whatever
-- the retention; while the aggregator is stopped it shows the last statuses it wrote.
CREATE VIEW IF NOT EXISTS health_latest AS
SELECT *
FROM health_snapshots
WHERE evaluated_at >= (SELECT max(evaluated_at) FROM health_snapshots) - INTERVAL 1 MINUTE
ORDER BY target, evaluated_at DESC
LIMIT 1 BY target
