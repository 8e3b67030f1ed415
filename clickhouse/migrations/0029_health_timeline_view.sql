-- Status periods per target from the status events: each row is one period, `until` NULL while it
-- lasts. `SELECT * FROM health_timeline WHERE target = 'x' ORDER BY since`.
CREATE VIEW IF NOT EXISTS health_timeline AS
SELECT target, to_state AS status, at AS since,
       nullIf(leadInFrame(at) OVER w, toDateTime64(0, 3, 'UTC')) AS until,
       dateDiff('millisecond', at, coalesce(until, now64(3))) / 1000 AS duration_s,
       reason
FROM (SELECT * FROM health_events FINAL WHERE kind = 'status')
WINDOW w AS (PARTITION BY target ORDER BY at ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)
