-- The status transitions of the targets and pools {names} from {from} to {to}, and for each
-- name the one in force at {from} (its last before), for the status strips of
-- `GET /api/health/overview` (aggregator/api/overview.py), which turns them into periods and
-- each segment's worst status. Read from health_events by its leading key (target, kind, at);
-- at most {limit} per name, the newest (a name flapping faster loses its oldest, and the
-- strip's first segments show no status). Times are seconds since the epoch.
SELECT target, toUnixTimestamp64Milli(at) / 1000 AS at_s, kind, probe_kind, from_state,
       to_state, reason
FROM health_events FINAL
WHERE target IN {names:Array(String)} AND kind = 'status' AND at <= {to:DateTime64(3, 'UTC')}
  AND (at >= {from:DateTime64(3, 'UTC')}
       OR (target, at) IN (SELECT target, max(at) FROM health_events
                           WHERE target IN {names:Array(String)} AND kind = 'status'
                             AND at < {from:DateTime64(3, 'UTC')}
                           GROUP BY target))
ORDER BY target, at DESC
LIMIT {limit:UInt32} BY target
