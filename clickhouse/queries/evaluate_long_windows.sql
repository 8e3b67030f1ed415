-- health_windows rows for every evaluated target and window longer than 15 min ({long_windows})
-- at instant {at}, from the per-minute rollup of probe results: the complete minutes before the
-- instant's minute, so a window changes once a minute (the worker writes these rows at a minute's
-- first instant, and at every instant for a status window this long). The rollup buckets points
-- by their own time, so a point stored late still lands in its minute: re-running an instant
-- after late points arrived counts them. Applications' requests (passive) come from the minute
-- rows of health_passive (evaluate_passive.sql, written at the same minute's first instant just
-- before), in the `passive` row (with their errors by outcome and latency) and as
-- passive_requests of the row over all kinds. Quantiles as there: bucket k stands for 2^((k + 0.5) / 32). One
-- row per kind and one over all kinds (probe_kind ''), as in the short windows: a kind's own
-- latency; the row over all kinds takes that of answers (`completion`, `http`); the context
-- preservation rate of `context` probes, as there. Refused probes
-- (`probe_rejected`) are not counted. Rollup rows written before the rollups had a kind
-- (probe_kind '' there) count in the row over all kinds only.
INSERT INTO health_windows (target, evaluated_at, window_seconds, probe_kind, requests, errors,
                            error_rate, errors_by_type, passive_requests, passive_errors,
                            latency_p50_s, latency_p90_s, latency_p99_s, ttft_p50_s, ttft_p90_s,
                            ttft_p99_s, tokens_per_second_p50, stream_completion_rate,
                            context_preservation_rate)
WITH
long AS (
    SELECT target, w AS window_seconds,
           -- '~' for rows without a kind, so the row over all kinds ('') is the only '' row
           if(m.probe_kind = '', '~', m.probe_kind) AS kind,
           sum(m.requests) - sum(m.errors['probe_rejected']) AS requests,
           sum(m.requests) - sum(m.ok) - sum(m.errors['probe_rejected']) AS errors,
           mapFilter((k, v) -> k != 'probe_rejected',
                     sumMap(if(m.probe_kind = 'passive', map(), m.errors))) AS probe_errors_by_type,
           sumMap(if(m.probe_kind = 'passive', m.errors, map())) AS passive_errors_by_type,
           sum(m.passive_n) AS passive_n, sum(m.passive_ok) AS passive_ok,
           sumMap(m.latency) AS kind_latency,
           sumMap(if(m.probe_kind IN ('completion', 'http', ''), m.latency, map())) AS answer_latency,
           sumMap(m.ttft) AS ttft, sumMap(m.tokens_per_second) AS tokens_per_second,
           sum(m.streams_clean) AS streams_clean, sum(m.streams_cut) AS streams_cut,
           sum(if(m.probe_kind = 'context', m.ok, 0)) AS context_kept,
           sum(if(m.probe_kind = 'context', m.errors['context_lost'], 0)) AS context_lost
    FROM (SELECT bucket, target, probe_kind, requests, ok, errors, latency, ttft, tokens_per_second,
                 streams_clean, streams_cut, toUInt64(0) AS passive_n, toUInt64(0) AS passive_ok
          FROM health_minutes
          WHERE bucket >= toStartOfMinute({at:DateTime64(3, 'UTC')}) - toIntervalSecond(arrayMax({long_windows:Array(UInt32)}))
          UNION ALL
          SELECT bucket, target, 'passive' AS probe_kind, toUInt64(0), toUInt64(0), errors, latency,
                 map(), map(), toUInt64(0), toUInt64(0), requests, ok
          FROM health_passive FINAL
          WHERE unit = 'minute' AND target != ''
            AND bucket >= toStartOfMinute({at:DateTime64(3, 'UTC')}) - toIntervalSecond(arrayMax({long_windows:Array(UInt32)}))) AS m
    ARRAY JOIN {long_windows:Array(UInt32)} AS w
    WHERE m.bucket >= toStartOfMinute({at:DateTime64(3, 'UTC')}) - toIntervalSecond(arrayMax({long_windows:Array(UInt32)}))
      AND m.bucket >= toStartOfMinute({at:DateTime64(3, 'UTC')}) - toIntervalSecond(w)
      AND m.bucket < toStartOfMinute({at:DateTime64(3, 'UTC')})
      AND m.target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
    GROUP BY GROUPING SETS ((target, window_seconds, kind), (target, window_seconds))
    HAVING kind != '~'
),
chosen AS (
    SELECT *, kind AS probe_kind,
           if(kind = '', answer_latency, kind_latency) AS latency,
           arrayMap(q -> exp2((mapKeys(latency)[arrayFirstIndex(c -> c >= q * arraySum(mapValues(latency)),
                         arrayCumSum(mapValues(latency)))] + 0.5) / 32), [0.5, 0.9, 0.99]) AS lq,
           arrayMap(q -> exp2((mapKeys(ttft)[arrayFirstIndex(c -> c >= q * arraySum(mapValues(ttft)),
                         arrayCumSum(mapValues(ttft)))] + 0.5) / 32), [0.5, 0.9, 0.99]) AS tq,
           exp2((mapKeys(tokens_per_second)[arrayFirstIndex(c -> c >= 0.5 * arraySum(mapValues(tokens_per_second)),
                 arrayCumSum(mapValues(tokens_per_second)))] + 0.5) / 32) AS tps
    FROM long
)
SELECT target,
       {at:DateTime64(3, 'UTC')} AS evaluated_at,
       window_seconds,
       probe_kind,
       requests,
       errors,
       if(requests > 0, errors / requests, 0) AS error_rate,
       if(probe_kind = 'passive', passive_errors_by_type, probe_errors_by_type) AS errors_by_type,
       passive_n AS passive_requests,
       passive_n - passive_ok AS passive_errors,
       if(empty(latency), NULL, lq[1]) AS latency_p50_s,
       if(empty(latency), NULL, lq[2]) AS latency_p90_s,
       if(empty(latency), NULL, lq[3]) AS latency_p99_s,
       if(empty(ttft), NULL, tq[1]) AS ttft_p50_s,
       if(empty(ttft), NULL, tq[2]) AS ttft_p90_s,
       if(empty(ttft), NULL, tq[3]) AS ttft_p99_s,
       if(empty(tokens_per_second), NULL, tps) AS tokens_per_second_p50,
       if(streams_clean + streams_cut > 0, streams_clean / (streams_clean + streams_cut), NULL) AS stream_completion_rate,
       if(context_kept + context_lost > 0, context_kept / (context_kept + context_lost), NULL) AS context_preservation_rate
FROM chosen
-- Settings: see evaluate_snapshots.sql.
SETTINGS optimize_and_compare_chain = 0, query_plan_merge_expressions = 0
