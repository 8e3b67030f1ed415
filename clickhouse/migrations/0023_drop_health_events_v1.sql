-- The v1 event table (status changes only) is replaced by 0026 (status and breaker events).
DROP TABLE IF EXISTS health_events
