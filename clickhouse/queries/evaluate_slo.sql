-- One health_slo row per target at instant {at} (the first instant of a minute), read from the
-- rollups only: minutes (current hour, and the 5 m, 30 m and 1 h windows), complete hours of the
-- last day, complete days of the last 30. Windows end at {at} and are calendar-aligned: 6 h and
-- 24 h are this hour's minutes plus the 5 or 23 complete hours before; 3 d, 7 d and 30 d are
-- today's hours and minutes plus the 2, 6 or 29 complete days before.
-- What a user would count: rate-limited (`http_429`) and refused (`probe_rejected`) probes say
-- nothing about whether the model works, so they are left out of availability, reachability
-- and burn rates and reported apart (`rate_limited_*`). A minute is available when every probe
-- kind with a result in it had a success in it: a `models` probe that answers does not make up
-- for a `completion` that fails.
-- Applications' requests (health_passive, matched to the target; 429s left out likewise) count
-- in the burn rates with the probes: the error budget is spent by what users saw. Availability
-- and reachability stay the probes'; the applications' own (their successful requests / their
-- requests, per window: availability as users saw it) are reported apart (passive_*).
INSERT INTO health_slo
WITH
toStartOfHour({at:DateTime64(3, 'UTC')}) AS this_hour,
toStartOfDay({at:DateTime64(3, 'UTC')}) AS today,
per_kind AS (
    -- one row per target, bucket and kind; `judged` counts results that are not 429s or
    -- refusals, `kind_minutes` the minutes with such a result, `kind_ok_minutes` those with a success
    SELECT target, 'minute' AS unit, bucket, probe_kind,
           sum(requests) AS all_requests, sum(ok) AS successes, sumMap(errors) AS errors_by_type,
           toUInt64(greatest(toInt64(all_requests) - toInt64(errors_by_type['http_429'])
                             - toInt64(errors_by_type['probe_rejected']), 0)) AS judged,
           bitmapBuild(if(judged > 0, [toUInt32(toRelativeMinuteNum(bucket))], emptyArrayUInt32())) AS kind_minutes,
           bitmapBuild(if(successes > 0, [toUInt32(toRelativeMinuteNum(bucket))], emptyArrayUInt32())) AS kind_ok_minutes
    FROM health_minutes
    WHERE bucket >= {at:DateTime64(3, 'UTC')} - INTERVAL 1 HOUR AND bucket < {at:DateTime64(3, 'UTC')}
      AND target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
    GROUP BY target, bucket, probe_kind
    UNION ALL
    SELECT target, 'hour' AS unit, bucket, probe_kind, sum(requests), sum(ok), sumMap(errors),
           toUInt64(greatest(toInt64(sum(requests)) - toInt64(sumMap(errors)['http_429'])
                             - toInt64(sumMap(errors)['probe_rejected']), 0)),
           groupBitmapMergeState(minutes_with_data), groupBitmapMergeState(minutes_with_ok)
    FROM health_hours
    WHERE bucket >= this_hour - INTERVAL 23 HOUR AND bucket < this_hour AND target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
    GROUP BY target, bucket, probe_kind
    UNION ALL
    SELECT target, 'day' AS unit, bucket, probe_kind, sum(requests), sum(ok), sumMap(errors),
           toUInt64(greatest(toInt64(sum(requests)) - toInt64(sumMap(errors)['http_429'])
                             - toInt64(sumMap(errors)['probe_rejected']), 0)),
           groupBitmapMergeState(minutes_with_data), groupBitmapMergeState(minutes_with_ok)
    FROM health_days
    WHERE bucket >= today - INTERVAL 29 DAY AND bucket < today AND target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
    GROUP BY target, bucket, probe_kind
    UNION ALL
    -- applications' requests: counted in no minute of availability
    SELECT target, unit, bucket, 'passive' AS probe_kind, requests, ok, errors,
           toUInt64(greatest(toInt64(requests) - toInt64(errors['http_429']), 0)),
           bitmapBuild(emptyArrayUInt32()), bitmapBuild(emptyArrayUInt32())
    FROM health_passive FINAL
    WHERE target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
      AND ((unit = 'minute' AND bucket >= {at:DateTime64(3, 'UTC')} - INTERVAL 1 HOUR AND bucket < {at:DateTime64(3, 'UTC')})
           OR (unit = 'hour' AND bucket >= this_hour - INTERVAL 23 HOUR AND bucket < this_hour)
           OR (unit = 'day' AND bucket >= today - INTERVAL 29 DAY AND bucket < today))
),
parts AS (
    -- one row per target and bucket: a minute is down when some kind had a result in it but
    -- no success
    SELECT target, unit, bucket,
           sumIf(judged, probe_kind != 'passive') AS requests, sumIf(successes, probe_kind != 'passive') AS ok,
           sumIf(judged, probe_kind = 'passive') AS passive_requests,
           sumIf(successes, probe_kind = 'passive') AS passive_ok,
           sumIf(errors_by_type['http_429'], probe_kind != 'passive') AS rate_limited,
           groupBitmapOrState(kind_minutes) AS minutes_with_data,
           groupBitmapOrState(bitmapAndnot(kind_minutes, kind_ok_minutes)) AS minutes_down,
           bitmapCardinality(minutes_with_data) AS data_minutes,
           bitmapCardinality(bitmapAndnot(minutes_with_data, minutes_down)) AS ok_minutes
    FROM per_kind
    GROUP BY target, unit, bucket
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
           -- probes and applications' requests together, for the burn rates
           r_5m + sumIf(passive_requests, in_5m) AS b_5m, o_5m + sumIf(passive_ok, in_5m) AS k_5m,
           r_30m + sumIf(passive_requests, in_30m) AS b_30m, o_30m + sumIf(passive_ok, in_30m) AS k_30m,
           r_1h + sumIf(passive_requests, in_1h) AS b_1h, o_1h + sumIf(passive_ok, in_1h) AS k_1h,
           r_6h + sumIf(passive_requests, in_6h) AS b_6h, o_6h + sumIf(passive_ok, in_6h) AS k_6h,
           r_3d + sumIf(passive_requests, in_3d) AS b_3d, o_3d + sumIf(passive_ok, in_3d) AS k_3d,
           sumIf(passive_requests, in_1h) AS p_1h, sumIf(passive_ok, in_1h) AS q_1h,
           sumIf(passive_requests, in_24h) AS p_24h, sumIf(passive_ok, in_24h) AS q_24h,
           sumIf(passive_requests, in_7d) AS p_7d, sumIf(passive_ok, in_7d) AS q_7d,
           sumIf(passive_requests, in_30d) AS p_30d, sumIf(passive_ok, in_30d) AS q_30d,
           sumIf(data_minutes, in_1h) AS d_1h, sumIf(ok_minutes, in_1h) AS u_1h,
           sumIf(data_minutes, in_24h) AS d_24h, sumIf(ok_minutes, in_24h) AS u_24h,
           sumIf(data_minutes, in_7d) AS d_7d, sumIf(ok_minutes, in_7d) AS u_7d,
           sumIf(data_minutes, in_30d) AS d_30d, sumIf(ok_minutes, in_30d) AS u_30d,
           sumIf(rate_limited, in_1h) AS l_1h, sumIf(rate_limited, in_24h) AS l_24h,
           sumIf(rate_limited, in_7d) AS l_7d, sumIf(rate_limited, in_30d) AS l_30d
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
       if(b_5m > 0, (1 - k_5m / b_5m) / (1 - {slo:Float64}), NULL) AS burn_rate_5m,
       if(b_30m > 0, (1 - k_30m / b_30m) / (1 - {slo:Float64}), NULL) AS burn_rate_30m,
       if(b_1h > 0, (1 - k_1h / b_1h) / (1 - {slo:Float64}), NULL) AS burn_rate_1h,
       if(b_6h > 0, (1 - k_6h / b_6h) / (1 - {slo:Float64}), NULL) AS burn_rate_6h,
       if(b_3d > 0, (1 - k_3d / b_3d) / (1 - {slo:Float64}), NULL) AS burn_rate_3d,
       coalesce(burn_rate_1h >= 14.4 AND burn_rate_5m >= 14.4, false) AS burn_page,
       coalesce((burn_rate_6h >= 6 AND burn_rate_30m >= 6) OR (burn_rate_3d >= 1 AND burn_rate_6h >= 1), false) AS burn_ticket,
       l_1h AS rate_limited_1h,
       l_24h AS rate_limited_24h,
       l_7d AS rate_limited_7d,
       l_30d AS rate_limited_30d,
       p_1h AS passive_requests_1h,
       p_24h AS passive_requests_24h,
       p_7d AS passive_requests_7d,
       p_30d AS passive_requests_30d,
       if(p_1h > 0, q_1h / p_1h, NULL) AS passive_success_1h,
       if(p_24h > 0, q_24h / p_24h, NULL) AS passive_success_24h,
       if(p_7d > 0, q_7d / p_7d, NULL) AS passive_success_7d,
       if(p_30d > 0, q_30d / p_30d, NULL) AS passive_success_30d
FROM totals
