-- Status changes of targets and pools at the instants in [{from}, {to}) (health_events), for the
-- notifier: each with the target's kind and pool (its snapshot at that instant) and when the
-- status it left had begun, with that status's reason (the target's latest snapshot before the
-- change, within {lookback_s}: the state an evaluation carries forward). `since` is NULL when
-- there is none, as after a gap, when the evaluation started afresh.
WITH changes AS (
    SELECT target, at, from_state, to_state, reason
    FROM health_events FINAL
    WHERE kind = 'status'
      AND at >= {from:DateTime64(3, 'UTC')} AND at < {to:DateTime64(3, 'UTC')}
),
snapshots AS (
    SELECT target, evaluated_at, kind, pool, status, status_since, reason
    FROM health_snapshots
    WHERE evaluated_at >= {from:DateTime64(3, 'UTC')} - toIntervalSecond({lookback_s:UInt32})
      AND evaluated_at < {to:DateTime64(3, 'UTC')}
      AND target IN (SELECT target FROM changes)
    LIMIT 1 BY target, evaluated_at
)
SELECT c.target AS target, c.at AS at, c.from_state AS from_state, c.to_state AS to_state,
       c.reason AS reason, s.kind AS target_kind, s.pool AS pool,
       if(p.status = c.from_state, p.status_since, NULL) AS since,
       if(p.status = c.from_state, p.reason, '') AS since_reason
FROM changes AS c
LEFT JOIN snapshots AS s ON s.target = c.target AND s.evaluated_at = c.at
ASOF LEFT JOIN snapshots AS p ON p.target = c.target AND c.at > p.evaluated_at
ORDER BY at, target
SETTINGS join_use_nulls = 1
