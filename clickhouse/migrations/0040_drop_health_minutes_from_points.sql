-- Replaced by 0043_health_minutes_by_kind_from_points (rows per probe kind).
DROP VIEW IF EXISTS health_minutes_from_points
