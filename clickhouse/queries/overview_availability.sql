-- Availability by time over 24 h, 7 d, 30 d and 90 d at {at} for `GET /api/health/overview`
-- (aggregator/api/overview.py): for each target of {targets} and each name it counts for
-- (itself, and each pool {pools}[i] of which it is the member {members}[i]), available minutes /
-- minutes with a result. Counted
-- as health_slo counts it (evaluate_slo.sql), from the rollups only, calendar-aligned: 24 h is
-- this hour's minutes plus the 23 complete hours before; 7 d, 30 d and 90 d are today's hours
-- and this hour's minutes plus the 6, 29 or 89 complete days before. A minute is available
-- when every probe kind with a result in it (other than 429s and refusals) had a success in
-- it; for a pool, when for every such kind some member had a success of that kind (as
-- history_hours.sql). So a target's 24h, 7d and 30d equal its health_slo row of the same minute.
WITH
toStartOfHour({at:DateTime64(3, 'UTC')}) AS this_hour,
toStartOfDay({at:DateTime64(3, 'UTC')}) AS today,
per_kind AS (
    -- one row per target, unit, bucket and kind: the kind's minutes with a result that says
    -- something about the target, and those with a success
    SELECT target, 'minute' AS unit, bucket, probe_kind,
           bitmapBuild(if(toInt64(sum(requests)) - toInt64(sumMap(errors)['http_429'])
                          - toInt64(sumMap(errors)['probe_rejected']) > 0,
                          [toUInt32(toRelativeMinuteNum(bucket))], emptyArrayUInt32())) AS kind_minutes,
           bitmapBuild(if(sum(ok) > 0, [toUInt32(toRelativeMinuteNum(bucket))], emptyArrayUInt32())) AS kind_ok_minutes
    FROM health_minutes
    WHERE bucket >= this_hour AND bucket <= {at:DateTime64(3, 'UTC')}
      AND target IN {targets:Array(String)}
    GROUP BY target, bucket, probe_kind
    UNION ALL
    SELECT target, 'hour' AS unit, bucket, probe_kind,
           groupBitmapMergeState(minutes_with_data), groupBitmapMergeState(minutes_with_ok)
    FROM health_hours
    WHERE bucket >= this_hour - INTERVAL 23 HOUR AND bucket < this_hour
      AND target IN {targets:Array(String)}
    GROUP BY target, bucket, probe_kind
    UNION ALL
    SELECT target, 'day' AS unit, bucket, probe_kind,
           groupBitmapMergeState(minutes_with_data), groupBitmapMergeState(minutes_with_ok)
    FROM health_days
    WHERE bucket >= today - INTERVAL 89 DAY AND bucket < today
      AND target IN {targets:Array(String)}
    GROUP BY target, bucket, probe_kind
),
per_name_kind AS (
    SELECT name, unit, bucket, probe_kind,
           groupBitmapOrState(kind_minutes) AS data_minutes,
           groupBitmapOrState(kind_ok_minutes) AS ok_minutes
    FROM per_kind
    ARRAY JOIN arrayConcat([target], arrayFilter((p, m) -> m = target, {pools:Array(String)},
                                             {members:Array(String)})) AS name
    GROUP BY name, unit, bucket, probe_kind
),
parts AS (
    -- one row per name and bucket: a minute is down when some kind had a result in it but
    -- no success
    SELECT name, unit, bucket,
           groupBitmapOrState(data_minutes) AS minutes_with_data,
           groupBitmapOrState(bitmapAndnot(data_minutes, ok_minutes)) AS minutes_down,
           bitmapCardinality(minutes_with_data) AS with_data,
           bitmapCardinality(bitmapAndnot(minutes_with_data, minutes_down)) AS available
    FROM per_name_kind
    GROUP BY name, unit, bucket
),
flagged AS (
    SELECT *,
           unit = 'minute' OR (unit = 'hour' AND bucket >= today) AS today_part,
           unit = 'minute' OR unit = 'hour' AS in_24h,
           today_part OR (unit = 'day' AND bucket >= today - INTERVAL 6 DAY) AS in_7d,
           today_part OR (unit = 'day' AND bucket >= today - INTERVAL 29 DAY) AS in_30d,
           today_part OR unit = 'day' AS in_90d
    FROM parts
),
totals AS (
    SELECT name,
           sumIf(with_data, in_24h) AS d_24h, sumIf(available, in_24h) AS u_24h,
           sumIf(with_data, in_7d) AS d_7d, sumIf(available, in_7d) AS u_7d,
           sumIf(with_data, in_30d) AS d_30d, sumIf(available, in_30d) AS u_30d,
           sumIf(with_data, in_90d) AS d_90d, sumIf(available, in_90d) AS u_90d
    FROM flagged
    GROUP BY name
)
SELECT name,
       if(d_24h > 0, u_24h / d_24h, NULL) AS availability_24h,
       if(d_7d > 0, u_7d / d_7d, NULL) AS availability_7d,
       if(d_30d > 0, u_30d / d_30d, NULL) AS availability_30d,
       if(d_90d > 0, u_90d / d_90d, NULL) AS availability_90d
FROM totals
ORDER BY name
SETTINGS output_format_json_quote_64bit_integers = 0
