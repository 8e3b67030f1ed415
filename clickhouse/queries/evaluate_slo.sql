-- One health_slo row per target at instant {at} (the first instant of a minute), read from the
-- rollups only: minutes (current hour, and the 5 m, 30 m and 1 h windows), complete hours of the
-- last day, complete days of the last 30. Windows end at {at} and are calendar-aligned: 6 h and
-- 24 h are this hour's minutes plus the 5 or 23 complete hours before; 3 d, 7 d and 30 d are
-- today's hours and minutes plus the 2, 6 or 29 complete days before.
INSERT INTO health_slo
WITH
toStartOfHour({at:DateTime64(3, 'UTC')}) AS this_hour,
toStartOfDay({at:DateTime64(3, 'UTC')}) AS today,
parts AS (
    SELECT target, 'minute' AS unit, bucket, sum(requests) AS requests, sum(ok) AS ok,
           toUInt64(requests > 0) AS data_minutes, toUInt64(ok > 0) AS ok_minutes
    FROM health_minutes
    WHERE bucket >= {at:DateTime64(3, 'UTC')} - INTERVAL 1 HOUR AND bucket < {at:DateTime64(3, 'UTC')}
      AND target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
    GROUP BY target, bucket
    UNION ALL
    SELECT target, 'hour' AS unit, bucket, sum(requests), sum(ok),
           groupBitmapMerge(minutes_with_data), groupBitmapMerge(minutes_with_ok)
    FROM health_hours
    WHERE bucket >= this_hour - INTERVAL 23 HOUR AND bucket < this_hour AND target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
    GROUP BY target, bucket
    UNION ALL
    SELECT target, 'day' AS unit, bucket, sum(requests), sum(ok),
           groupBitmapMerge(minutes_with_data), groupBitmapMerge(minutes_with_ok)
    FROM health_days
    WHERE bucket >= today - INTERVAL 29 DAY AND bucket < today AND target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
    GROUP BY target, bucket
),
flagged AS (
    SELECT *,
           unit = 'minute' AND bucket >= {at:DateTime64(3, 'UTC')} - INTERVAL 5 MINUTE AS in_5m,
           unit = 'minute' AND bucket >= {at:DateTime64(3, 'UTC')} - INTERVAL 30 MINUTE AS in_30m,
           unit = 'minute' AS in_1h,
           (unit = 'minute' AND bucket >= this_hour) AS this_hour_minute,
           this_hour_minute OR (unit = 'hour' AND bucket >= this_hour - INTERVAL 5 HOUR) AS in_6h,
           this_hour_minute OR unit = 'hour' AS in_24h,
           this_hour_minute OR (unit = 'hour' AND bucket >= today) AS today_part,
           today_part OR (unit = 'day' AND bucket >= today - INTERVAL 2 DAY) AS in_3d,
           today_part OR (unit = 'day' AND bucket >= today - INTERVAL 6 DAY) AS in_7d,
           today_part OR unit = 'day' AS in_30d
    FROM parts
),
totals AS (
    SELECT target,
           sumIf(requests, in_5m) AS r_5m, sumIf(ok, in_5m) AS o_5m,
           sumIf(requests, in_30m) AS r_30m, sumIf(ok, in_30m) AS o_30m,
           sumIf(requests, in_1h) AS r_1h, sumIf(ok, in_1h) AS o_1h,
           sumIf(requests, in_6h) AS r_6h, sumIf(ok, in_6h) AS o_6h,
           sumIf(requests, in_24h) AS r_24h, sumIf(ok, in_24h) AS o_24h,
           sumIf(requests, in_3d) AS r_3d, sumIf(ok, in_3d) AS o_3d,
           sumIf(requests, in_7d) AS r_7d, sumIf(ok, in_7d) AS o_7d,
           sumIf(requests, in_30d) AS r_30d, sumIf(ok, in_30d) AS o_30d,
           sumIf(data_minutes, in_1h) AS d_1h, sumIf(ok_minutes, in_1h) AS u_1h,
           sumIf(data_minutes, in_24h) AS d_24h, sumIf(ok_minutes, in_24h) AS u_24h,
           sumIf(data_minutes, in_7d) AS d_7d, sumIf(ok_minutes, in_7d) AS u_7d,
           sumIf(data_minutes, in_30d) AS d_30d, sumIf(ok_minutes, in_30d) AS u_30d
    FROM flagged
    GROUP BY target
)
SELECT target,
       {at:DateTime64(3, 'UTC')} AS evaluated_at,
       {slo:Float64} AS slo,
       if(d_1h > 0, u_1h / d_1h, NULL) AS availability_1h,
       if(d_24h > 0, u_24h / d_24h, NULL) AS availability_24h,
       if(d_7d > 0, u_7d / d_7d, NULL) AS availability_7d,
       if(d_30d > 0, u_30d / d_30d, NULL) AS availability_30d,
       if(r_1h > 0, o_1h / r_1h, NULL) AS reachability_1h,
       if(r_24h > 0, o_24h / r_24h, NULL) AS reachability_24h,
       if(r_7d > 0, o_7d / r_7d, NULL) AS reachability_7d,
       if(r_30d > 0, o_30d / r_30d, NULL) AS reachability_30d,
       if(r_5m > 0, (1 - o_5m / r_5m) / (1 - {slo:Float64}), NULL) AS burn_rate_5m,
       if(r_30m > 0, (1 - o_30m / r_30m) / (1 - {slo:Float64}), NULL) AS burn_rate_30m,
       if(r_1h > 0, (1 - o_1h / r_1h) / (1 - {slo:Float64}), NULL) AS burn_rate_1h,
       if(r_6h > 0, (1 - o_6h / r_6h) / (1 - {slo:Float64}), NULL) AS burn_rate_6h,
       if(r_3d > 0, (1 - o_3d / r_3d) / (1 - {slo:Float64}), NULL) AS burn_rate_3d,
       coalesce(burn_rate_1h >= 14.4 AND burn_rate_5m >= 14.4, false) AS burn_page,
       coalesce((burn_rate_6h >= 6 AND burn_rate_30m >= 6) OR (burn_rate_3d >= 1 AND burn_rate_6h >= 1), false) AS burn_ticket
FROM totals
