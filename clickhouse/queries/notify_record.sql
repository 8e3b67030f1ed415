-- Rows of health_notifications given as JSON lines in {rows}: claims (their `at` NULL: the
-- store's clock stamps them, so that claims of different aggregators compare on one clock) and
-- delivery attempts (stamped by the aggregator when the attempt ended).
INSERT INTO health_notifications (at, id, attempt, status, instance, receiver, receiver_type,
                                  message_id, action, target, target_kind, pool, rule, severity,
                                  started_at, event_at, http_status, duration_ms, error, reason)
SELECT ifNull(at, now64(3)), id, attempt, status, instance, receiver, receiver_type, message_id,
       action, target, target_kind, pool, rule, severity, started_at, event_at, http_status,
       duration_ms, error, reason
FROM format(JSONEachRow,
    'at Nullable(DateTime64(3, \'UTC\')), id String, attempt UInt16, status String,
     instance String, receiver String, receiver_type String, message_id String, action String,
     target String, target_kind String, pool String, rule String, severity String,
     started_at DateTime64(3, \'UTC\'), event_at DateTime64(3, \'UTC\'), http_status UInt16,
     duration_ms Float64, error String, reason String',
    {rows:String})
