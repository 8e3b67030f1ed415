-- INSERT … SELECT rather than VALUES: the embedded store's HTTP endpoint takes no rows in the
-- query text (they could hide a second statement), and an aggregator may reach it over HTTP.
INSERT INTO schema_migrations (version, name, applied_at)
SELECT {version:UInt32}, {name:String}, {applied_at:DateTime64(3, 'UTC')}
