-- The v1 snapshot table (status only) is replaced by 0024 (breaker, streaks, hysteresis state).
DROP TABLE IF EXISTS health_snapshots
