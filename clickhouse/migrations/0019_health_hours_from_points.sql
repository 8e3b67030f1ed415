-- Delta probe points of health_points summed per target and hour into health_hours.
CREATE MATERIALIZED VIEW IF NOT EXISTS health_hours_from_points TO health_hours AS
SELECT toStartOfHour(time) AS bucket,
       target,
       toUInt64(sumIf(value, signal = 'outcome')) AS requests,
       toUInt64(sumIf(value, signal = 'outcome' AND outcome = 'ok')) AS ok,
       sumMap(if(signal = 'outcome' AND outcome != 'ok', map(toString(outcome), toUInt64(value)), map())) AS errors,
       groupBitmapStateIf(toUInt32(toRelativeMinuteNum(time)), signal = 'outcome') AS minutes_with_data,
       groupBitmapStateIf(toUInt32(toRelativeMinuteNum(time)), signal = 'outcome' AND outcome = 'ok' AND value > 0) AS minutes_with_ok
FROM health_points
WHERE source = 'probe' AND temporality = 1 AND signal IN ('outcome')
GROUP BY bucket, target
