"""The compose stack's collector (otelcol-contrib's ClickHouse exporter, `create_schema: false`)
inserts by column name into the tables the migrations create: every column the pinned exporter
writes (tests/fixtures/otelcol_clickhouse, with its source) must exist there with the same type.
Checked on the migrated embedded store, whose engine is ClickHouse's."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.embedded

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "otelcol_clickhouse" / "metrics_columns.tsv"


def _exporter_columns() -> dict[str, dict[str, str]]:
    """Metric kind (the exporter's `metrics_tables` key) → column → type."""
    columns: dict[str, dict[str, str]] = defaultdict(dict)
    with FIXTURE.open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows, delimiter="\t"):
            columns[row["kind"]][row["column"]] = row["type"]
    return columns


def _configured_tables() -> dict[str, str]:
    config = yaml.safe_load((REPO / "otel-collector" / "config.yaml").read_text(encoding="utf-8"))
    tables = config["exporters"]["clickhouse"]["metrics_tables"]
    return {kind: spec["name"] for kind, spec in tables.items()}


def test_the_fixture_covers_every_table_the_collector_writes() -> None:
    assert set(_exporter_columns()) == set(_configured_tables())


@pytest.mark.parametrize("kind", sorted(_configured_tables()))
def test_every_exporter_column_exists_with_its_type(store, kind: str) -> None:
    table = _configured_tables()[kind]
    found = {r["name"]: r["type"] for r in store.rows(
        "SELECT name, type FROM system.columns "
        "WHERE database = currentDatabase() AND table = {t:String}",
        {"t": table})}
    assert found, f"the migrations create no table {table}"
    wanted = _exporter_columns()[kind]
    mismatched = {c: (t, found.get(c, "missing")) for c, t in wanted.items() if found.get(c) != t}
    assert mismatched == {}, f"{table}: column: (exporter's type, table's type)"
