-- The SHA-256 of each migration's text as applied, so that a migration file changed after a
-- store applied it is found at start instead of leaving that store different from a new one
-- (aggregator/migrate.py runs this right after 0001, before it records anything).
ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum String
