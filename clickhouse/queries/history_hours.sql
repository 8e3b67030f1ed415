-- The hour rollup of targets {targets} (one target, or a pool's members together) from {from} to
-- {to}, one point per {step_s} seconds (a multiple of an hour), for
-- `GET /api/health/targets/{target}/history` over 7 d and 30 d (aggregator/api/history.py):
-- requests, errors by type, and availability as health_slo counts it (evaluate_slo.sql): a minute
-- is down when some probe kind had a result in it (other than 429s and refusals) but no success;
-- for a pool, no success of any member. The hour rollup keeps no latency: those points have none.
-- Refused probes (`probe_rejected`) are not counted. Times are seconds since the epoch.
WITH
per_kind AS (
    SELECT toUnixTimestamp(toStartOfInterval(bucket, toIntervalSecond({step_s:UInt32}))) AS at_s,
           probe_kind,
           sum(requests) - sumMap(errors)['probe_rejected'] AS counted, sum(ok) AS successes,
           mapFilter((k, v) -> k != 'probe_rejected', sumMap(errors)) AS errors_by_type,
           groupBitmapMergeState(minutes_with_data) AS kind_minutes,
           groupBitmapMergeState(minutes_with_ok) AS kind_ok_minutes
    FROM health_hours
    WHERE bucket >= toStartOfHour({from:DateTime64(3, 'UTC')}) AND bucket <= {to:DateTime64(3, 'UTC')}
      AND target IN {targets:Array(String)}
    GROUP BY at_s, probe_kind
),
steps AS (
    SELECT at_s, sum(counted) AS requests, sum(counted) - sum(successes) AS errors,
           sumMap(errors_by_type) AS errors_by_type,
           groupBitmapOrState(kind_minutes) AS minutes_with_data,
           groupBitmapOrState(bitmapAndnot(kind_minutes, kind_ok_minutes)) AS minutes_down,
           bitmapCardinality(minutes_with_data) AS data_minutes,
           bitmapCardinality(bitmapAndnot(minutes_with_data, minutes_down)) AS available_minutes
    FROM per_kind
    GROUP BY at_s
)
SELECT at_s, toFloat64(requests) AS requests, toFloat64(errors) AS errors,
       if(requests > 0, errors / requests, NULL) AS error_rate,
       mapKeys(errors_by_type) AS error_types,
       arrayMap(v -> toFloat64(v), mapValues(errors_by_type)) AS error_counts,
       if(data_minutes > 0, available_minutes / data_minutes, NULL) AS availability
FROM steps
ORDER BY at_s
SETTINGS output_format_json_quote_64bit_integers = 0
