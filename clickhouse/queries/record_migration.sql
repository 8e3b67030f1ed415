INSERT INTO schema_migrations (version, name, applied_at)
VALUES ({version:UInt32}, {name:String}, {applied_at:DateTime64(3, 'UTC')})
