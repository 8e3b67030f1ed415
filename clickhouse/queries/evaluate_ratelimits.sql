-- The rate-limit exhaustion forecast at instant {at}: one health_ratelimits row per evaluated
-- target and resource (`requests`, `tokens`, `input_tokens`, `output_tokens`) its probes reported
-- in the status window ({window_from}, {at}], from the provider's remaining values and resets
-- (llmhealth.ratelimit.remaining and .reset, each report one point per resource, paired by time).
--   current run   the reports since the remaining value last rose, or since a reset the
--                 provider announced (a report at or after the previous one's time + reset)
--   burn_per_s    the fall of the remaining value per second over the current run's reports of
--                 the last {horizon_s} s (or two probe intervals, if longer): the current rate,
--                 not that of a burst that stopped. With fewer than two such reports, the
--                 `requests` resource burns at the applications' request rate (passive traffic
--                 matched to the target, over the {passive_window_s} s window) when there is any
--   exhausted_in  seconds from {at} until the remaining value reaches 0 at that rate (the last
--                 report's value, less what the rate took since it was reported); none when the
--                 rate is 0 or the reset the last report announced has passed (the value is old)
--   runs_out      it reaches 0 before the reset (any time, when the provider reports no reset)
--   warns         runs_out within thresholds.ratelimit_exhaustion: the snapshot's `degraded`
-- Rows read are those stored by {at}, so re-running an instant writes the same rows.
INSERT INTO health_ratelimits (target, evaluated_at, resource, remaining, reported_at, reset_in_s,
                               samples, burn_per_s, burn_from, exhausted_in_s, runs_out,
                               warning_s, warns)
WITH
configured AS (
    SELECT target, probe_interval, ratelimit_exhaustion
    FROM health_targets
    WHERE version = {version:UInt64}
    LIMIT 1 BY target
),
reports AS (
    SELECT target, resource,
           arraySort(r -> r.1, groupArray((time, remaining, reset_s))) AS series
    FROM (
        SELECT target, outcome AS resource, time,
               argMaxIf(value, inserted_at, signal = 'ratelimit_remaining') AS remaining,
               argMaxIf(toNullable(value), inserted_at, signal = 'ratelimit_reset') AS reset_s
        FROM health_points
        WHERE inserted_at > {window_from:DateTime64(3, 'UTC')} AND inserted_at <= {at:DateTime64(3, 'UTC')}
          AND signal IN ('ratelimit_remaining', 'ratelimit_reset') AND outcome != ''
          AND target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
        GROUP BY target, resource, time
        HAVING countIf(signal = 'ratelimit_remaining') > 0
    )
    GROUP BY target, resource
),
applications AS (
    SELECT target, passive_requests
    FROM health_windows
    WHERE evaluated_at = {at:DateTime64(3, 'UTC')} AND window_seconds = {passive_window_s:UInt32}
      AND probe_kind = ''
    LIMIT 1 BY target
),
forecast AS (
    SELECT r.target AS target, r.resource AS resource, c.ratelimit_exhaustion AS warning_s,
           arrayMap(s -> s.1, r.series) AS times,
           arrayMap(s -> s.2, r.series) AS values,
           length(times) AS n,
           times[n] AS reported_at,
           values[n] AS remaining,
           r.series[n].3 AS reset_s,
           greatest(1, arrayLastIndex(i -> i > 1 AND (values[i] > values[i - 1]
                                                     OR ifNull(dateDiff('millisecond', times[i - 1], times[i])
                                                               >= 1000 * r.series[i - 1].3, false)),
                                      arrayEnumerate(times))) AS run_from,
           arrayFirstIndex((t, i) -> i >= run_from
                                     AND dateDiff('millisecond', t, reported_at)
                                         <= 1000 * greatest({horizon_s:Float64}, 2 * c.probe_interval),
                           times, arrayEnumerate(times)) AS first,
           toUInt32(n - first + 1) AS samples,
           dateDiff('millisecond', times[first], reported_at) / 1000 AS span_s,
           if(samples >= 2 AND span_s > 0, greatest(0, (values[first] - remaining) / span_s), NULL) AS measured,
           if(r.resource = 'requests' AND a.passive_requests > 0 AND {passive_window_s:UInt32} > 0,
              a.passive_requests / {passive_window_s:UInt32}, NULL) AS app_rate,
           multiIf(measured IS NOT NULL, measured, app_rate) AS burn_per_s,
           multiIf(measured IS NOT NULL, 'remaining', app_rate IS NOT NULL, 'applications', '') AS burn_from,
           dateDiff('millisecond', reported_at, {at:DateTime64(3, 'UTC')}) / 1000 AS age_s,
           reset_s - age_s AS reset_in_s,
           if(burn_per_s > 0 AND ifNull(reset_in_s > 0, true),
              greatest(0, remaining / burn_per_s - age_s), NULL) AS exhausted_in_s,
           ifNull(exhausted_in_s < reset_in_s, exhausted_in_s IS NOT NULL) AS runs_out
    FROM reports AS r
    INNER JOIN configured AS c ON c.target = r.target
    LEFT JOIN applications AS a ON a.target = r.target
    SETTINGS join_use_nulls = 0
)
SELECT target,
       {at:DateTime64(3, 'UTC')} AS evaluated_at,
       resource,
       remaining,
       reported_at,
       reset_in_s,
       samples,
       burn_per_s,
       burn_from,
       exhausted_in_s,
       runs_out,
       warning_s,
       ifNull(runs_out AND exhausted_in_s <= warning_s, false) AS warns
FROM forecast
-- Settings: see evaluate_snapshots.sql.
SETTINGS join_use_nulls = 0, optimize_and_compare_chain = 0, query_plan_merge_expressions = 0
