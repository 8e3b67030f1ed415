-- When triggers were claimed since {since}, per receiver, target and rule, among {targets}: a
-- new problem of the same target and rule is held until notifications.min_repeat_interval has
-- passed since the trigger before it.
SELECT receiver, target, rule, groupArray(event_at) AS times
FROM health_notifications
WHERE attempt = 0 AND action = 'trigger' AND has({targets:Array(String)}, target)
  AND event_at >= {since:DateTime64(3, 'UTC')}
GROUP BY receiver, target, rule
