"""Migrations against the embedded engine: each applied migration is recorded with its
checksum, a store that applied another text of a migration is refused before anything runs,
and rows recorded before checksums were kept get the current file's (aggregator/migrate.py)."""

from __future__ import annotations

import pytest

from aggregator import sql
from aggregator.migrate import MigrationChanged, checksum, migrate
from llmhealth_config.model import RetentionSettings

pytestmark = pytest.mark.embedded

ROWS = "SELECT version, checksum FROM schema_migrations FINAL ORDER BY version"


def test_every_migration_is_recorded_with_its_checksum(store) -> None:
    rows = store.rows(ROWS)
    assert [(int(r["version"]), r["checksum"]) for r in rows] == [
        (version, checksum(text)) for version, _name, text in sql.migrations()]
    assert migrate(store, RetentionSettings()) == []  # nothing pending, nothing refused


def test_a_migration_changed_since_it_was_applied_is_refused(store) -> None:
    store.execute(sql.query("record_migration"), {
        "version": 31, "name": "health_targets", "applied_at": "2026-11-22 10:00:00",
        "checksum": checksum("-- the text as it landed first")})
    store.execute("ALTER TABLE schema_migrations DELETE WHERE version = 46 SETTINGS mutations_sync = 1")
    with pytest.raises(MigrationChanged, match="0031_health_targets.sql"):
        migrate(store, RetentionSettings())
    # refused before anything ran: the pending 0046 stays pending
    assert 46 not in {int(r["version"]) for r in store.rows(ROWS)}


def test_rows_from_before_checksums_get_the_current_files(store) -> None:
    store.execute(sql.query("record_migration"), {
        "version": 31, "name": "health_targets", "applied_at": "2026-11-22 10:00:00", "checksum": ""})
    migrate(store, RetentionSettings())
    [row] = [r for r in store.rows(ROWS) if int(r["version"]) == 31]
    assert row["checksum"] == checksum({v: t for v, _n, t in sql.migrations()}[31])


def test_every_table_has_a_ttl_from_its_retention_setting(store) -> None:
    migrate(store, RetentionSettings(snapshots_days=3))
    current = {r["name"]: int(r["days"]) for r in store.rows(sql.query("retention_current"))}
    tables = {r["name"] for r in store.rows(
        "SELECT name FROM system.tables WHERE database = currentDatabase() "
        "AND engine LIKE '%MergeTree' AND name != 'schema_migrations'")}
    assert tables <= current.keys(), sorted(tables - current.keys())
    assert current["health_targets"] == current["health_snapshots"] == 3
