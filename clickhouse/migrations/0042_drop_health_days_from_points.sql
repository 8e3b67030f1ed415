-- Replaced by 0045_health_days_by_kind_from_points (rows per probe kind).
DROP VIEW IF EXISTS health_days_from_points
