-- health_passive hour and day rows at instant {at} (a minute's first instant, right after
-- evaluate_passive.sql): the sums of the minute rows of every hour and day that the last
-- {minutes} complete minutes lie in, so they include what those minutes were recomputed with.
-- A source's bucket counts for the target its latest minute counted for. Version {at}.
INSERT INTO health_passive (unit, bucket, source, target, candidates, service, provider, model,
                            server, requests, ok, errors, latency, last_seen, version)
WITH toStartOfMinute({at:DateTime64(3, 'UTC')}) - toIntervalMinute({minutes:UInt32}) AS first_minute
SELECT rolled_unit AS unit,
       if(rolled_unit = 'hour', toStartOfHour(m.bucket), toStartOfDay(m.bucket)) AS rolled_bucket,
       m.source AS source,
       argMax(m.target, m.bucket) AS target,
       argMax(m.candidates, m.bucket) AS candidates,
       any(m.service) AS service, any(m.provider) AS provider, any(m.model) AS model,
       any(m.server) AS server,
       sum(m.requests) AS requests,
       sum(m.ok) AS ok,
       sumMap(m.errors) AS errors,
       sumMap(m.latency) AS latency,
       max(m.last_seen) AS last_seen,
       {at:DateTime64(3, 'UTC')} AS version
FROM (SELECT * FROM health_passive FINAL
      WHERE unit = 'minute' AND bucket >= toStartOfDay(first_minute)
        AND bucket < toStartOfMinute({at:DateTime64(3, 'UTC')})) AS m
ARRAY JOIN ['hour', 'day'] AS rolled_unit
WHERE m.bucket >= if(rolled_unit = 'hour', toStartOfHour(first_minute), toStartOfDay(first_minute))
GROUP BY rolled_unit, rolled_bucket, source
