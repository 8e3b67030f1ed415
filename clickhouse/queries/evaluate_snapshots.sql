-- One health_snapshots row per evaluated target at instant {at}: streaks, circuit breaker, status
-- with hysteresis and its reason. Reads rows stored by {at} only, and carries state forward from
-- the target's latest snapshot since {lookback_from} (none means a fresh start), so re-running an
-- instant, or backfilling instants in order, writes the same rows. {window_from} is {at} minus the
-- status window ({window_s}).
--
-- Streaks: probe outcome points stored since the previous snapshot, in the order of their time.
--   Outcomes exported together share one time: failures count as the later ones.
-- Rule window: the status window ({window_s}), but starting no earlier than the last time the
--   breaker closed (`rules_from`), so the failures of an outage do not hold a recovered target
--   down. Probe results, plus the passive requests of the same provider and model over the
--   longest of health_windows' windows that fits in the rule window (none in its first minute).
--   The probe results of a whole status window are this instant's health_windows counts; of a
--   rule window that starts later, the probe points stored since; so are those of a status
--   window over 15 min ({long_status_window}), whose health_windows row counts whole minutes.
-- Error-rate rules need at least the target's thresholds.min_requests (`min_requests`) in the
--   rule window and compare the lower bound of the 95 % Wilson interval (`error_rate_lower`), so
--   a few errors among few requests do not trip them; the reason shows both.
-- Breaker ({failures}/{successes}/{breaker_error_rate}/{breaker_min_requests}/{cooldown_s}):
--   closed    -> open       on {failures} consecutive failures, or error rate >= {breaker_error_rate}
--                           with at least {breaker_min_requests} requests in the rule window
--   open      -> half_open  {cooldown_s} after opening
--   half_open -> open       on any failure;  half_open -> closed on {successes} consecutive successes
-- Candidate status, first rule that holds:
--   unknown      no probe result yet, or none for more than {stale_intervals} probe intervals
--                (intervals of `prober.backoff_max` while the breaker is not closed)
--   rate_limited a provider reports 0 remaining requests/tokens; or the breaker is not closed and the
--                last failure is a 429; or an error-rate rule holds and 429s are most errors
--   unhealthy    breaker open or half-open; error_rate_lower >= unhealthy_error_rate
--   healthy      the breaker closed at this instant (the rule window starts afresh)
--   degraded     error_rate_lower >= degraded_error_rate; latency p99 or TTFT p99 above its limit
--   healthy
-- Hysteresis: the status becomes the candidate once the candidate held for {hysteresis}
-- consecutive evaluations; at once when the breaker changed state, when the candidate is unknown,
-- or when leaving unknown.
INSERT INTO health_snapshots
WITH
configured AS (
    SELECT target, probe_interval, degraded_rate, unhealthy_rate, latency_max, ttft_max, min_requests, pool
    FROM health_targets
    WHERE version = {version:UInt64}
    LIMIT 1 BY target
),
previous AS (
    SELECT target, evaluated_at, status, status_since, candidate, candidate_count, breaker, breaker_since,
           breaker_reason, rules_from, consecutive_failures, consecutive_successes, last_failure,
           last_probe_at
    FROM health_snapshots
    WHERE evaluated_at >= {lookback_from:DateTime64(3, 'UTC')} AND evaluated_at < {at:DateTime64(3, 'UTC')}
      AND kind = 'target'
    ORDER BY target, evaluated_at DESC
    LIMIT 1 BY target
),
window_stats AS (
    SELECT target,
           arraySort(x -> -x.1, groupArray((window_seconds, passive_requests, passive_errors))) AS passive_by_window,
           anyIf(latency_p50_s, window_seconds = {window_s:UInt32}) AS latency_p50_s,
           anyIf(latency_p90_s, window_seconds = {window_s:UInt32}) AS latency_p90_s,
           anyIf(latency_p99_s, window_seconds = {window_s:UInt32}) AS latency_p99_s,
           anyIf(ttft_p50_s, window_seconds = {window_s:UInt32}) AS ttft_p50_s,
           anyIf(ttft_p90_s, window_seconds = {window_s:UInt32}) AS ttft_p90_s,
           anyIf(ttft_p99_s, window_seconds = {window_s:UInt32}) AS ttft_p99_s,
           anyIf(tokens_per_second_p50, window_seconds = {window_s:UInt32}) AS tokens_per_second_p50,
           anyIf(stream_completion_rate, window_seconds = {window_s:UInt32}) AS stream_completion_rate,
           anyIf(requests, window_seconds = {window_s:UInt32}) AS requests,
           anyIf(errors, window_seconds = {window_s:UInt32}) AS errors,
           anyIf(errors_by_type, window_seconds = {window_s:UInt32}) AS errors_by_type
    FROM health_windows
    WHERE evaluated_at = {at:DateTime64(3, 'UTC')} AND window_seconds <= {window_s:UInt32}
    GROUP BY target
),
-- Per target: its settings (c), previous snapshot (p), this instant's windows (w) and points of
-- the status window (x, one row per target: probe outcomes as (stored at, time, failed, count,
-- outcome), and the latest remaining requests/tokens per resource). Points are `fresh` when
-- stored since the previous snapshot (streaks), `in_rules` when stored in the rule window.
-- x holds the outcomes stored after {fresh_from} (the instant of every target's previous
-- snapshot when the worker knows it, else the window's start), and all of the window's for
-- the targets whose rule window starts inside it: what `fresh` and `in_rules` need.
-- Without a previous snapshot p's columns hold their defaults (join_use_nulls = 0): its times
-- are 1970, so every point of the window is both.
stepped AS (
    SELECT c.target AS target, c.probe_interval AS probe_interval, c.degraded_rate AS degraded_rate,
           c.unhealthy_rate AS unhealthy_rate, c.latency_max AS latency_max, c.ttft_max AS ttft_max,
           c.min_requests AS min_requests, c.pool AS pool,
           p.target != '' AS has_previous,
           if(has_previous, p.status, '') AS prev_status,
           p.status_since AS prev_status_since, p.candidate AS prev_candidate,
           p.candidate_count AS prev_candidate_count,
           if(has_previous, p.breaker, 'closed') AS prev_breaker,
           p.breaker_since AS prev_breaker_since, p.breaker_reason AS prev_breaker_reason,
           p.rules_from AS prev_rules_from,
           greatest(prev_rules_from, {window_from:DateTime64(3, 'UTC')}) AS rules_window_from,
           if(rules_window_from > {window_from:DateTime64(3, 'UTC')},
              printf('since the breaker closed %d s ago', dateDiff('second', rules_window_from, {at:DateTime64(3, 'UTC')})),
              {rules_text:String}) AS rules_text,
           arrayFilter(e -> e.1 > p.evaluated_at, x.probes) AS fresh,
           arraySum(e -> e.4, fresh) AS fresh_n,
           arraySum(e -> if(e.3, e.4, 0), fresh) AS failed_now,
           -- in time order, a failure after a success exported with it
           arraySort(e -> (e.2, e.3), fresh) AS ticks,
           toUInt32(arrayFold((n, e) -> if(e.3, n + e.4, if(e.4 > 0, 0, n)), ticks,
                              toFloat64(p.consecutive_failures))) AS failures,
           toUInt32(arrayFold((n, e) -> if(e.3, if(e.4 > 0, 0, n), n + e.4), ticks,
                              toFloat64(p.consecutive_successes))) AS successes,
           if(failed_now > 0, arrayLast(e -> e.3 AND e.4 > 0, ticks).5, p.last_failure) AS last_failure,
           if(fresh_n > 0, arrayMax(e -> e.1, fresh), p.last_probe_at) AS last_probe_at,
           -- passive requests of the longest window that fits in the rule window
           arrayFirst(e -> e.1 <= dateDiff('second', rules_window_from, {at:DateTime64(3, 'UTC')}),
                      w.passive_by_window) AS passive,
           -- the status window's counts, or (rules restarted inside it) the points since
           rules_window_from > {window_from:DateTime64(3, 'UTC')} OR {long_status_window:Bool} AS rules_by_points,
           arrayFilter(e -> e.1 > p.rules_from, x.probes) AS in_rules,
           if(rules_by_points, arraySum(e -> e.4, in_rules), w.requests) AS probe_requests,
           if(rules_by_points, arraySum(e -> if(e.3, e.4, 0), in_rules), w.errors) AS probe_errors,
           if(rules_by_points,
              arrayReduce('sumMap', arrayMap(e -> map(e.5, toUInt64(e.4)), arrayFilter(e -> e.3, in_rules))),
              w.errors_by_type) AS errors_by_type,
           errors_by_type['http_429'] AS errors_429,
           w.latency_p50_s AS latency_p50_s, w.latency_p90_s AS latency_p90_s,
           w.latency_p99_s AS latency_p99_s, w.ttft_p50_s AS ttft_p50_s,
           w.ttft_p90_s AS ttft_p90_s, w.ttft_p99_s AS ttft_p99_s,
           w.tokens_per_second_p50 AS tokens_per_second_p50,
           w.stream_completion_rate AS stream_completion_rate,
           -- the latest remaining count per resource, then the lowest
           mapValues(x.remaining_by_resource).2 AS remaining,
           if(empty(remaining), NULL, arrayMin(remaining)) AS ratelimit_remaining_min,
           mapKeys(x.remaining_by_resource)[indexOf(remaining, arrayMin(remaining))] AS ratelimit_resource
    FROM configured AS c
    LEFT JOIN (
        SELECT target,
               groupArrayIf((inserted_at, time, outcome != 'ok', value, toString(outcome)),
                            signal = 'outcome' AND source = 'probe' AND temporality = 1) AS probes,
               maxMapIf(map(outcome, (time, value)), signal = 'ratelimit_remaining') AS remaining_by_resource
        FROM health_points
        WHERE inserted_at > {window_from:DateTime64(3, 'UTC')} AND inserted_at <= {at:DateTime64(3, 'UTC')}
          AND signal IN ('outcome', 'ratelimit_remaining')
          AND target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
          AND (inserted_at > {fresh_from:DateTime64(3, 'UTC')} OR signal = 'ratelimit_remaining'
               OR {long_status_window:Bool}
               OR target IN (SELECT target FROM health_snapshots
                             WHERE evaluated_at >= {lookback_from:DateTime64(3, 'UTC')}
                               AND evaluated_at < {at:DateTime64(3, 'UTC')}
                               AND rules_from > {window_from:DateTime64(3, 'UTC')}))
        GROUP BY target
    ) AS x ON x.target = c.target
    LEFT JOIN previous AS p ON p.target = c.target
    LEFT JOIN window_stats AS w ON w.target = c.target
    SETTINGS join_use_nulls = 0
),
-- Few steps on purpose: planning costs each nested SELECT in proportion to the columns it
-- carries, and each join; a value is computed one step below its users only where inlining its
-- alias at every use would cost more.
broken AS (
    SELECT * EXCEPT (fresh, fresh_n, ticks, passive, rules_by_points, in_rules, probe_requests,
                     probe_errors, remaining),
           probe_requests + passive.2 AS rule_requests,
           probe_errors + passive.3 AS rule_errors,
           if(rule_requests > 0, rule_errors / rule_requests, 0) AS rule_rate,
           passive.2 AS passive_requests, passive.3 AS passive_errors,
           -- lower bound of the 95 % Wilson score interval of the error rate e / n (z = 1.96):
           -- (e + z²/2 - z·sqrt(e·(n - e)/n + z²/4)) / (n + z²)
           if(rule_requests > 0,
              greatest(0, (rule_errors + 1.9208
                           - 1.96 * sqrt(rule_errors * (rule_requests - rule_errors) / rule_requests + 0.9604))
                          / (rule_requests + 3.8416)), 0) AS rule_lower,
           multiIf(prev_breaker = 'closed' AND failures >= {failures:UInt32},
                       ('open', printf('%d consecutive failures (last: %s)', failures, last_failure)),
                   prev_breaker = 'closed' AND rule_requests >= {breaker_min_requests:UInt32}
                       AND rule_rate >= {breaker_error_rate:Float64},
                       ('open', printf('error rate %.1f%% >= %.1f%% %s (%d of %d failed)', 100 * rule_rate,
                                       100 * {breaker_error_rate:Float64}, rules_text,
                                       toUInt64(rule_errors), toUInt64(rule_requests))),
                   prev_breaker = 'open'
                       AND dateDiff('millisecond', prev_breaker_since, {at:DateTime64(3, 'UTC')}) >= 1000 * {cooldown_s:Float64},
                       ('half_open', printf('cooldown of %g s over; %s', {cooldown_s:Float64}, prev_breaker_reason)),
                   prev_breaker = 'half_open' AND failed_now > 0,
                       ('open', printf('probe failed while half-open (%s)', last_failure)),
                   prev_breaker = 'half_open' AND successes >= {successes:UInt32},
                       ('closed', printf('%d consecutive successes', successes)),
                   (prev_breaker, prev_breaker_reason)) AS breaker_step
    FROM stepped
),
judged AS (
    SELECT * EXCEPT (breaker_step),
           breaker_step.1 AS breaker,
           breaker_step.2 AS breaker_reason,
           has_previous AND breaker != prev_breaker AS breaker_changed,
           dateDiff('millisecond', last_probe_at, {at:DateTime64(3, 'UTC')}) / 1000 AS age,
           {stale_intervals:Float64} * if(breaker = 'closed', probe_interval,
                                          greatest(probe_interval, {backoff_max_s:Float64})) AS stale_after,
           printf('error rate %.1f%% (at least %.1f%% at 95%% confidence) >= %.1f%% %s (%d of %d failed: %s)',
                  100 * rule_rate, 100 * rule_lower,
                  100 * if(rule_lower >= unhealthy_rate, unhealthy_rate, degraded_rate), rules_text,
                  toUInt64(rule_errors), toUInt64(rule_requests),
                  arrayStringConcat(arrayConcat(
                      arrayMap((e, n) -> concat(e, ' x', toString(n)), mapKeys(errors_by_type), mapValues(errors_by_type)),
                      if(passive_errors > 0, [concat('app requests x', toString(passive_errors))], [])), ', ')) AS error_text,
           multiIf(last_probe_at IS NULL, ('unknown', 'no probe result yet'),
                   age > stale_after,
                       ('unknown', printf('no probe result for %.0f s (more than %g x %g s)', age,
                                          {stale_intervals:Float64}, stale_after / {stale_intervals:Float64})),
                   ratelimit_remaining_min = 0,
                       ('rate_limited', printf('the provider reports 0 %s remaining', ratelimit_resource)),
                   breaker != 'closed' AND last_failure = 'http_429',
                       ('rate_limited', printf('circuit breaker %s: %s', breaker, breaker_reason)),
                   breaker != 'closed',
                       ('unhealthy', printf('circuit breaker %s: %s', breaker, breaker_reason)),
                   breaker_changed,
                       ('healthy', printf('circuit breaker closed: %s', breaker_reason)),
                   rule_requests >= min_requests AND rule_lower >= least(unhealthy_rate, degraded_rate),
                       (multiIf(errors_429 * 2 > rule_errors, 'rate_limited',
                                rule_lower >= unhealthy_rate, 'unhealthy', 'degraded'), error_text),
                   latency_p99_s > latency_max,
                       ('degraded', printf('latency p99 %.2f s > %.2f s over %s', latency_p99_s, latency_max,
                                           {window_text:String})),
                   ttft_p99_s > ttft_max,
                       ('degraded', printf('TTFT p99 %.2f s > %.2f s over %s', ttft_p99_s, ttft_max,
                                           {window_text:String})),
                   ('healthy', concat(printf('error rate %.1f%% %s (%d probes', 100 * rule_rate, rules_text,
                                             toUInt64(rule_requests - passive_requests)),
                                      if(passive_requests > 0, printf(', %d app requests', toUInt64(passive_requests)), ''),
                                      ')',
                                      if(latency_p99_s IS NULL, '', printf(', latency p99 %.2f s', latency_p99_s)),
                                      if(ttft_p99_s IS NULL, '', printf(', TTFT p99 %.2f s', ttft_p99_s))))) AS judgement
    FROM broken
)
SELECT target,
       {at:DateTime64(3, 'UTC')} AS evaluated_at,
       'target' AS kind,
       if((judgement.1 = prev_status OR NOT has_previous OR prev_status = 'unknown' OR judgement.1 = 'unknown'
           OR breaker_changed
           OR (if(has_previous AND judgement.1 = prev_candidate, prev_candidate_count + 1, 1) AS counted)
              >= {hysteresis:UInt32}) AS takes_effect,
          judgement.1, prev_status) AS status,
       if(takes_effect, judgement.2,
          printf('still %s: %s for %d of %d evaluations (%s)', prev_status, judgement.1, counted,
                 {hysteresis:UInt32}, judgement.2)) AS reason,
       if(status != prev_status, {at:DateTime64(3, 'UTC')}, prev_status_since) AS status_since,
       prev_status AS previous_status,
       judgement.1 AS candidate,
       counted AS candidate_count,
       breaker,
       if(breaker_changed OR NOT has_previous, {at:DateTime64(3, 'UTC')}, prev_breaker_since) AS breaker_since,
       breaker_reason,
       if(has_previous, prev_breaker, '') AS previous_breaker,
       if(breaker_changed AND breaker = 'closed', {at:DateTime64(3, 'UTC')}, prev_rules_from) AS rules_from,
       failures AS consecutive_failures,
       successes AS consecutive_successes,
       last_failure,
       last_probe_at,
       {window_s:UInt32} AS window_seconds,
       toUInt64(rule_requests) AS requests,
       toUInt64(rule_errors) AS errors,
       rule_rate AS error_rate,
       rule_lower AS error_rate_lower,
       errors_by_type,
       toUInt64(passive_requests) AS passive_requests,
       toUInt64(passive_errors) AS passive_errors,
       latency_p50_s, latency_p90_s, latency_p99_s, ttft_p50_s, ttft_p90_s, ttft_p99_s,
       tokens_per_second_p50, stream_completion_rate, ratelimit_remaining_min, pool
FROM judged
-- Settings: optimize_and_compare_chain looks for comparisons implied by AND chains and hashes
-- every chain to do so; over these conditions it was half the analysis (about 30 ms for the
-- snapshot) and found nothing to add. Merging the plan's expression steps cost about 12 ms and
-- gains nothing measurable up to 10,000 targets (bench/statement_phases.py).
SETTINGS join_use_nulls = 0, optimize_and_compare_chain = 0, query_plan_merge_expressions = 0
