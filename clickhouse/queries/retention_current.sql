-- Days of the TTL currently set on each table of this database (tables without one: absent).
SELECT name, toUInt32(extract(engine_full, 'toIntervalDay\\((?:_CAST\\()?(\\d+)')) AS days
FROM system.tables
WHERE database = currentDatabase() AND engine_full LIKE '%TTL%toIntervalDay(%'
