-- Snapshots v1 (0007) are replaced by 0024; its view goes first.
DROP VIEW IF EXISTS health_latest
