-- Targets the prober created by discovery (`<endpoint>/<model>`) that reported in the window
-- ending at {at}, with the configured endpoint target they inherit their thresholds from.
SELECT DISTINCT target,
       arrayFirst(p -> startsWith(target, concat(p, '/')), {endpoints:Array(String)}) AS endpoint
FROM health_points
WHERE inserted_at > {at:DateTime64(3, 'UTC')} - toIntervalSecond({window_s:UInt32})
  AND inserted_at <= {at:DateTime64(3, 'UTC')}
  AND source = 'probe' AND signal = 'outcome'
  AND endpoint != ''
ORDER BY target
