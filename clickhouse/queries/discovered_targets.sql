-- Targets the prober created by discovery (`<endpoint>/<model>`) that reported in the window
-- ending at {at}, with the configured endpoint target they inherit their thresholds from.
SELECT DISTINCT Attributes['llmhealth.target'] AS target,
       arrayFirst(p -> startsWith(Attributes['llmhealth.target'], concat(p, '/')),
                  {endpoints:Array(String)}) AS endpoint
FROM otel_metrics_sum
WHERE ServiceName = {service:String} AND MetricName = 'llmhealth.probe.outcomes'
  AND TimeUnix > {at:DateTime64(3, 'UTC')} - toIntervalSecond({window_s:UInt32})
  AND TimeUnix <= {at:DateTime64(3, 'UTC')}
  AND endpoint != ''
ORDER BY target
