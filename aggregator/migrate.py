"""Apply the numbered migrations and the configured retention, idempotently.

Migrations never change once landed: a schema change is a new file. Every statement is
`IF NOT EXISTS`, so two workers migrating at once, or a crash between a statement and its
`schema_migrations` row, are both harmless.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aggregator import sql
from aggregator.store.base import Store
from llmhealth.config.model import RetentionSettings

log = logging.getLogger("llmhealth.migrate")

# table -> (TTL time column, RetentionSettings field)
RETENTION = {
    "otel_metrics_sum": ("TimeUnix", "metrics_days"),
    "otel_metrics_gauge": ("TimeUnix", "metrics_days"),
    "otel_metrics_histogram": ("TimeUnix", "metrics_days"),
    "otel_metrics_exponential_histogram": ("TimeUnix", "metrics_days"),
    "otel_metrics_summary": ("TimeUnix", "metrics_days"),
    "health_points": ("inserted_at", "metrics_days"),
    "health_minutes": ("bucket", "minutes_days"),
    "health_hours": ("bucket", "rollups_days"),
    "health_days": ("bucket", "rollups_days"),
    "health_snapshots": ("evaluated_at", "snapshots_days"),
    "health_kinds": ("evaluated_at", "snapshots_days"),
    "health_windows": ("evaluated_at", "snapshots_days"),
    "health_slo": ("evaluated_at", "rollups_days"),
    "health_events": ("at", "events_days"),
}


def _ttl_params(retention: RetentionSettings) -> dict[str, int]:
    return {
        "metrics_ttl_days": retention.metrics_days,
        "snapshots_ttl_days": retention.snapshots_days,
        "events_ttl_days": retention.events_days,
        "minutes_ttl_days": retention.minutes_days,
        "rollups_ttl_days": retention.rollups_days,
    }


def migrate(store: Store, retention: RetentionSettings) -> list[str]:
    """Create the database, apply pending migrations, then align TTLs with `retention`.
    Returns the names of the migrations applied by this call."""
    store.ensure_database()
    all_migrations = sql.migrations()
    store.execute(all_migrations[0][2])  # schema_migrations itself
    applied = {int(r["version"]) for r in store.rows("SELECT version FROM schema_migrations")}
    params = _ttl_params(retention)
    done = []
    for version, name, text in all_migrations:
        if version in applied:
            continue
        used = {k: v for k, v in params.items() if "{" + k + ":" in text}
        store.execute(text, used)
        store.execute(sql.query("record_migration"), {
            "version": version, "name": name, "applied_at": datetime.now(UTC)})
        log.info("applied migration %04d_%s", version, name)
        done.append(f"{version:04d}_{name}")
    apply_retention(store, retention)
    return done


def apply_retention(store: Store, retention: RetentionSettings) -> None:
    """ALTER a table's TTL only where it differs from the configuration (an ALTER of TTL
    rewrites TTL info of every part, so it is not repeated at each start)."""
    current = {r["name"]: int(r["days"]) for r in store.rows(sql.query("retention_current"))}
    for table, (column, field) in RETENTION.items():
        days = getattr(retention, field)
        if current.get(table) == days:
            continue
        store.execute(sql.query("retention_apply"), {"table": table, "column": column, "days": days})
        log.info("retention of %s set to %d days (was %s)", table, days, current.get(table, "unset"))
