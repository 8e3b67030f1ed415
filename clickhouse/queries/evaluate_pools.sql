-- One health_snapshots row (kind `pool`) per pool at instant {at}, from its members' snapshots at
-- {at}: healthy when every member is healthy; degraded when some but not all are healthy (traffic
-- can be routed to the healthy ones); with no healthy member: degraded if any is degraded, unknown
-- if all are unknown, rate_limited if every member with data is rate limited, else unhealthy.
-- The reason names the members that are not healthy.
INSERT INTO health_snapshots (target, evaluated_at, kind, status, reason, status_since, previous_status,
                              candidate, candidate_count, requests, errors, error_rate, pool)
WITH
members AS (
    SELECT m.1 AS pool, m.2 AS member
    FROM (SELECT arrayJoin(arrayZip({pool_names:Array(String)}, {pool_members:Array(String)})) AS m)
),
member_status AS (
    SELECT m.pool AS pool, m.member AS member, s.status AS status, s.requests AS requests, s.errors AS errors
    FROM members AS m
    LEFT JOIN (
        SELECT target, status, requests, errors
        FROM health_snapshots
        WHERE evaluated_at = {at:DateTime64(3, 'UTC')} AND kind = 'target'
          AND has({pool_members:Array(String)}, target)
        LIMIT 1 BY target
    ) AS s ON s.target = m.member
    SETTINGS join_use_nulls = 0
),
pooled AS (
    SELECT pool, count() AS n, countIf(status = 'healthy') AS healthy,
           countIf(status = 'degraded') AS degraded, countIf(status IN ('unknown', '')) AS unknown,
           countIf(status = 'rate_limited') AS rate_limited,
           sum(requests) AS requests, sum(errors) AS errors,
           arrayStringConcat(arraySort(groupArrayIf(concat(member, ' ', if(status = '', 'unknown', status)),
                                                    status != 'healthy')), ', ') AS others
    FROM member_status
    GROUP BY pool
),
previous AS (
    SELECT target, argMax((status, status_since), evaluated_at) AS p
    FROM health_snapshots
    WHERE evaluated_at >= {at:DateTime64(3, 'UTC')} - toIntervalSecond({state_lookback_s:UInt32})
      AND evaluated_at < {at:DateTime64(3, 'UTC')} AND kind = 'pool'
      AND has({pool_names:Array(String)}, target)
    GROUP BY target
)
SELECT pool AS target,
       {at:DateTime64(3, 'UTC')} AS evaluated_at,
       'pool' AS kind,
       multiIf(healthy = n, 'healthy', healthy > 0 OR degraded > 0, 'degraded', unknown = n, 'unknown',
               rate_limited = n - unknown, 'rate_limited', 'unhealthy') AS status,
       if(healthy = n, printf('all %d members healthy', n),
          printf('%d of %d members healthy; %s', healthy, n, others)) AS reason,
       if(status != p.p.1 OR p.target = '', {at:DateTime64(3, 'UTC')}, p.p.2) AS status_since,
       p.p.1 AS previous_status,
       status AS candidate,
       1 AS candidate_count,
       toUInt64(requests) AS requests,
       toUInt64(errors) AS errors,
       if(requests > 0, errors / requests, 0) AS error_rate,
       pool
FROM pooled
LEFT JOIN previous AS p ON p.target = pooled.pool
SETTINGS join_use_nulls = 0
