-- The status and breaker transitions of every target and pool at the instants in
-- ({since}, {until}], oldest first, at most {limit}, for the API's live stream
-- (aggregator/api_events.py: `GET /api/health/stream`, `/api/health/ws`). Within an instant the
-- order is fixed (kind, target, probe kind), so an event's position in its instant names it.
SELECT toUnixTimestamp64Milli(at) AS at_ms, kind, target, probe_kind, from_state, to_state, reason
FROM health_events FINAL
WHERE at > {since:DateTime64(3, 'UTC')} AND at <= {until:DateTime64(3, 'UTC')}
ORDER BY at, kind, target, probe_kind
LIMIT {limit:UInt32}
