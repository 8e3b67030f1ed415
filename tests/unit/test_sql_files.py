"""The SQL files: migrations are found, named and numbered as `aggregator.sql` expects, and a
landed migration never changes (a store migrated with the old text would differ from a new one
without any sign). A new migration is added to LANDED in the commit that adds it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aggregator import sql

LANDED = {
    "0001_schema_migrations.sql": "41833c5ec91de0fc",
    "0002_otel_metrics_sum.sql": "031b858424ddd691",
    "0003_otel_metrics_gauge.sql": "fc03162b587766c2",
    "0004_otel_metrics_histogram.sql": "de12cb85b426d625",
    "0005_otel_metrics_exponential_histogram.sql": "1a927227b3b0f27a",
    "0006_otel_metrics_summary.sql": "8caad509a7cdeb2f",
    "0007_health_snapshots.sql": "21a32f3cdf27aee5",
    "0008_health_events.sql": "8a3a75a6493fdc32",
    "0009_health_latest_view.sql": "4f250c5c34277583",
    "0010_health_points.sql": "94a8c64265efb0ff",
    "0011_health_points_from_sum.sql": "aee47cfdc1f6b42b",
    "0012_health_points_from_exponential_histogram.sql": "ff7857dbc4336712",
    "0013_health_points_from_histogram.sql": "357f65aaba5444ae",
    "0014_health_points_from_gauge.sql": "804910d66e890f52",
    "0015_health_minutes.sql": "0b7726c6621e41d0",
    "0016_health_hours.sql": "9f1094b1c041ac13",
    "0017_health_days.sql": "6cb7cddb40b911a5",
    "0018_health_minutes_from_points.sql": "1d05039574b404ad",
    "0019_health_hours_from_points.sql": "e8f7ce08744271ed",
    "0020_health_days_from_points.sql": "2c0bd9b33e8b66e9",
    "0021_drop_health_latest_v1.sql": "fc8f75bac046ee87",
    "0022_drop_health_snapshots_v1.sql": "4661e88f95c68511",
    "0023_drop_health_events_v1.sql": "724c33d4509c6aa1",
    "0024_health_snapshots.sql": "6aa3edfb36496de0",
    "0025_health_windows.sql": "d71ee28b103f8468",
    "0026_health_events.sql": "a5c1d727bac91dee",
    "0027_health_slo.sql": "98ff9b528ba67ad0",
    "0028_health_latest_view.sql": "746b07fd956472b5",
    "0029_health_timeline_view.sql": "c9367fea1c3ae2fa",
    "0030_health_incidents_view.sql": "4606f22764ffb378",
    "0031_health_targets.sql": "618fdf561a2ea8d8",
    "0032_health_targets_setting_names.sql": "24526fbd7e26ebc7",
    "0033_health_windows_probe_kind.sql": "154e04f7d4f4f10d",
    "0034_health_kinds.sql": "09d2a89861fb9e1c",
    "0035_health_snapshots_kinds.sql": "6c9d8a1c55eb8302",
    "0036_health_events_probe_kind.sql": "be0d323fc4df6376",
    "0037_health_minutes_probe_kind.sql": "35b303ad4e8662a2",
    "0038_health_hours_probe_kind.sql": "f625ae98143e3f68",
    "0039_health_days_probe_kind.sql": "57dbdd30f6837a52",
    "0040_drop_health_minutes_from_points.sql": "c4059c3a3695946f",
    "0041_drop_health_hours_from_points.sql": "076184a553d7a127",
    "0042_drop_health_days_from_points.sql": "aef7bbd429941bbb",
    "0043_health_minutes_by_kind_from_points.sql": "da48dfe015b49fd7",
    "0044_health_hours_by_kind_from_points.sql": "5b5a9a7f2b399bfa",
    "0045_health_days_by_kind_from_points.sql": "8f9bc38edf7a4da2",
    "0046_health_slo_rate_limited.sql": "8df3422410a73c35",
    "0047_schema_migrations_checksum.sql": "e630e0225ca043ba",
    "0048_health_notifications.sql": "b0aa8c9c4a94d796",
    "0049_health_cycles.sql": "26e459f9e94a0cfa",
    "0050_health_points_from_ratelimit_reset.sql": "664b7a409df12420",
    "0051_health_ratelimits.sql": "cf6e7aaa2fe9d4b1",
    "0052_health_targets_forecast_and_kind_intervals.sql": "2b87d31d14b7a1d6",
    "0053_health_snapshots_forecast_and_context.sql": "8793a5a0e8e44e69",
    "0054_health_windows_context.sql": "383a4e8512d3bbd7",
    "0055_health_passive_points.sql": "d13eab000bdc1ceb",
    "0056_health_passive_points_from_histogram.sql": "e67abc5761af7038",
    "0057_health_passive_points_from_exponential_histogram.sql": "307920c75d36798f",
    "0058_health_passive.sql": "d31c1c361547acf1",
    "0059_health_passive_unmatched_view.sql": "8a0596ac785772c1",
    "0060_health_snapshots_passive_latency.sql": "171d62590493cfff",
    "0061_health_slo_passive.sql": "6e6a154f7285361f",
    "0062_health_kinds_outage_run.sql": "5afb0078e9431abd",
}
"""The first 16 hex digits of each landed migration's SHA-256."""


def test_landed_migrations_are_unchanged() -> None:
    files = {f"{version:04d}_{name}.sql": text for version, name, text in sql.migrations()}
    changed = [name for name, digest in LANDED.items()
               if hashlib.sha256(files[name].encode("utf-8")).hexdigest()[:16] != digest]
    assert changed == [], f"landed migrations edited (add a new migration instead): {changed}"
    assert set(LANDED) <= set(files), set(LANDED) - set(files)
    assert set(files) - set(LANDED) == set(), "pin the new migrations in LANDED"


def test_no_migrations_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    with pytest.raises(FileNotFoundError, match="no migrations in"):
        sql.migrations(tmp_path)


@pytest.mark.parametrize(("files", "error"), [
    (["0001_a.sql", "0001_b.sql"], "used twice"),
    (["1_c.sql"], "NNNN_snake_case"),
])
def test_a_misnamed_or_repeated_migration_is_an_error(tmp_path: Path, files: list[str],
                                                      error: str) -> None:
    (tmp_path / "migrations").mkdir()
    for name in files:
        (tmp_path / "migrations" / name).write_text("SELECT 1")
    with pytest.raises(ValueError, match=error):
        sql.migrations(tmp_path)
