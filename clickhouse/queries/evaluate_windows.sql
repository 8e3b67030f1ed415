-- health_windows rows for every evaluated target and window at instant {at}: one per probe kind
-- (probe_kind `completion`, `stream`, `models`, `http`, and `passive` for applications'
-- requests) and one over all of them (probe_kind '').
-- Windows up to 15 min ({short_windows}) read health_points as of {at} (rows inserted by then):
--   requests, errors by type   <- probe outcomes; passive requests, their errors by type (in the
--                                  `passive` row) and latency <- applications' duration points
--                                  (health_passive_points), each request source counting for the
--                                  target aggregator/passive_match.py matched it to
--                                  ({passive_keys} -> {passive_targets}), error.type mapped onto
--                                  an outcome ({error_types} -> {error_outcomes})
--   delta points count as they are; cumulative points count their increase over the previous point
--   of the same series (ordered by the point's time). A counter reset (new start time, or a value
--   below the previous one) counts the new value; the first point of a series seen within
--   {lookback_s} counts fully only if the series started inside it. So a lost or late export
--   loses nothing: the next cumulative point carries the missed increase.
--   latency, TTFT and tokens/s quantiles <- scale-5 buckets of successful probes, one
--   row per bucket: quantileExactWeighted is the first bucket whose cumulative count reaches q of
--   the total, and bucket k stands for its geometric midpoint 2^((k + 0.5) / 32) (within 1.1 % of
--   the samples)
--   The row over all kinds takes its latency from `completion` and `http` probes only (a
--   `models` listing or a whole stream is another question), its TTFT from `stream`.
--   context preservation rate <- `context` probes that kept the first turn (ok) / those answered
--   (ok or context_lost), in the `context` row and the row over all kinds
-- Longer windows are evaluate_long_windows.sql.
INSERT INTO health_windows (target, evaluated_at, window_seconds, probe_kind, requests, errors,
                            error_rate, errors_by_type, passive_requests, passive_errors,
                            latency_p50_s, latency_p90_s, latency_p99_s, ttft_p50_s, ttft_p90_s,
                            ttft_p99_s, tokens_per_second_p50, stream_completion_rate,
                            context_preservation_rate)
WITH
configured AS (
    SELECT target, concat('t:', target) AS key
    FROM (SELECT * FROM health_targets WHERE version = {version:UInt64} LIMIT 1 BY target)
),
recent AS (
    SELECT concat('t:', target) AS key, source, signal, kind, outcome, inserted_at,
           bucket, bucket_n, value AS delta
    FROM health_points
    LEFT ARRAY JOIN mapKeys(buckets) AS bucket, mapValues(buckets) AS bucket_n
    WHERE inserted_at > {at:DateTime64(3, 'UTC')} - toIntervalSecond({max_short:UInt32})
      AND inserted_at <= {at:DateTime64(3, 'UTC')}
      AND temporality = 1 AND signal != 'ratelimit_remaining' AND source = 'probe'
    UNION ALL
    SELECT concat('t:', target) AS key, source, signal, kind, outcome, inserted_at,
           toInt16(0) AS bucket, toUInt64(0) AS bucket_n,
           multiIf(n = 1, if(start > {at:DateTime64(3, 'UTC')} - toIntervalSecond({max_short:UInt32} + {lookback_s:UInt32}), value, 0),
                   start != previous_start OR value < previous_value, value,
                   value - previous_value) AS delta
    FROM (
        SELECT *, lagInFrame(value) OVER w AS previous_value, lagInFrame(start) OVER w AS previous_start,
               row_number() OVER w AS n
        FROM health_points
        WHERE inserted_at > {at:DateTime64(3, 'UTC')} - toIntervalSecond({max_short:UInt32} + {lookback_s:UInt32})
          AND inserted_at <= {at:DateTime64(3, 'UTC')}
          AND temporality = 2 AND signal IN ('outcome', 'stream_end') AND source = 'probe'
        WINDOW w AS (PARTITION BY series ORDER BY time, inserted_at
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    )
    WHERE inserted_at > {at:DateTime64(3, 'UTC')} - toIntervalSecond({max_short:UInt32})
    UNION ALL
    -- applications' requests: a row with each point's count, and one per duration bucket of
    -- its successes; cumulative points by their increase, as above (buckets likewise)
    SELECT concat('t:', {passive_targets:Array(String)}[indexOf({passive_keys:Array(UInt64)}, source_key)]) AS key,
           'passive' AS source, part.1 AS signal, 'passive' AS kind,
           if(error_type = '', 'ok', transform(error_type, {error_types:Array(String)},
                                               {error_outcomes:Array(String)}, error_type)) AS outcome,
           inserted_at, part.2 AS bucket, part.3 AS bucket_n, if(part.1 = 'request', delta, 0) AS delta
    FROM (
        SELECT source_key, toString(error_type) AS error_type, inserted_at,
               multiIf(temporality != 2, value,
                       n = 1, if(start > {at:DateTime64(3, 'UTC')} - toIntervalSecond({max_short:UInt32} + {lookback_s:UInt32}), value, 0),
                       start != previous_start OR value < previous_value, value,
                       value - previous_value) AS delta,
               multiIf(temporality != 2, buckets,
                       n = 1, if(start > {at:DateTime64(3, 'UTC')} - toIntervalSecond({max_short:UInt32} + {lookback_s:UInt32}), buckets, map()),
                       start != previous_start OR value < previous_value, buckets,
                       mapSubtract(buckets, previous_buckets)) AS delta_buckets
        FROM (
            SELECT source AS source_key, error_type, inserted_at, temporality, value, start, buckets,
                   lagInFrame(value) OVER w AS previous_value, lagInFrame(start) OVER w AS previous_start,
                   lagInFrame(buckets) OVER w AS previous_buckets, row_number() OVER w AS n
            FROM health_passive_points
            WHERE inserted_at > {at:DateTime64(3, 'UTC')} - toIntervalSecond({max_short:UInt32} + {lookback_s:UInt32})
              AND inserted_at <= {at:DateTime64(3, 'UTC')}
            WINDOW w AS (PARTITION BY series ORDER BY time, inserted_at
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        )
        WHERE inserted_at > {at:DateTime64(3, 'UTC')} - toIntervalSecond({max_short:UInt32})
    )
    ARRAY JOIN arrayConcat([('request', toInt16(0), toUInt64(0))],
                           arrayMap((k, c) -> ('latency', k, toUInt64(c)),
                                    if(error_type = '', mapKeys(delta_buckets), []),
                                    if(error_type = '', mapValues(delta_buckets), []))) AS part
),
short AS (
    SELECT c.target AS target, w AS window_seconds, kind AS probe_kind,
           -- a probe the provider refused (probe_rejected) is our request's problem: not counted
           sumIf(delta, source = 'probe' AND signal = 'outcome' AND outcome != 'probe_rejected') AS requests,
           sumIf(delta, source = 'probe' AND signal = 'outcome' AND outcome NOT IN ('ok', 'probe_rejected')) AS errors,
           sumMapIf(map(toString(outcome), toUInt64(delta)),
                    source = 'probe' AND signal = 'outcome' AND outcome NOT IN ('ok', 'probe_rejected')) AS probe_errors_by_type,
           sumIf(delta, source = 'passive') AS passive_requests,
           sumIf(delta, source = 'passive' AND outcome != 'ok') AS passive_errors,
           sumMapIf(map(toString(outcome), toUInt64(delta)),
                    source = 'passive' AND outcome != 'ok' AND delta > 0) AS passive_errors_by_type,
           sumIf(bucket_n, signal = 'latency' AND outcome = 'ok') AS kind_latency_n,
           quantilesExactWeightedIf(0.5, 0.9, 0.99)(bucket, bucket_n,
               signal = 'latency' AND outcome = 'ok') AS kind_latency,
           sumIf(bucket_n, signal = 'latency' AND outcome = 'ok' AND kind IN ('completion', 'http')) AS answer_latency_n,
           quantilesExactWeightedIf(0.5, 0.9, 0.99)(bucket, bucket_n,
               signal = 'latency' AND outcome = 'ok' AND kind IN ('completion', 'http')) AS answer_latency,
           sumIf(bucket_n, signal = 'ttft' AND outcome = 'ok') AS ttft_n,
           quantilesExactWeightedIf(0.5, 0.9, 0.99)(bucket, bucket_n, signal = 'ttft' AND outcome = 'ok') AS ttft,
           sumIf(bucket_n, signal = 'tokens_per_second' AND outcome = 'ok') AS tps_n,
           quantileExactWeightedIf(0.5)(bucket, bucket_n, signal = 'tokens_per_second' AND outcome = 'ok') AS tps,
           sumIf(delta, signal = 'stream_end' AND outcome = 'clean') AS streams_clean,
           sumIf(delta, signal = 'stream_end' AND outcome = 'cut') AS streams_cut,
           sumIf(delta, signal = 'outcome' AND kind = 'context' AND outcome = 'ok') AS context_kept,
           sumIf(delta, signal = 'outcome' AND kind = 'context' AND outcome = 'context_lost') AS context_lost
    FROM recent AS r
    -- each point once per window it falls in
    ARRAY JOIN arrayFilter(x -> r.inserted_at > {at:DateTime64(3, 'UTC')} - toIntervalSecond(x),
                           {short_windows:Array(UInt32)}) AS w
    INNER JOIN configured AS c ON c.key = r.key
    GROUP BY GROUPING SETS ((target, window_seconds, kind), (target, window_seconds))
),
-- a kind's own latency; in the row over all kinds (probe_kind '': every point has a kind), that
-- of answers only
chosen AS (
    SELECT *,
           if(probe_kind = '', answer_latency_n, kind_latency_n) AS latency_n,
           if(probe_kind = '', answer_latency, kind_latency) AS latency
    FROM short
)
SELECT target,
       {at:DateTime64(3, 'UTC')} AS evaluated_at,
       window_seconds,
       probe_kind,
       toUInt64(requests) AS requests,
       toUInt64(errors) AS errors,
       if(requests > 0, errors / requests, 0) AS error_rate,
       -- the `passive` row: the applications' errors by outcome
       if(probe_kind = 'passive', passive_errors_by_type, probe_errors_by_type) AS errors_by_type,
       toUInt64(passive_requests) AS passive_requests,
       toUInt64(passive_errors) AS passive_errors,
       if(latency_n = 0, NULL, exp2((latency[1] + 0.5) / 32)) AS latency_p50_s,
       if(latency_n = 0, NULL, exp2((latency[2] + 0.5) / 32)) AS latency_p90_s,
       if(latency_n = 0, NULL, exp2((latency[3] + 0.5) / 32)) AS latency_p99_s,
       if(ttft_n = 0, NULL, exp2((ttft[1] + 0.5) / 32)) AS ttft_p50_s,
       if(ttft_n = 0, NULL, exp2((ttft[2] + 0.5) / 32)) AS ttft_p90_s,
       if(ttft_n = 0, NULL, exp2((ttft[3] + 0.5) / 32)) AS ttft_p99_s,
       if(tps_n = 0, NULL, exp2((tps + 0.5) / 32)) AS tokens_per_second_p50,
       if(streams_clean + streams_cut > 0, streams_clean / (streams_clean + streams_cut), NULL) AS stream_completion_rate,
       if(context_kept + context_lost > 0, context_kept / (context_kept + context_lost), NULL) AS context_preservation_rate
FROM chosen
-- Settings: see evaluate_snapshots.sql.
SETTINGS optimize_and_compare_chain = 0, query_plan_merge_expressions = 0
