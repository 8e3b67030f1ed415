"""Apply the numbered migrations and the configured retention, idempotently.

Migrations never change once landed: a schema change is a new file. Every statement is
`IF NOT EXISTS`, so two workers migrating at once, or a crash between a statement and its
`schema_migrations` row, are both harmless. Each row records the SHA-256 of the text applied;
a store that applied a migration whose file has changed since is refused (`MigrationChanged`)
before anything runs. Rows written before checksums were kept get the current file's.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from aggregator import sql
from aggregator.store.base import Store, StoreError
from llmhealth_config.model import RetentionSettings

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
    "health_cycles": ("evaluated_at", "snapshots_days"),
    "health_ratelimits": ("evaluated_at", "snapshots_days"),
    # The notifier's claims and delivery attempts, kept as long as the events they report.
    "health_notifications": ("at", "events_days"),
    # Target sets, as long as the snapshots judged with them; a set in use is rewritten every
    # hour (aggregator.evaluate.register), so it never expires while it is evaluated.
    "health_targets": ("written_at", "snapshots_days"),
    # Applications' requests: raw points as long as the probes' points, their minute, hour
    # and day counts as long as the rollups (availability and burn rates read 30 days).
    "health_passive_points": ("inserted_at", "metrics_days"),
    "health_passive": ("bucket", "rollups_days"),
}


def _ttl_params(retention: RetentionSettings) -> dict[str, int]:
    return {
        "metrics_ttl_days": retention.metrics_days,
        "snapshots_ttl_days": retention.snapshots_days,
        "events_ttl_days": retention.events_days,
        "minutes_ttl_days": retention.minutes_days,
        "rollups_ttl_days": retention.rollups_days,
    }


BOOTSTRAP = (1, 47)
"""schema_migrations and its checksum column: run before anything is read or recorded."""


class MigrationChanged(StoreError):
    """A migration this store applied has another text now."""


class SchemaMismatch(StoreError):
    """The store's schema is older (migrations pending) or newer than this version's."""


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def migrate(store: Store, retention: RetentionSettings) -> list[str]:
    """Create the database, apply pending migrations, then align TTLs with `retention`.
    Returns the names of the migrations applied by this call. Raises MigrationChanged (and
    applies nothing) when an applied migration's file has changed."""
    store.ensure_database()
    all_migrations = sql.migrations()
    by_version = {version: (name, text) for version, name, text in all_migrations}
    for version in BOOTSTRAP:
        store.execute(by_version[version][1])
    recorded = _recorded(store)
    _refuse_changed(recorded, all_migrations)
    _refuse_newer(recorded, by_version)
    params = _ttl_params(retention)
    done = []
    for version, name, text in all_migrations:
        row = recorded.get(version)
        if row is not None:
            if not row["checksum"]:  # applied before checksums were kept
                _record(store, version, name, text, row["applied_at"])
            continue
        used = {k: v for k, v in params.items() if "{" + k + ":" in text}
        store.execute(text, used)
        _record(store, version, name, text, datetime.now(UTC))
        log.info("applied migration %04d_%s", version, name)
        done.append(f"{version:04d}_{name}")
    apply_retention(store, retention)
    return done


def _refuse_changed(recorded: dict[int, dict], migrations: list[tuple[int, str, str]]) -> None:
    changed = [f"{version:04d}_{name}.sql" for version, name, text in migrations
               if recorded.get(version, {}).get("checksum") not in (None, "", checksum(text))]
    if changed:
        raise MigrationChanged(
            f"the store was migrated with another text of {', '.join(changed)} than this version "
            "of llmhealth ships: it cannot be used as it is (migrate a new store.data_dir, or run "
            "the version that created it)")


def _recorded(store: Store) -> dict[int, dict]:
    """The store's schema_migrations rows by version."""
    return {int(r["version"]): r for r in store.rows(
        "SELECT version, applied_at, checksum FROM schema_migrations FINAL")}


def _refuse_newer(recorded: dict[int, dict], known: dict[int, tuple[str, str]]) -> None:
    newer = sorted(set(recorded) - set(known))
    if newer:
        raise SchemaMismatch(
            f"the store's schema is newer than this version of llmhealth (it has migration "
            f"{', '.join(f'{v:04d}' for v in newer)}, this version ends at {max(known):04d}): "
            "run the llmhealth version that migrated it, or a newer one")


def check_schema(store: Store) -> None:
    """Raise SchemaMismatch unless the store has exactly this version's migrations applied
    (for `llmhealth aggregator --no-migrate`), naming what to run."""
    known = {version: (name, text) for version, name, text in sql.migrations()}
    exists = store.rows(sql.query("schema_migrations_exists"))[0]["found"]
    recorded = _recorded(store) if int(exists) else {}
    _refuse_changed(recorded, [(v, name, text) for v, (name, text) in known.items()])
    _refuse_newer(recorded, known)
    pending = sorted(set(known) - set(recorded))
    if pending:
        raise SchemaMismatch(
            f"the store's schema is older than this version of llmhealth ({len(pending)} "
            f"migrations pending, from {pending[0]:04d}_{known[pending[0]][0]}): run `llmhealth "
            "migrate` with the same store.url, or start the aggregator without --no-migrate")


def _record(store: Store, version: int, name: str, text: str, applied_at: datetime) -> None:
    store.execute(sql.query("record_migration"), {
        "version": version, "name": name, "applied_at": applied_at, "checksum": checksum(text)})


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
