-- The minute rollup of targets {targets} (one target, or a pool's members together) from {from}
-- to {to}, one point per {step_s} seconds, for `GET /api/health/targets/{target}/history` over
-- 6 h and 24 h (aggregator/api/history.py): requests, errors by type and the latency of answers
-- (`completion`, `http`), TTFT and tokens/s quantiles (bucket k stands for 2^((k + 0.5) / 32), as
-- in evaluate_long_windows.sql), stream completion, and availability as health_slo counts it: a
-- minute with a result is available when every probe kind with a result in it (other than 429s
-- and refusals) had a success in it; for a pool, a success of any member. Refused probes
-- (`probe_rejected`) are not counted. Times are seconds since the epoch.
WITH
per_kind AS (
    SELECT toStartOfMinute(bucket) AS minute, probe_kind,
           sum(requests) - sumMap(errors)['probe_rejected'] AS counted,
           sum(ok) AS successes,
           mapFilter((k, v) -> k != 'probe_rejected', sumMap(errors)) AS errors_by_type,
           toInt64(counted) - toInt64(errors_by_type['http_429']) AS judged,
           sumMap(if(probe_kind IN ('completion', 'http', ''), latency, map())) AS answer_latency,
           sumMap(ttft) AS kind_ttft, sumMap(tokens_per_second) AS kind_tps,
           sum(streams_clean) AS clean, sum(streams_cut) AS cut
    FROM health_minutes
    WHERE bucket >= toStartOfMinute({from:DateTime64(3, 'UTC')}) AND bucket <= {to:DateTime64(3, 'UTC')}
      AND target IN {targets:Array(String)}
    GROUP BY minute, probe_kind
),
per_minute AS (
    SELECT minute, sum(counted) AS requests, sum(counted) - sum(successes) AS errors,
           sumMap(errors_by_type) AS errors_by_type,
           countIf(judged > 0) > 0 AS with_data,
           countIf(judged > 0 AND successes = 0) = 0 AS available,
           sumMap(answer_latency) AS latency, sumMap(kind_ttft) AS ttft,
           sumMap(kind_tps) AS tokens_per_second, sum(clean) AS clean, sum(cut) AS cut
    FROM per_kind
    GROUP BY minute
),
steps AS (
    SELECT toUnixTimestamp(toStartOfInterval(minute, toIntervalSecond({step_s:UInt32}))) AS at_s,
           sum(requests) AS requests, sum(errors) AS errors, sumMap(errors_by_type) AS errors_by_type,
           countIf(with_data) AS data_minutes, countIf(with_data AND available) AS available_minutes,
           sumMap(latency) AS latency, sumMap(ttft) AS ttft, sumMap(tokens_per_second) AS tps,
           sum(clean) AS clean, sum(cut) AS cut
    FROM per_minute
    GROUP BY at_s
)
SELECT at_s, toFloat64(requests) AS requests, toFloat64(errors) AS errors,
       if(requests > 0, errors / requests, NULL) AS error_rate,
       mapKeys(errors_by_type) AS error_types,
       arrayMap(v -> toFloat64(v), mapValues(errors_by_type)) AS error_counts,
       if(data_minutes > 0, available_minutes / data_minutes, NULL) AS availability,
       arrayMap(q -> if(empty(latency), NULL, exp2((mapKeys(latency)[arrayFirstIndex(
           c -> c >= q * arraySum(mapValues(latency)), arrayCumSum(mapValues(latency)))] + 0.5) / 32)),
           [0.5, 0.9, 0.99]) AS latency_s,
       arrayMap(q -> if(empty(ttft), NULL, exp2((mapKeys(ttft)[arrayFirstIndex(
           c -> c >= q * arraySum(mapValues(ttft)), arrayCumSum(mapValues(ttft)))] + 0.5) / 32)),
           [0.5, 0.9, 0.99]) AS ttft_s,
       if(empty(tps), NULL, exp2((mapKeys(tps)[arrayFirstIndex(
           c -> c >= 0.5 * arraySum(mapValues(tps)), arrayCumSum(mapValues(tps)))] + 0.5) / 32)) AS tokens_per_second_p50,
       if(clean + cut > 0, clean / (clean + cut), NULL) AS stream_completion_rate
FROM steps
ORDER BY at_s
SETTINGS output_format_json_quote_64bit_integers = 0
