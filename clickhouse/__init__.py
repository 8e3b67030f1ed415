"""The ClickHouse schema (migrations/*.sql, never edited once landed) and the queries
(queries/*.sql), shipped as package data of the distribution as `llmhealth_clickhouse` and
read through importlib.resources (aggregator/sql.py)."""
