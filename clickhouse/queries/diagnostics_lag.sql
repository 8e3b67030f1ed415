-- The storage lag for `GET /api/diagnostics` (aggregator/api/diagnostics.py), one small read per
-- request: the newest point the prober (service {service}) exported that is stored, by the
-- point's own time, among the outcome counters of the last day (every probe exports one), and
-- the store's now minus it. NULLs when the prober stored no point in the last day.
-- Times are seconds since the epoch (Float64), so that every store interface returns numbers.
SELECT if(count() > 0, toUnixTimestamp64Milli(max(TimeUnix)) / 1000, NULL) AS newest_point_s,
       if(count() > 0, (toUnixTimestamp64Milli(now64(3)) - toUnixTimestamp64Milli(max(TimeUnix))) / 1000,
          NULL) AS lag_s
FROM otel_metrics_sum
WHERE ServiceName = {service:String}
  AND MetricName = 'llmhealth.probe.outcomes'
  AND TimeUnix > now64(3) - INTERVAL 1 DAY
