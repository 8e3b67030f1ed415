-- Delta probe points of health_points summed per target, minute and probe kind into
-- health_minutes (replaces 0018). `requests`/`ok`/`errors` count every result; latency is the
-- kind's own (a stream's is its whole duration).
CREATE MATERIALIZED VIEW IF NOT EXISTS health_minutes_by_kind_from_points TO health_minutes AS
SELECT toStartOfMinute(time) AS bucket,
       target,
       kind AS probe_kind,
       toUInt64(sumIf(value, signal = 'outcome')) AS requests,
       toUInt64(sumIf(value, signal = 'outcome' AND outcome = 'ok')) AS ok,
       sumMap(if(signal = 'outcome' AND outcome != 'ok', map(toString(outcome), toUInt64(value)), map())) AS errors,
       sumMap(if(signal = 'latency' AND outcome = 'ok', buckets, map())) AS latency,
       sumMap(if(signal = 'ttft' AND outcome = 'ok', buckets, map())) AS ttft,
       sumMap(if(signal = 'tokens_per_second' AND outcome = 'ok', buckets, map())) AS tokens_per_second,
       toUInt64(sumIf(value, signal = 'stream_end' AND outcome = 'clean')) AS streams_clean,
       toUInt64(sumIf(value, signal = 'stream_end' AND outcome = 'cut')) AS streams_cut
FROM health_points
WHERE source = 'probe' AND temporality = 1 AND signal IN ('outcome', 'latency', 'ttft', 'tokens_per_second', 'stream_end')
GROUP BY bucket, target, probe_kind
