-- One health_snapshots row per evaluated target at instant {at}: the worst of its probe kinds'
-- verdicts (health_kinds, written just before by evaluate_kinds.sql), the target's own rules,
-- hysteresis, and a reason that names the kind that decided and the state of the others, e.g.
-- `completion: circuit breaker open: 3 consecutive failures (last: http_5xx); stream: unhealthy;
-- models: healthy`. State carried from the target's latest snapshot since {lookback_from}.
--
-- Kinds by severity: unhealthy > rate_limited > degraded > unknown > healthy; a kind with no
--   probe result yet is unknown, so a target is healthy only once every kind has answered
--   (a cheap `models` listing alone never makes a new target healthy).
-- Candidate status, first rule that holds:
--   unknown      no kind has a probe result yet
--   rate_limited a provider reports 0 remaining requests or tokens (llmhealth.ratelimit.remaining)
--   degraded     the forecast (health_ratelimits, evaluate_ratelimits.sql) has a resource run out
--                at the current rate before its reset, within thresholds.ratelimit_exhaustion,
--                and nothing below is worse; one that runs out later is named in the reason
--   the worst of: the worst kind's verdict; the answers of all kinds but `models` and `context`
--   together (when two or more have requests: a model failing at random fails its completions
--   and streams alike, and together they reach a verdict twice as fast; a lost context is a
--   question of its own), by the kinds' rules over
--   the kinds' rule windows: unhealthy when n >= {breaker_min_requests} and r >=
--   unhealthy_error_rate or it was unhealthy and r >= {unhealthy_hold} x unhealthy_error_rate,
--   degraded when n >= min_requests and the 90 % lower bound >= degraded_error_rate or it was
--   degraded or worse and r >= {degraded_hold} x degraded_error_rate (rate_limited when 429s
--   are most errors); and the applications' requests (passive traffic, the `passive` rows of
--   this instant's windows: matched to the target by aggregator/passive_match.py, over the
--   longest of the windows that fits since a kind's breaker closed after an outage), from
--   thresholds.min_requests requests on: unhealthy when their error rate >=
--   unhealthy_error_rate (as the kinds' rule: a rate at the threshold is unhealthy, not left to
--   chance) or it was unhealthy and their rate >= {unhealthy_hold} x unhealthy_error_rate,
--   degraded when the 95 % lower bound of their rate >= degraded_error_rate or it was degraded or
--   worse and their rate >= {degraded_hold} x degraded_error_rate; rate_limited instead when
--   429s are most of their errors
-- A passive-only target (no probe kinds: `probes: []`) is judged on the applications' requests
-- alone: unknown without any in the status window, or with failures among fewer than
-- min_requests before it has a verdict; else by the rules above, healthy when none holds.
-- The snapshot carries the applications' request counts of the window they were judged over
-- and their latency quantiles over the status window (the `passive` window row's).
-- Hysteresis: the status becomes the candidate once the candidate held for {hysteresis}
-- consecutive evaluations; at once when a kind's breaker changed state, when the candidate is
-- unknown, or when leaving unknown.
INSERT INTO health_snapshots (target, evaluated_at, kind, status, reason, status_since, previous_status,
                              candidate, candidate_count, breaker, breaker_since, breaker_reason,
                              previous_breaker, rules_from, consecutive_failures, consecutive_successes,
                              last_failure, last_probe_at, window_seconds, requests, errors, error_rate,
                              error_rate_lower, errors_by_type, passive_requests, passive_errors,
                              latency_p50_s, latency_p90_s, latency_p99_s, ttft_p50_s, ttft_p90_s,
                              ttft_p99_s, tokens_per_second_p50, stream_completion_rate,
                              ratelimit_remaining_min, pool, deciding_kind, kinds, rules, targets_version,
                              ratelimit_exhausted_in_s, ratelimit_exhausted_resource, ratelimit_reset_in_s,
                              context_preservation_rate, passive_latency_p50_s, passive_latency_p90_s,
                              passive_latency_p99_s)
WITH
-- Wilson score bound of e errors in n requests, one-sided 90 % (z = -1.2816 the lower), as
-- evaluate_kinds.sql binds it for the kinds' rules
(e, n, z) -> (e + 0.8213 + z * sqrt(e * (n - e) / n + 0.4106)) / (n + 1.6425) AS wilson,
configured AS (
    SELECT target, degraded_error_rate, unhealthy_error_rate, min_requests, pool, ratelimit_exhaustion,
           empty(probe_kinds) AS passive_only
    FROM health_targets
    WHERE version = {version:UInt64}
    LIMIT 1 BY target
),
-- per target: its kinds' rows of this instant, worst first
kinds AS (
    SELECT target,
           arraySort(k -> (-k.severity, k.probe_kind), groupArray(CAST(
               (multiIf(verdict = 'unhealthy', 5, verdict = 'rate_limited', 4, verdict = 'degraded', 3,
                        verdict = 'unknown', 2, 1),
                probe_kind, verdict, reason, breaker, breaker_since, breaker_reason, previous_breaker,
                rules_from, consecutive_failures, consecutive_successes, last_failure, requests, errors,
                error_rate, error_rate_lower, errors_by_type),
               'Tuple(severity UInt8, probe_kind String, verdict String, reason String, breaker String,
                      breaker_since DateTime64(3, \'UTC\'), breaker_reason String, previous_breaker String,
                      rules_from DateTime64(3, \'UTC\'), consecutive_failures UInt32,
                      consecutive_successes UInt32, last_failure String, requests UInt64, errors UInt64,
                      error_rate Float64, error_rate_lower Float64, errors_by_type Map(String, UInt64))'))) AS ranked,
           max(previous_breaker != '' AND breaker != previous_breaker) AS breaker_changed,
           max(last_probe_at) AS latest_probe_at,
           countIf(last_probe_at IS NOT NULL) AS kinds_with_results,
           max(rules_from) AS rules_from_max,
           -- the answers of all kinds but `models` and `context`, over each kind's rule window (none of a kind
           -- whose window restarts at this instant: its row still counts the outage before)
           countIf(probe_kind NOT IN ('models', 'context') AND requests > 0 AND rules_from < {at:DateTime64(3, 'UTC')}) AS answer_kinds,
           arrayStringConcat(arraySort(groupArrayIf(probe_kind, probe_kind NOT IN ('models', 'context') AND requests > 0
                                                    AND rules_from < {at:DateTime64(3, 'UTC')})), '+') AS answers_name,
           sumIf(requests, probe_kind NOT IN ('models', 'context') AND rules_from < {at:DateTime64(3, 'UTC')}) AS answer_requests,
           sumIf(errors, probe_kind NOT IN ('models', 'context') AND rules_from < {at:DateTime64(3, 'UTC')}) AS answer_errors,
           sumMapIf(errors_by_type, probe_kind NOT IN ('models', 'context') AND rules_from < {at:DateTime64(3, 'UTC')}) AS answer_errors_by_type,
           -- the most severe breaker of any kind
           arraySort(b -> -indexOf(['closed', 'half_open', 'open'], b.1),
                     groupArray((breaker, probe_kind)))[1] AS worst_breaker
    FROM (SELECT * FROM health_kinds
          WHERE evaluated_at = {at:DateTime64(3, 'UTC')} AND targets_version = {version:UInt64}
          LIMIT 1 BY target, probe_kind)
    GROUP BY target
),
previous AS (
    SELECT target, status, status_since, candidate, candidate_count
    FROM health_snapshots
    WHERE evaluated_at >= {lookback_from:DateTime64(3, 'UTC')} AND evaluated_at < {at:DateTime64(3, 'UTC')}
      AND kind = 'target'
    ORDER BY target, evaluated_at DESC
    LIMIT 1 BY target
),
-- this instant's windows over all kinds (evaluate_windows.sql): the status window's numbers,
-- and the applications' requests per window, longest first
summary AS (
    SELECT target,
           arraySort(e -> -e.1, groupArrayIf((window_seconds, passive_requests, passive_errors,
                                              errors_by_type['http_429']), probe_kind = 'passive')) AS passive_by_window,
           anyIf(latency_p50_s, window_seconds = {window_s:UInt32} AND probe_kind = '') AS latency_p50_s,
           anyIf(latency_p90_s, window_seconds = {window_s:UInt32} AND probe_kind = '') AS latency_p90_s,
           anyIf(latency_p99_s, window_seconds = {window_s:UInt32} AND probe_kind = '') AS latency_p99_s,
           anyIf(ttft_p50_s, window_seconds = {window_s:UInt32} AND probe_kind = '') AS ttft_p50_s,
           anyIf(ttft_p90_s, window_seconds = {window_s:UInt32} AND probe_kind = '') AS ttft_p90_s,
           anyIf(ttft_p99_s, window_seconds = {window_s:UInt32} AND probe_kind = '') AS ttft_p99_s,
           anyIf(tokens_per_second_p50, window_seconds = {window_s:UInt32} AND probe_kind = '') AS tokens_per_second_p50,
           anyIf(stream_completion_rate, window_seconds = {window_s:UInt32} AND probe_kind = '') AS stream_completion_rate,
           anyIf(context_preservation_rate, window_seconds = {window_s:UInt32} AND probe_kind = '') AS context_preservation_rate,
           anyIf(app_latency_p50_s, window_seconds = {window_s:UInt32} AND probe_kind = 'passive') AS passive_latency_p50_s,
           anyIf(app_latency_p90_s, window_seconds = {window_s:UInt32} AND probe_kind = 'passive') AS passive_latency_p90_s,
           anyIf(app_latency_p99_s, window_seconds = {window_s:UInt32} AND probe_kind = 'passive') AS passive_latency_p99_s
    -- (the applications' quantiles under names of their own: the ones above are aliases)
    FROM (SELECT *, latency_p50_s AS app_latency_p50_s, latency_p90_s AS app_latency_p90_s,
                 latency_p99_s AS app_latency_p99_s
          FROM health_windows
          WHERE evaluated_at = {at:DateTime64(3, 'UTC')} AND window_seconds <= {window_s:UInt32}
            AND probe_kind IN ('', 'passive')
          LIMIT 1 BY target, window_seconds, probe_kind)
    GROUP BY target
),
remaining AS (
    SELECT target, maxMap(map(outcome, (time, value))) AS by_resource
    FROM health_points
    WHERE inserted_at > {window_from:DateTime64(3, 'UTC')} AND inserted_at <= {at:DateTime64(3, 'UTC')}
      AND signal = 'ratelimit_remaining'
      AND target IN (SELECT target FROM health_targets WHERE version = {version:UInt64})
    GROUP BY target
),
-- the forecast's soonest run-out before a reset (resource, seconds, reset's seconds), if any
forecast AS (
    SELECT target,
           arraySort(e -> e.2, groupArrayIf((resource, exhausted_in_s, reset_in_s), runs_out))[1] AS soonest,
           max(warns) AS warns
    FROM (SELECT * FROM health_ratelimits WHERE evaluated_at = {at:DateTime64(3, 'UTC')}
          LIMIT 1 BY target, resource)
    GROUP BY target
),
joined AS (
    SELECT c.target AS target, c.degraded_error_rate AS degraded_error_rate,
           c.unhealthy_error_rate AS unhealthy_error_rate, c.min_requests AS min_requests, c.pool AS pool,
           c.passive_only AS passive_only,
           c.ratelimit_exhaustion AS exhaustion_limit,
           f.soonest.1 AS exhausted_resource, f.soonest.2 AS exhausted_in_s, f.soonest.3 AS reset_in_s,
           if(f.warns, 3, 0) AS forecast_severity,
           k.ranked AS ranked, k.ranked[1] AS worst, k.breaker_changed AS breaker_changed,
           k.latest_probe_at AS last_probe_at, k.worst_breaker AS worst_breaker,
           k.kinds_with_results AS kinds_with_results,
           k.answer_kinds AS answer_kinds, k.answers_name AS answers_name,
           k.answer_requests AS answer_requests, k.answer_errors AS answer_errors,
           k.answer_errors_by_type AS answer_errors_by_type,
           p.target != '' AS has_previous, if(has_previous, p.status, '') AS prev_status,
           p.status_since AS prev_status_since, p.candidate AS prev_candidate,
           p.candidate_count AS prev_candidate_count,
           -- applications' requests over the longest window that fits in the time since a kind's
           -- breaker last closed after an outage (none in the first minute after): an outage's
           -- failed requests do not hold a recovered target down
           arrayFirst(e -> e.1 <= dateDiff('second', greatest(k.rules_from_max, {window_from:DateTime64(3, 'UTC')}),
                                           {at:DateTime64(3, 'UTC')}), w.passive_by_window) AS passive,
           passive.2 AS passive_requests, passive.3 AS passive_errors, passive.4 AS passive_429,
           w.latency_p50_s AS latency_p50_s, w.latency_p90_s AS latency_p90_s, w.latency_p99_s AS latency_p99_s,
           w.ttft_p50_s AS ttft_p50_s, w.ttft_p90_s AS ttft_p90_s, w.ttft_p99_s AS ttft_p99_s,
           w.tokens_per_second_p50 AS tokens_per_second_p50, w.stream_completion_rate AS stream_completion_rate,
           w.context_preservation_rate AS context_preservation_rate,
           w.passive_latency_p50_s AS passive_latency_p50_s, w.passive_latency_p90_s AS passive_latency_p90_s,
           w.passive_latency_p99_s AS passive_latency_p99_s,
           mapValues(r.by_resource).2 AS remaining_values,
           if(empty(remaining_values), NULL, arrayMin(remaining_values)) AS ratelimit_remaining_min,
           mapKeys(r.by_resource)[indexOf(remaining_values, arrayMin(remaining_values))] AS ratelimit_resource,
           -- applications' requests: the 95 % Wilson lower bound of their error rate
           if(passive_requests > 0,
              greatest(0, (passive_errors + 1.9208 - 1.96 * sqrt(passive_errors * (passive_requests - passive_errors)
                                                                  / passive_requests + 0.9604))
                          / (passive_requests + 3.8416)), 0) AS passive_lower
    FROM configured AS c
    -- a passive-only target has no kinds
    LEFT JOIN kinds AS k ON k.target = c.target
    LEFT JOIN previous AS p ON p.target = c.target
    LEFT JOIN summary AS w ON w.target = c.target
    LEFT JOIN remaining AS r ON r.target = c.target
    LEFT JOIN forecast AS f ON f.target = c.target
    SETTINGS join_use_nulls = 0
),
judged AS (
    SELECT *,
           if(answer_requests > 0, answer_errors / answer_requests, 0) AS answer_rate,
           if(answer_requests > 0, greatest(0, wilson(answer_errors, answer_requests, -1.2816)), 0) AS answer_lower,
           answer_errors_by_type['http_429'] * 2 > answer_errors AS answers_mostly_429,
           multiIf(answer_kinds < 2, 0,
                   answer_requests >= {breaker_min_requests:UInt32} AND answer_rate >= unhealthy_error_rate, 5,
                   prev_status = 'unhealthy' AND answer_rate >= {unhealthy_hold:Float64} * unhealthy_error_rate, 5,
                   answer_requests >= min_requests AND answer_lower >= degraded_error_rate, 3,
                   prev_status IN ('degraded', 'unhealthy')
                       AND answer_rate >= {degraded_hold:Float64} * degraded_error_rate, 3, 0) AS answer_severity,
           printf('%s together: %serror rate %.1f%% (at least %.1f%% at 90%% confidence) over the rule windows (%d of %d failed)',
                  answers_name,
                  multiIf(answer_severity = 5 AND answer_rate >= unhealthy_error_rate,
                              printf('%.1f%% >= %.1f%%: ', 100 * answer_rate, 100 * unhealthy_error_rate),
                          answer_severity = 5,
                              printf('still unhealthy: %.1f%% >= %.1f%%: ', 100 * answer_rate,
                                     100 * {unhealthy_hold:Float64} * unhealthy_error_rate),
                          answer_lower >= degraded_error_rate,
                              printf('at least %.1f%% >= %.1f%%: ', 100 * answer_lower, 100 * degraded_error_rate),
                          printf('still degraded: %.1f%% >= %.1f%%: ', 100 * answer_rate,
                                 100 * {degraded_hold:Float64} * degraded_error_rate)),
                  100 * answer_rate, 100 * answer_lower, toUInt64(answer_errors), toUInt64(answer_requests)) AS answers_text,
           if(passive_requests > 0, passive_errors / passive_requests, 0) AS passive_rate,
           multiIf(passive_requests < min_requests, 0,
                   passive_rate >= unhealthy_error_rate, 5,
                   prev_status IN ('unhealthy', 'rate_limited')
                       AND passive_rate >= {unhealthy_hold:Float64} * unhealthy_error_rate, 5,
                   passive_lower >= degraded_error_rate, 3,
                   prev_status IN ('degraded', 'unhealthy', 'rate_limited')
                       AND passive_rate >= {degraded_hold:Float64} * degraded_error_rate, 3, 0) AS passive_level,
           -- 429s are most of the applications' errors: rate limited, as the probes' 429s
           if(passive_level > 0 AND passive_429 * 2 > passive_errors, 4, passive_level) AS passive_severity,
           multiIf(passive.1 % 3600 = 0, concat(toString(intDiv(passive.1, 3600)), 'h'),
                   passive.1 % 60 = 0, concat(toString(intDiv(passive.1, 60)), 'm'),
                   concat(toString(passive.1), 's')) AS passive_window,
           printf('app requests: %serror rate %.1f%% (at least %.1f%% at 95%% confidence) over %s (%d of %d failed%s)',
                  multiIf(passive_level = 5 AND passive_rate < unhealthy_error_rate,
                              printf('still unhealthy: %.1f%% >= %.1f%%: ', 100 * passive_rate,
                                     100 * {unhealthy_hold:Float64} * unhealthy_error_rate),
                          passive_level = 3 AND passive_lower < degraded_error_rate,
                              printf('still degraded: %.1f%% >= %.1f%%: ', 100 * passive_rate,
                                     100 * {degraded_hold:Float64} * degraded_error_rate), ''),
                  100 * passive_rate, 100 * passive_lower, passive_window,
                  toUInt64(passive_errors), toUInt64(passive_requests),
                  if(passive_429 > 0, printf(', %d rate limited', toUInt64(passive_429)), '')) AS passive_text,
           arrayStringConcat(arrayMap(k -> concat(k.probe_kind, ': ',
                                                  if(k.reason = 'no probe result yet', 'no result yet', k.verdict)),
                                      ranked), '; ') AS kinds_text,
           arrayStringConcat(arrayMap(k -> concat(k.probe_kind, ': ',
                                                  if(k.reason = 'no probe result yet', 'no result yet', k.verdict)),
                                      arraySlice(ranked, 2)), '; ') AS others,
           -- `tokens run out in ~40 s at the current rate; reset in 55 s`
           if(exhausted_in_s IS NULL, '',
              printf('%s run out in ~%s at the current rate; %s', exhausted_resource,
                     multiIf(exhausted_in_s < 120, printf('%.0f s', exhausted_in_s),
                             exhausted_in_s < 7200, printf('%.0f min', exhausted_in_s / 60),
                             printf('%.1f h', exhausted_in_s / 3600)),
                     multiIf(reset_in_s IS NULL, 'the provider reports no reset',
                             reset_in_s < 120, printf('reset in %.0f s', reset_in_s),
                             reset_in_s < 7200, printf('reset in %.0f min', reset_in_s / 60),
                             printf('reset in %.1f h', reset_in_s / 3600)))) AS forecast_text,
           multiIf(passive_only,
                       multiIf(passive_requests = 0,
                                   ('unknown', printf('no application requests over %s (a passive-only target is judged on them alone)',
                                                      {window_text:String}), 'passive'),
                               passive_severity > 0,
                                   (multiIf(passive_severity = 5, 'unhealthy', passive_severity = 4, 'rate_limited', 'degraded'),
                                    passive_text, 'passive'),
                               passive_errors > 0 AND passive_requests < min_requests AND prev_status IN ('', 'unknown'),
                                   ('unknown', printf('%d of %d app requests failed over %s: a verdict needs %d requests',
                                                      toUInt64(passive_errors), toUInt64(passive_requests), passive_window,
                                                      min_requests), 'passive'),
                               ('healthy', printf('app requests: error rate %.1f%% over %s (%d requests)', 100 * passive_rate,
                                                  passive_window, toUInt64(passive_requests)), 'passive')),
                   kinds_with_results = 0, ('unknown', 'no probe result yet', ''),
                   ratelimit_remaining_min = 0,
                       ('rate_limited', printf('the provider reports 0 %s remaining', ratelimit_resource), ''),
                   forecast_severity > greatest(worst.severity, answer_severity, passive_severity),
                       ('degraded', concat(forecast_text, '; ', arrayStringConcat(
                            arrayMap(k -> concat(k.probe_kind, ': ',
                                                 if(k.reason = 'no probe result yet', 'no result yet', k.verdict)),
                                     ranked), '; ')),
                        'ratelimit'),
                   passive_severity > greatest(worst.severity, answer_severity),
                       (multiIf(passive_severity = 5, 'unhealthy', passive_severity = 4, 'rate_limited', 'degraded'),
                        concat(passive_text, '; ', kinds_text), 'passive'),
                   answer_severity > worst.severity,
                       (multiIf(answers_mostly_429, 'rate_limited', answer_severity = 5, 'unhealthy', 'degraded'),
                        concat(answers_text, '; ', arrayStringConcat(
                            arrayMap(k -> concat(k.probe_kind, ': ',
                                                 if(k.reason = 'no probe result yet', 'no result yet', k.verdict)),
                                     ranked), '; ')),
                        answers_name),
                   (worst.verdict, concat(worst.probe_kind, ': ', worst.reason, if(others = '', '', concat('; ', others)),
                                          if(passive_requests = 0, '',
                                             printf('; app requests: %d of %d failed over %s', toUInt64(passive_errors),
                                                    toUInt64(passive_requests), passive_window)),
                                          if(forecast_text = '', '', concat('; ', forecast_text))),
                    worst.probe_kind)) AS judgement
    FROM joined
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
       worst_breaker.1 AS breaker,
       arrayFirst(k -> k.probe_kind = worst_breaker.2, ranked).breaker_since AS breaker_since,
       if(passive_only, '',
          concat(worst_breaker.2, ': ', arrayFirst(k -> k.probe_kind = worst_breaker.2, ranked).breaker_reason)) AS breaker_reason,
       arrayFirst(k -> k.probe_kind = worst_breaker.2, ranked).previous_breaker AS previous_breaker,
       worst.rules_from AS rules_from,
       worst.consecutive_failures AS consecutive_failures,
       worst.consecutive_successes AS consecutive_successes,
       worst.last_failure AS last_failure,
       last_probe_at,
       {window_s:UInt32} AS window_seconds,
       worst.requests AS requests,
       worst.errors AS errors,
       worst.error_rate AS error_rate,
       worst.error_rate_lower AS error_rate_lower,
       worst.errors_by_type AS errors_by_type,
       toUInt64(passive_requests) AS passive_requests,
       toUInt64(passive_errors) AS passive_errors,
       latency_p50_s, latency_p90_s, latency_p99_s, ttft_p50_s, ttft_p90_s, ttft_p99_s,
       tokens_per_second_p50, stream_completion_rate, ratelimit_remaining_min, pool,
       judgement.3 AS deciding_kind,
       arrayMap(k -> (k.probe_kind, k.verdict, k.reason), ranked) AS kinds,
       [('ratelimit_remaining_min', ratelimit_remaining_min, 0, ifNull(ratelimit_remaining_min = 0, false)),
        ('passive_requests', toFloat64(passive_requests), toFloat64(min_requests), passive_requests >= min_requests),
        ('passive_error_rate_lower', passive_lower, degraded_error_rate, passive_severity > 0),
        ('answers_requests', toFloat64(answer_requests), toFloat64(min_requests), answer_requests >= min_requests),
        ('answers_error_rate', answer_rate, unhealthy_error_rate, answer_severity = 5),
        ('answers_error_rate_lower', answer_lower, degraded_error_rate, answer_severity > 0),
        ('ratelimit_exhausted_in_s', exhausted_in_s, exhaustion_limit, forecast_severity > 0)]
           ::Array(Tuple(name LowCardinality(String), value Nullable(Float64), limit Nullable(Float64), held Bool)) AS rules,
       {version:UInt64} AS targets_version,
       exhausted_in_s AS ratelimit_exhausted_in_s,
       exhausted_resource AS ratelimit_exhausted_resource,
       reset_in_s AS ratelimit_reset_in_s,
       context_preservation_rate,
       passive_latency_p50_s, passive_latency_p90_s, passive_latency_p99_s
FROM judged
-- Settings: optimize_and_compare_chain looks for comparisons implied by AND chains and hashes
-- every chain to do so; over these conditions it was half the analysis and found nothing to
-- add. Merging the plan's expression steps cost time and gains nothing measurable up to 10,000
-- targets (bench/statement_phases.py).
SETTINGS join_use_nulls = 0, optimize_and_compare_chain = 0, query_plan_merge_expressions = 0
