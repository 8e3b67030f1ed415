-- The latency sparklines of `GET /api/health/overview` (aggregator/api/overview.py): for each
-- target of {targets} and each name it counts for (itself, and each pool {pools}[i] of which it is
-- the member {members}[i], so a pool's members count together), one row per minute from {from}
-- to {to} with a successful
-- answer: the p50 and p90 latency of answers (`completion` and `http` probes, as
-- history_minutes.sql counts them; a stream's whole duration is not a latency). Bucket k stands
-- for 2^((k + 0.5) / 32) seconds, as in evaluate_long_windows.sql. Read from health_minutes by
-- its leading key (bucket, target). Times are seconds since the epoch.
WITH
per_target AS (
    SELECT target, toUnixTimestamp(toStartOfMinute(bucket)) AS at_s,
           sumMap(if(probe_kind IN ('completion', 'http', ''), latency, map())) AS answers
    FROM health_minutes
    WHERE bucket >= toStartOfMinute({from:DateTime64(3, 'UTC')}) AND bucket <= {to:DateTime64(3, 'UTC')}
      AND target IN {targets:Array(String)}
    GROUP BY target, at_s
),
per_name AS (
    SELECT name, at_s, sumMap(answers) AS latency
    FROM per_target
    ARRAY JOIN arrayConcat([target], arrayFilter((p, m) -> m = target, {pools:Array(String)},
                                             {members:Array(String)})) AS name
    GROUP BY name, at_s
)
SELECT name, at_s,
       arrayMap(q -> exp2((mapKeys(latency)[arrayFirstIndex(
           c -> c >= q * arraySum(mapValues(latency)), arrayCumSum(mapValues(latency)))] + 0.5) / 32),
           [0.5, 0.9]) AS latency_s
FROM per_name
WHERE notEmpty(mapKeys(latency))
ORDER BY name, at_s
SETTINGS output_format_json_quote_64bit_integers = 0
