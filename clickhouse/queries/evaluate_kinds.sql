-- One health_kinds row per evaluated target and probe kind at instant {at}: that kind's streaks,
-- circuit breaker and verdict, each rule checked with its value and limit (`rules`). The kinds
-- of a target are those it is configured with (health_targets.probe_kinds) and any other that
-- reported in the status window (a budget's fallback `models` probe). State is carried from the
-- kind's latest row since {lookback_from}; rows read are those stored by {at}, so re-running an
-- instant, or backfilling instants in order, writes the same rows.
--
-- Streaks: the kind's outcome points stored since its previous row, in the order of their time
--   (outcomes exported together share one time: failures count as the later ones).
--   `probe_rejected` (the provider refused the probe request itself) is neither a failure nor a
--   success, and counts in no error rate: it is our request's problem, not the model's.
-- Rule window: the status window ({window_s}), restarted when the breaker closes after an outage
--   that began with at least {breaker_min_requests} requests of the kind's own before it
--   (`rules_from`, `outage_baseline`): the failures of an outage do not hold a recovered kind
--   down, while those of a kind that fails at random, or that failed within its first few
--   probes (a few clean probes and then a run of failures say little about which it is), stay
--   in the window. A restart is undone when the kind fails again before min_requests requests
--   (`undone`, below): the kind is then judged on its status window without the outage's run
--   (the points from `outage_from`, where the outage's run of failures began, to the close),
--   so the history before the outage and the points since the close both count, and the
--   outage's failures still do not.
-- Outage: the breaker is not closed and the current run of failures is longer than the error
--   rate explains. The baseline is the window's requests before the run, of all the target's
--   kinds that answer (all but `models` and `context`: a model failing at random fails its
--   completions and streams alike) less each one's current run, or of the kind alone for
--   `models` and `context`: with none failed, {failures} failures are an outage; else a run of
--   `needed` failures, where
--   b^needed < 1/1,000,000 for the baseline's rate b = (e + 1) / (n + 2) (so a model failing
--   10 % of requests at random needs 6 in a row, 30 % 12, 50 % 20: such a model starts over
--   a thousand runs an hour). While another answering kind of the target is in an outage that
--   began after {breaker_min_requests} requests of its own, {failures} failures of an answering
--   kind are one too: a model that is down fails all its answers, and the other kind's failures
--   of the same outage must not count as its baseline.
--   Once an outage, it stays one until the breaker closes.
-- Breaker ({failures}/{successes}/{breaker_error_rate}/{breaker_min_requests}/{cooldown_s}), per kind:
--   closed    -> open       on {failures} consecutive failures, or error rate >= {breaker_error_rate}
--                           with at least {breaker_min_requests} requests in the rule window
--   open      -> closed     {cooldown_s} after opening, when the last {successes} probes succeeded (the
--                           trial the half-open state waits for already passed during the cooldown)
--   open      -> half_open  {cooldown_s} after opening, otherwise
--   half_open -> open       on any failure;  half_open -> closed on {successes} consecutive successes
-- Verdict, first rule that holds (n requests, e errors, r = e/n, lo its Wilson lower bound at
-- 90 % one-sided confidence). A verdict holds in a band below the rate that entered it (the
-- `*_hold` fractions), so a rate near a threshold does not flap:
--   unknown      no probe result yet; none for more than {stale_intervals} probe intervals
--                (the kind's own: `context` has one; intervals of `prober.backoff_max` while the
--                breaker is not closed); the last result is probe_rejected
--   rate_limited the breaker is not closed and the last failure is a 429
--   unhealthy    an outage (above)
--   healthy      the breaker closed at this instant and the rule window restarts (above)
--   unhealthy    n >= {breaker_min_requests} and r >= unhealthy_error_rate (rate_limited when 429s
--                are most errors); or it was unhealthy and r >= {unhealthy_hold} x unhealthy_error_rate
--   degraded     it was degraded or worse and r >= {degraded_hold} x degraded_error_rate
--   degraded     the breaker is not closed: a run of failures that is not an outage (the
--                answers' error rate explains it) still says the kind fails often
--   unknown      e > 0 and n < min_requests, and no verdict yet, or a `healthy` one that more
--                than one failure already puts in doubt (lo >= {unhealthy_hold} x
--                unhealthy_error_rate, the rate that holds a kind unhealthy): too few requests to
--                judge a new kind either way (a model failing 1 % of its requests, 2 of its first
--                few, stays `healthy`, so random failures soon after a start are no change)
--   degraded     n >= min_requests and lo >= degraded_error_rate (rate_limited when 429s are most
--                errors)
--   degraded     latency p99 > thresholds.latency_p99 (kinds but `stream` and `context`, whose
--                whole duration is not a latency); TTFT p99 > thresholds.ttft_p99
--   healthy
INSERT INTO health_kinds (target, evaluated_at, probe_kind, verdict, reason, breaker, breaker_since,
                         breaker_reason, previous_breaker, outage, outage_baseline, rules_from, consecutive_failures,
                         consecutive_successes, run_from, outage_from, restart_undone, last_failure, last_probe_at, last_outcome, requests,
                         errors, error_rate, error_rate_lower, error_rate_upper, errors_by_type,
                         latency_p50_s, latency_p90_s, latency_p99_s, ttft_p50_s, ttft_p90_s,
                         ttft_p99_s, rules, targets_version)
WITH
-- Wilson score bound of e errors in n requests, one-sided 90 % each: z = -1.2816 the lower,
-- z = 1.2816 the upper; (e + z²/2 + z·sqrt(e·(n - e)/n + z²/4)) / (n + z²)
(e, n, z) -> (e + 0.8213 + z * sqrt(e * (n - e) / n + 0.4106)) / (n + 1.6425) AS wilson,
configured AS (
    SELECT target, probe_kinds, probe_interval, kind_intervals, degraded_error_rate,
           unhealthy_error_rate, latency_p99, ttft_p99, min_requests
    FROM health_targets
    WHERE version = {version:UInt64}
    LIMIT 1 BY target
),
-- this instant's status window of each kind (written just before by evaluate_windows)
windows AS (
    SELECT target, probe_kind, requests, errors, errors_by_type, latency_p50_s, latency_p90_s,
           latency_p99_s, ttft_p50_s, ttft_p90_s, ttft_p99_s
    FROM health_windows
    WHERE evaluated_at = {at:DateTime64(3, 'UTC')} AND window_seconds = {window_s:UInt32}
      AND probe_kind NOT IN ('', 'passive')
    LIMIT 1 BY target, probe_kind
),
pairs AS (
    SELECT target, probe_kind FROM configured ARRAY JOIN probe_kinds AS probe_kind
    UNION DISTINCT
    SELECT target, probe_kind FROM windows WHERE requests > 0
),
previous AS (
    SELECT target, probe_kind, evaluated_at, verdict, breaker, breaker_since, breaker_reason,
           outage, outage_baseline, rules_from, consecutive_failures, consecutive_successes,
           run_from, outage_from, restart_undone, last_failure, last_probe_at, last_outcome
    FROM health_kinds
    WHERE evaluated_at >= {lookback_from:DateTime64(3, 'UTC')} AND evaluated_at < {at:DateTime64(3, 'UTC')}
    ORDER BY target, probe_kind, evaluated_at DESC
    LIMIT 1 BY target, probe_kind
),
-- Per (target, kind): settings (c), previous row (p), this instant's window (w) and the outcome
-- points of the status window (x: (stored at, time, failed, count, outcome) each) stored after
-- {fresh_from} (every kind's previous row when the worker knows it, else the window's start),
-- and all of the window's where the rule window restarted inside it.
-- Without a previous row p's columns hold their defaults (join_use_nulls = 0): its times are
-- 1970, so every point of the window is both fresh and in the rule window.
stepped AS (
    SELECT k.target AS target, k.probe_kind AS probe_kind,
           if(mapContains(c.kind_intervals, k.probe_kind), c.kind_intervals[k.probe_kind],
              c.probe_interval) AS probe_interval,
           c.degraded_error_rate AS degraded_error_rate,
           c.unhealthy_error_rate AS unhealthy_error_rate, c.latency_p99 AS latency_p99_max,
           c.ttft_p99 AS ttft_p99_max, c.min_requests AS min_requests,
           p.target != '' AS has_previous,
           if(has_previous, p.verdict, '') AS prev_verdict,
           if(has_previous, p.breaker, 'closed') AS prev_breaker,
           p.breaker_since AS prev_breaker_since, p.breaker_reason AS prev_breaker_reason,
           p.outage AS prev_outage, p.outage_baseline AS prev_outage_baseline, p.rules_from AS prev_rules_from,
           p.outage_from AS prev_outage_from,
           -- the rule window restarted inside the status window (`restarts`), unless the points
           -- since say the kind fails again: 2 or more failures whose rate's lower bound
           -- (`wilson`, as in `broken`) reaches degraded_error_rate before min_requests requests,
           -- now or at an earlier instant (`restart_undone`). The restart only forgets an
           -- outage's failures: an undone one judges the status window without the outage's run,
           -- where a kind failing at random, whose run was taken for an outage, still shows its
           -- rate before the run and since the close, and a kind that recovered shows the few
           -- failures since the close among the successes of its history.
           prev_rules_from > {window_from:DateTime64(3, 'UTC')} AS restarted,
           arrayFilter(o -> o.stored > p.rules_from AND o.outcome != 'probe_rejected', x.outcomes) AS since_restart,
           arraySum(o -> o.n, since_restart) AS restart_n,
           arraySum(o -> if(o.failed, o.n, 0), since_restart) AS restart_e,
           if(restarted AND restart_e > 1 AND restart_n < min_requests,
              wilson(restart_e, restart_n, -1.2816), NULL) AS restart_error_rate_lower,
           restarted AND (p.restart_undone OR ifNull(restart_error_rate_lower >= degraded_error_rate, false)) AS undone,
           multiIf(undone,
                       printf('%s without the outage from %d s to %d s ago', {rules_text:String},
                              dateDiff('second', prev_outage_from, {at:DateTime64(3, 'UTC')}),
                              dateDiff('second', prev_rules_from, {at:DateTime64(3, 'UTC')})),
                   restarted,
                       printf('since the breaker closed %d s ago', dateDiff('second', prev_rules_from, {at:DateTime64(3, 'UTC')})),
                   {rules_text:String}) AS rules_text,
           arrayFilter(o -> o.stored > p.evaluated_at, x.outcomes) AS fresh,
           arraySum(o -> o.n, fresh) AS fresh_n,
           arraySum(o -> if(o.failed, o.n, 0), fresh) AS failed_now,
           -- in time order, a failure after a success exported with it; rejected probes skipped
           arraySort(o -> (o.time, o.failed), arrayFilter(o -> o.outcome != 'probe_rejected', fresh)) AS ticks,
           -- the run of failures: its length and the insert time of its first point
           arrayFold((r, o) -> if(o.failed AND o.n > 0, (r.1 + o.n, if(r.1 = 0, o.stored, r.2)),
                                  if(o.n > 0 AND NOT o.failed, (toFloat64(0), toDateTime64(0, 3, 'UTC')), r)),
                     ticks, (toFloat64(p.consecutive_failures), p.run_from)) AS run,
           toUInt32(run.1) AS failures,
           run.2 AS run_from,
           toUInt32(arrayFold((s, o) -> if(o.failed, if(o.n > 0, 0, s), s + o.n), ticks,
                              toFloat64(p.consecutive_successes))) AS successes,
           if(failed_now > 0, arrayLast(o -> o.failed AND o.n > 0, ticks).outcome, p.last_failure) AS last_failure,
           if(fresh_n > 0, arrayMax(o -> o.stored, fresh), p.last_probe_at) AS last_probe_at,
           if(fresh_n > 0, arraySort(o -> (o.time, o.failed), fresh)[-1].outcome, p.last_outcome) AS last_outcome,
           -- the status window's counts, or (rules restarted inside it) the points since, or
           -- (restart undone) the window's points but the outage's run
           restarted OR {long_status_window:Bool} AS rules_by_points,
           if(undone,
              arrayFilter(o -> o.outcome != 'probe_rejected'
                               AND NOT (o.stored >= prev_outage_from AND o.stored <= prev_rules_from), x.outcomes),
              since_restart) AS in_rules,
           if(rules_by_points, arraySum(o -> o.n, in_rules), w.requests) AS requests,
           if(rules_by_points, arraySum(o -> if(o.failed, o.n, 0), in_rules), w.errors) AS errors,
           if(rules_by_points,
              arrayReduce('sumMap', arrayMap(o -> map(o.outcome, toUInt64(o.n)), arrayFilter(o -> o.failed, in_rules))),
              w.errors_by_type) AS errors_by_type,
           w.requests AS window_requests, w.errors AS window_errors,
           w.latency_p50_s AS latency_p50_s, w.latency_p90_s AS latency_p90_s,
           w.latency_p99_s AS latency_p99_s, w.ttft_p50_s AS ttft_p50_s,
           w.ttft_p90_s AS ttft_p90_s, w.ttft_p99_s AS ttft_p99_s
    FROM pairs AS k
    INNER JOIN configured AS c ON c.target = k.target
    LEFT JOIN (
        SELECT target, kind AS probe_kind,
               groupArray(CAST((inserted_at, time, outcome NOT IN ('ok', 'probe_rejected'), value, toString(outcome)),
                               'Tuple(stored DateTime64(3, \'UTC\'), time DateTime64(3, \'UTC\'), failed Bool, n Float64, outcome String)')) AS outcomes
        FROM health_points
        WHERE inserted_at > {window_from:DateTime64(3, 'UTC')} AND inserted_at <= {at:DateTime64(3, 'UTC')}
          AND signal = 'outcome' AND source = 'probe' AND temporality = 1
          AND target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
          AND (inserted_at > {fresh_from:DateTime64(3, 'UTC')} OR {long_status_window:Bool}
               OR (target, kind) IN (SELECT target, probe_kind FROM health_kinds
                                     WHERE evaluated_at >= {lookback_from:DateTime64(3, 'UTC')}
                                       AND evaluated_at < {at:DateTime64(3, 'UTC')}
                                       AND rules_from > {window_from:DateTime64(3, 'UTC')}))
        GROUP BY target, kind
    ) AS x ON x.target = k.target AND x.probe_kind = k.probe_kind
    LEFT JOIN previous AS p ON p.target = k.target AND p.probe_kind = k.probe_kind
    LEFT JOIN windows AS w ON w.target = k.target AND w.probe_kind = k.probe_kind
    SETTINGS join_use_nulls = 0
),
-- Few steps on purpose: planning costs each nested SELECT in proportion to the columns it
-- carries, and each join.
broken AS (
    SELECT * EXCEPT (fresh, fresh_n, ticks, run, rules_by_points, in_rules, since_restart, restart_n,
                     restart_e, restarted),
           if(requests > 0, errors / requests, 0) AS error_rate,
           if(requests > 0, greatest(0, wilson(errors, requests, -1.2816)), 0) AS error_rate_lower,
           if(requests > 0, least(1, wilson(errors, requests, 1.2816)), 1) AS error_rate_upper,
           -- the outage baseline (above)
           probe_kind NOT IN ('models', 'context') AS answers,
           toInt64(sumIf(failures, answers) OVER by_target) AS answer_runs,
           -- another answering kind of the target was in an outage at the previous instant,
           -- one that began after a history of its own (as `restarts` asks)
           max(toUInt8(answers AND prev_outage AND prev_breaker != 'closed'
                       AND prev_outage_baseline >= {breaker_min_requests:UInt32})) OVER by_target = 1 AS answers_down,
           greatest(0, if(answers, toInt64(sumIf(window_requests, answers) OVER by_target) - answer_runs,
                          toInt64(window_requests) - failures)) AS base_n,
           greatest(0, if(answers, toInt64(sumIf(window_errors, answers) OVER by_target) - answer_runs,
                          toInt64(window_errors) - failures)) AS base_e,
           -- a run of failures that the baseline's error rate (with one failure and one success
           -- added, so a short clean baseline is not taken as certainty) explains with a chance
           -- of 1 in 1,000,000 or more is not an outage; after a baseline without failures, any
           -- run that opens the breaker is
           toUInt32(if(base_e = 0, {failures:UInt32},
                       greatest({failures:UInt32}, ceil(log(0.000001) / log((base_e + 1) / (base_n + 2)))))) AS outage_run,
           dateDiff('millisecond', prev_breaker_since, {at:DateTime64(3, 'UTC')}) >= 1000 * {cooldown_s:Float64} AS cooled,
           multiIf(prev_breaker = 'closed' AND failures >= {failures:UInt32},
                       ('open', printf('%d consecutive failures (last: %s)', failures, last_failure)),
                   prev_breaker = 'closed' AND requests >= {breaker_min_requests:UInt32}
                       AND error_rate >= {breaker_error_rate:Float64},
                       ('open', printf('error rate %.1f%% >= %.1f%% %s (%d of %d failed)', 100 * error_rate,
                                       100 * {breaker_error_rate:Float64}, rules_text,
                                       toUInt64(errors), toUInt64(requests))),
                   prev_breaker = 'open' AND cooled AND successes >= {successes:UInt32},
                       ('closed', printf('cooldown of %g s over and %d consecutive successes', {cooldown_s:Float64},
                                         successes)),
                   prev_breaker = 'open' AND cooled,
                       ('half_open', printf('cooldown of %g s over; %s', {cooldown_s:Float64}, prev_breaker_reason)),
                   prev_breaker = 'half_open' AND failed_now > 0,
                       ('open', printf('probe failed while half-open (%s)', last_failure)),
                   prev_breaker = 'half_open' AND successes >= {successes:UInt32},
                       ('closed', printf('%d consecutive successes', successes)),
                   (prev_breaker, prev_breaker_reason)) AS breaker_step
    FROM stepped
    WINDOW by_target AS (PARTITION BY target)
),
judged AS (
    SELECT * EXCEPT (breaker_step, cooled),
           breaker_step.1 AS breaker,
           breaker_step.2 AS breaker_reason,
           has_previous AND breaker != prev_breaker AS breaker_changed,
           breaker != 'closed' AND ((prev_outage AND prev_breaker != 'closed') OR failures >= outage_run
                                    OR (answers AND answers_down AND failures >= {failures:UInt32})) AS outage,
           -- the kind's own requests before the outage: only a kind with a history of its own
           -- forgets an outage's failures when its breaker closes (`restarts`)
           toUInt32(if(NOT outage, 0, if(prev_outage AND prev_breaker != 'closed', prev_outage_baseline,
                                         greatest(0, toInt64(window_requests) - failures)))) AS outage_baseline,
           -- where the latest outage's run began, kept after it ends (an undone restart leaves it out)
           if(outage AND NOT (prev_outage AND prev_breaker != 'closed'), run_from, prev_outage_from) AS outage_from,
           -- closing after an outage of a kind with a history of its own: its rule window starts again
           breaker_changed AND breaker = 'closed' AND prev_outage
               AND prev_outage_baseline >= {breaker_min_requests:UInt32} AS restarts,
           dateDiff('millisecond', last_probe_at, {at:DateTime64(3, 'UTC')}) / 1000 AS age,
           {stale_intervals:Float64} * if(breaker = 'closed', probe_interval,
                                          greatest(probe_interval, {backoff_max_s:Float64})) AS stale_after,
           errors_by_type['http_429'] * 2 > errors AS mostly_429,
           printf('error rate %.1f%% (%.1f%% to %.1f%% at 80%% confidence) %s (%d of %d failed: %s)',
                  100 * error_rate, 100 * error_rate_lower, 100 * error_rate_upper, rules_text,
                  toUInt64(errors), toUInt64(requests),
                  arrayStringConcat(arrayMap((t, c) -> concat(t, ' x', toString(c)),
                                             mapKeys(errors_by_type), mapValues(errors_by_type)), ', ')) AS error_text,
           multiIf(last_probe_at IS NULL, ('unknown', 'no probe result yet'),
                   age > stale_after,
                       ('unknown', printf('no probe result for %.0f s (more than %g x %g s)', age,
                                          {stale_intervals:Float64}, stale_after / {stale_intervals:Float64})),
                   last_outcome = 'probe_rejected',
                       ('unknown', 'the provider refused the probe request itself (probe_rejected): the prober log says which setting to change'),
                   breaker != 'closed' AND last_failure = 'http_429',
                       ('rate_limited', printf('circuit breaker %s: %s', breaker, breaker_reason)),
                   outage,
                       ('unhealthy', printf('circuit breaker %s: %s', breaker, breaker_reason)),
                   restarts,
                       ('healthy', printf('circuit breaker closed: %s', breaker_reason)),
                   requests >= {breaker_min_requests:UInt32} AND error_rate >= unhealthy_error_rate,
                       (if(mostly_429, 'rate_limited', 'unhealthy'),
                        concat(printf('%.1f%% >= %.1f%%: ', 100 * error_rate, 100 * unhealthy_error_rate), error_text)),
                   prev_verdict = 'unhealthy' AND requests > 0
                       AND error_rate >= {unhealthy_hold:Float64} * unhealthy_error_rate,
                       ('unhealthy', concat(printf('still unhealthy: %.1f%% >= %.1f%%: ', 100 * error_rate,
                                                   100 * {unhealthy_hold:Float64} * unhealthy_error_rate),
                                            error_text)),
                   prev_verdict IN ('degraded', 'unhealthy') AND requests > 0
                       AND error_rate >= {degraded_hold:Float64} * degraded_error_rate,
                       ('degraded', concat(printf('still degraded: %.1f%% >= %.1f%%: ', 100 * error_rate,
                                                  100 * {degraded_hold:Float64} * degraded_error_rate), error_text)),
                   breaker != 'closed',
                       ('degraded', concat(printf('circuit breaker %s: %s, not an outage (the answers\' error rate explains such runs): ',
                                                  breaker, breaker_reason), error_text)),
                   errors > 0 AND requests < min_requests
                       AND (prev_verdict IN ('', 'unknown')
                            OR (prev_verdict = 'healthy' AND errors > 1
                                AND error_rate_lower >= {unhealthy_hold:Float64} * unhealthy_error_rate)),
                       ('unknown', printf('%d of %d requests failed %s: a verdict needs %d requests',
                                          toUInt64(errors), toUInt64(requests), rules_text, min_requests)),
                   requests >= min_requests AND error_rate_lower >= degraded_error_rate,
                       (if(mostly_429, 'rate_limited', 'degraded'),
                        concat(printf('at least %.1f%% >= %.1f%%: ', 100 * error_rate_lower, 100 * degraded_error_rate),
                               error_text)),
                   probe_kind NOT IN ('stream', 'context') AND latency_p99_s > latency_p99_max,
                       ('degraded', printf('latency p99 %.2f s > %.2f s over %s', latency_p99_s, latency_p99_max,
                                           {window_text:String})),
                   ttft_p99_s > ttft_p99_max,
                       ('degraded', printf('TTFT p99 %.2f s > %.2f s over %s', ttft_p99_s, ttft_p99_max,
                                           {window_text:String})),
                   ('healthy', concat(printf('error rate %.1f%% %s (%d probes)', 100 * error_rate, rules_text,
                                             toUInt64(requests)),
                                      if(latency_p99_s IS NULL, '', printf(', latency p99 %.2f s', latency_p99_s)),
                                      if(ttft_p99_s IS NULL, '', printf(', TTFT p99 %.2f s', ttft_p99_s))))) AS judgement
    FROM broken
)
SELECT target,
       {at:DateTime64(3, 'UTC')} AS evaluated_at,
       probe_kind,
       judgement.1 AS verdict,
       judgement.2 AS reason,
       breaker,
       if(breaker_changed OR NOT has_previous, {at:DateTime64(3, 'UTC')}, prev_breaker_since) AS breaker_since,
       breaker_reason,
       if(has_previous, prev_breaker, '') AS previous_breaker,
       outage,
       outage_baseline,
       if(restarts, {at:DateTime64(3, 'UTC')}, prev_rules_from) AS rules_from,
       failures AS consecutive_failures,
       successes AS consecutive_successes,
       run_from,
       outage_from,
       undone AND NOT restarts AS restart_undone,
       last_failure,
       last_probe_at,
       last_outcome,
       toUInt64(requests) AS requests,
       toUInt64(errors) AS errors,
       error_rate,
       error_rate_lower,
       error_rate_upper,
       errors_by_type,
       latency_p50_s, latency_p90_s, latency_p99_s, ttft_p50_s, ttft_p90_s, ttft_p99_s,
       [('consecutive_failures', toFloat64(failures), toFloat64(outage_run), failures >= outage_run AND breaker != 'closed'),
        ('stale_s', age, stale_after, ifNull(age > stale_after, false)),
        ('error_rate', error_rate, unhealthy_error_rate,
         requests >= {breaker_min_requests:UInt32} AND error_rate >= unhealthy_error_rate),
        ('error_rate_held_unhealthy', error_rate, {unhealthy_hold:Float64} * unhealthy_error_rate,
         prev_verdict = 'unhealthy' AND requests > 0 AND error_rate >= {unhealthy_hold:Float64} * unhealthy_error_rate),
        ('breaker_not_closed', NULL, NULL, breaker != 'closed'),
        ('requests', toFloat64(requests), toFloat64(min_requests), requests >= min_requests),
        ('error_rate_lower', error_rate_lower, degraded_error_rate,
         requests >= min_requests AND error_rate_lower >= degraded_error_rate),
        ('error_rate_held_degraded', error_rate, {degraded_hold:Float64} * degraded_error_rate,
         prev_verdict IN ('degraded', 'unhealthy') AND requests > 0
         AND error_rate >= {degraded_hold:Float64} * degraded_error_rate),
        ('latency_p99_s', latency_p99_s, latency_p99_max,
         ifNull(probe_kind NOT IN ('stream', 'context') AND latency_p99_s > latency_p99_max, false)),
        ('ttft_p99_s', ttft_p99_s, ttft_p99_max, ifNull(ttft_p99_s > ttft_p99_max, false)),
        ('restart_undone', restart_error_rate_lower, degraded_error_rate, undone)]
           ::Array(Tuple(name LowCardinality(String), value Nullable(Float64), limit Nullable(Float64), held Bool)) AS rules,
       {version:UInt64} AS targets_version
FROM judged
-- Settings: see evaluate_snapshots.sql.
SETTINGS join_use_nulls = 0, optimize_and_compare_chain = 0, query_plan_merge_expressions = 0
