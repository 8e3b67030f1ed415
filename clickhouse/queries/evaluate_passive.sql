-- health_passive minute rows for the {minutes} complete minutes before the minute of instant
-- {at} (the worker runs this at each minute's first instant): applications' requests per
-- request source and minute, by the points' own time, from the health_passive_points stored in
-- ({read_from}, {at}]. Each source counts for the target aggregator/passive_match.py matched it
-- to ({passive_keys} -> {passive_targets}; '' and {passive_candidates} for none), each
-- error.type is mapped onto an outcome ({error_types} -> {error_outcomes}).
-- Delta points count as they are. Cumulative points (the OTel SDKs' default) count their
-- increase over the previous point of the same series, ordered by the point's time, and their
-- duration buckets likewise; a reset (new start time, or a count below the previous one) counts
-- the new values, and the first point of a series read counts fully only if the series started
-- after {read_from}. A minute computed again at a later instant (late points) replaces the
-- earlier row: `version` is {at}.
INSERT INTO health_passive (unit, bucket, source, target, candidates, service, provider, model,
                            server, requests, ok, errors, latency, last_seen, version)
WITH
toStartOfMinute({at:DateTime64(3, 'UTC')}) AS this_minute,
deltas AS (
    SELECT source, service, provider, model, server_address, server_port, error_type, time,
           multiIf(temporality != 2, value,
                   n = 1, if(start > {read_from:DateTime64(3, 'UTC')}, value, 0),
                   start != previous_start OR value < previous_value, value,
                   value - previous_value) AS delta,
           multiIf(temporality != 2, buckets,
                   n = 1, if(start > {read_from:DateTime64(3, 'UTC')}, buckets, map()),
                   start != previous_start OR value < previous_value, buckets,
                   mapSubtract(buckets, previous_buckets)) AS delta_buckets
    FROM (
        SELECT *, lagInFrame(value) OVER w AS previous_value, lagInFrame(start) OVER w AS previous_start,
               lagInFrame(buckets) OVER w AS previous_buckets, row_number() OVER w AS n
        FROM health_passive_points
        WHERE inserted_at > {read_from:DateTime64(3, 'UTC')} AND inserted_at <= {at:DateTime64(3, 'UTC')}
        WINDOW w AS (PARTITION BY series ORDER BY time, inserted_at
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    )
    WHERE time >= this_minute - toIntervalMinute({minutes:UInt32}) AND time < this_minute
)
SELECT 'minute' AS unit,
       toStartOfMinute(time) AS bucket,
       source,
       {passive_targets:Array(String)}[indexOf({passive_keys:Array(UInt64)}, source)] AS target,
       {passive_candidates:Array(Array(String))}[indexOf({passive_keys:Array(UInt64)}, source)] AS candidates,
       any(service) AS service, any(provider) AS provider, any(model) AS model,
       if(any(server_address) = '', '',
          concat(any(server_address), if(any(server_port) = '', '', concat(':', any(server_port))))) AS server,
       toUInt64(sum(delta)) AS requests,
       toUInt64(sumIf(delta, error_type = '')) AS ok,
       sumMapIf(map(transform(toString(error_type), {error_types:Array(String)}, {error_outcomes:Array(String)},
                              toString(error_type)), toUInt64(delta)),
                error_type != '' AND delta > 0) AS errors,
       sumMapIf(CAST(delta_buckets, 'Map(Int16, UInt64)'), error_type = '') AS latency,
       max(time) AS last_seen,
       {at:DateTime64(3, 'UTC')} AS version
FROM deltas
GROUP BY bucket, source
HAVING requests > 0
