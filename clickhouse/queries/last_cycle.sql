-- The pace of the aggregators writing to this store, from their evaluations of the instants
-- since {since} (`llmhealth check --component aggregator`): the instant evaluated last (by the
-- store's clock), how long ago it was written, the interval it ran at, and the slowest
-- evaluation written in the last {recent_s} seconds (0 when none). No row when there is none.
SELECT argMax(evaluated_at, written_at) AS at,
       dateDiff('millisecond', max(written_at), now64(3)) / 1000 AS age_s,
       argMax(interval_s, written_at) AS interval_s,
       maxIf(duration_ms, written_at >= now64(3) - toIntervalSecond({recent_s:UInt32})) AS slowest_ms
FROM health_cycles
WHERE evaluated_at >= {since:DateTime64(3, 'UTC')}
HAVING count() > 0
