-- The status and breaker transitions of target or pool {target} from {from} to {to}, newest
-- first, at most {limit}, and the status transition in effect at {from} (the last one before it),
-- for `GET /api/health/targets/{target}/history` (aggregator/api/history.py), which turns the
-- status transitions into periods and the status of each point of the rollups. Times are
-- seconds since the epoch.
SELECT toUnixTimestamp64Milli(at) / 1000 AS at_s, kind, probe_kind, from_state, to_state, reason
FROM health_events FINAL
WHERE target = {target:String} AND at <= {to:DateTime64(3, 'UTC')}
  AND (at >= {from:DateTime64(3, 'UTC')}
       OR (kind = 'status' AND at = (SELECT max(at) FROM health_events
                                     WHERE target = {target:String} AND kind = 'status'
                                       AND at < {from:DateTime64(3, 'UTC')})))
ORDER BY at DESC, kind, probe_kind
LIMIT {limit:UInt32}
