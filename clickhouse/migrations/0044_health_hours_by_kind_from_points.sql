-- Delta probe points of health_points summed per target, hour and probe kind into health_hours
-- (replaces 0019). A minute is in `minutes_with_data` when the kind has a result in it that
-- says something about the target: rate-limited (`http_429`) and refused (`probe_rejected`)
-- probes do not, so they neither lower nor raise availability (they stay counted in
-- `requests` and `errors`).
CREATE MATERIALIZED VIEW IF NOT EXISTS health_hours_by_kind_from_points TO health_hours AS
SELECT toStartOfHour(time) AS bucket,
       target,
       kind AS probe_kind,
       toUInt64(sumIf(value, signal = 'outcome')) AS requests,
       toUInt64(sumIf(value, signal = 'outcome' AND outcome = 'ok')) AS ok,
       sumMap(if(signal = 'outcome' AND outcome != 'ok', map(toString(outcome), toUInt64(value)), map())) AS errors,
       groupBitmapStateIf(toUInt32(toRelativeMinuteNum(time)),
                          signal = 'outcome' AND outcome NOT IN ('http_429', 'probe_rejected') AND value > 0) AS minutes_with_data,
       groupBitmapStateIf(toUInt32(toRelativeMinuteNum(time)), signal = 'outcome' AND outcome = 'ok' AND value > 0) AS minutes_with_ok
FROM health_points
WHERE source = 'probe' AND temporality = 1 AND signal IN ('outcome')
GROUP BY bucket, target, probe_kind
