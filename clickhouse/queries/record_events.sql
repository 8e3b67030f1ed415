-- A health_events row for every target whose status at {at} differs from its previous snapshot
-- (looking back one day; a target without one is `new`). Re-running for the same {at} writes the
-- same rows, which ReplacingMergeTree (target, at) keeps once.
INSERT INTO health_events (target, at, from_status, to_status, reason)
SELECT cur.target, {at:DateTime64(3, 'UTC')}, if(prev.status = '', 'new', prev.status),
       cur.status, cur.reason
FROM (
    SELECT target, status, reason
    FROM health_snapshots FINAL
    WHERE evaluated_at = {at:DateTime64(3, 'UTC')} AND has({targets:Array(String)}, target)
) AS cur
LEFT JOIN (
    SELECT target, argMax(status, evaluated_at) AS status
    FROM health_snapshots FINAL
    WHERE evaluated_at < {at:DateTime64(3, 'UTC')}
      AND evaluated_at >= {at:DateTime64(3, 'UTC')} - INTERVAL 1 DAY
      AND has({targets:Array(String)}, target)
    GROUP BY target
) AS prev ON prev.target = cur.target
WHERE cur.status != prev.status AND NOT (prev.status = '' AND cur.status = 'unknown')
SETTINGS join_use_nulls = 0
