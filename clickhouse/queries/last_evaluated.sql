-- The latest instant evaluated at or after {since} (NULL when none): where a backfill resumes.
SELECT max(evaluated_at) AS at
FROM health_snapshots
WHERE evaluated_at >= {since:DateTime64(3, 'UTC')} AND kind = 'target'
