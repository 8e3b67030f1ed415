-- A target's or pool's snapshots from {from} to {to}, one point per {step_s} seconds, for
-- `GET /api/health/targets/{target}/history?range=1h` (aggregator/api/history.py): the worst
-- status of the bucket (unhealthy > rate_limited > degraded > unknown > healthy) and the last
-- snapshot's reason, status-window counts and quantiles. Re-written rows of one instant are the
-- same row, so the aggregates need no FINAL. Times are seconds since the epoch.
SELECT at_s, ['healthy', 'unknown', 'degraded', 'rate_limited', 'unhealthy'][worst] AS status,
       last_row.1 AS reason, last_row.2 AS requests, last_row.3 AS errors, last_row.4 AS error_rate,
       mapKeys(last_row.5) AS error_types,
       arrayMap(v -> toFloat64(v), mapValues(last_row.5)) AS error_counts,
       last_row.6 AS latency_p50_s, last_row.7 AS latency_p90_s, last_row.8 AS latency_p99_s,
       last_row.9 AS ttft_p50_s, last_row.10 AS ttft_p90_s, last_row.11 AS ttft_p99_s,
       last_row.12 AS tokens_per_second_p50, last_row.13 AS stream_completion_rate
FROM (
    SELECT toUnixTimestamp(toStartOfInterval(evaluated_at, toIntervalSecond({step_s:UInt32}))) AS at_s,
           max(indexOf(['healthy', 'unknown', 'degraded', 'rate_limited', 'unhealthy'], status)) AS worst,
           argMax(tuple(reason, toFloat64(requests), toFloat64(errors), error_rate, errors_by_type,
                        latency_p50_s, latency_p90_s, latency_p99_s, ttft_p50_s, ttft_p90_s,
                        ttft_p99_s, tokens_per_second_p50, stream_completion_rate),
                  evaluated_at) AS last_row
    FROM health_snapshots
    WHERE evaluated_at >= {from:DateTime64(3, 'UTC')} AND evaluated_at <= {to:DateTime64(3, 'UTC')}
      AND target = {target:String}
    GROUP BY at_s
)
ORDER BY at_s
SETTINGS output_format_json_quote_64bit_integers = 0
