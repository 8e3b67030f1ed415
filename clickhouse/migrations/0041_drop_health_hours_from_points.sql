-- Replaced by 0044_health_hours_by_kind_from_points (rows per probe kind).
DROP VIEW IF EXISTS health_hours_from_points
