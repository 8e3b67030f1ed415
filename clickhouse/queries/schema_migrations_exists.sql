-- Whether the current database has the migrations table (a store never migrated has not).
SELECT count() > 0 AS found
FROM system.tables
WHERE database = currentDatabase() AND name = 'schema_migrations'
