-- Open incidents: targets and pools whose latest status is not healthy, since when and why.
CREATE VIEW IF NOT EXISTS health_incidents AS
SELECT target, kind, status, status_since AS since,
       dateDiff('millisecond', status_since, now64(3)) / 1000 AS duration_s,
       reason, breaker, consecutive_failures, evaluated_at
FROM health_latest
WHERE status != 'healthy'
