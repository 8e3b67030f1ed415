"""Every Grafana panel, annotation, variable and alert-rule query of deploy/grafana/ run against
the store of a real demo run (`llmhealth run`), as user `reader` (Grafana's user), after the
ClickHouse datasource plugin's macros and Grafana's template variables are expanded the way
they document it (harness/grafana.py says which, and how), over the dashboard's default time
range or the alert rule's relative range.

Variables take their first option, as Grafana does for a fresh dashboard (All where offered).
A panel passes when its query runs and returns at least one row, shaped for its format (a
time column for time series); an alert rule when its query runs, returns one numeric column
with unique label sets, and fires or stays quiet as the demo makes it.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from harness.grafana import (
    DASHBOARDS,
    GRAFANA,
    PANEL_WIDTH_PX,
    default_range,
    expand,
    load_dashboard,
    panel_interval_ms,
    round_interval_ms,
    run_sql,
    variable_values,
)
from harness.pipeline import query, running_pipeline
from harness.ports import free_ports
from llmhealth_config.aggregator import AggregatorSettings

pytestmark = [pytest.mark.embedded, pytest.mark.long]

RULES_FILE = GRAFANA / "provisioning" / "alerting" / "llmhealth.yaml"
MIN_DEMO_S = 35   # enough probes for quantiles, events and breakers
MAX_DEMO_S = 80   # the first minute boundary with data writes health_slo: at most ~70 s in

# What the demo shows for each alert rule: `fires` (some row meets the threshold, naming
# demo-down), `quiet` (rows, none meets it), `rows` (rows, either way), `runs` (no row needed:
# the demo has no pool).
DEMO_RULES = {
    "llmhealth-model-unhealthy": "fires",
    "llmhealth-error-rate-high": "fires",
    "llmhealth-pool-unavailable": "runs",
    "llmhealth-all-unavailable": "quiet",
    "llmhealth-latency-p99-high": "rows",
    "llmhealth-ratelimit-low": "quiet",
    "llmhealth-ratelimit-exhaustion": "runs",  # no demo model's limit runs out
    "llmhealth-context-lost": "quiet",  # demo-anthropic's context probes keep the first turn
    "llmhealth-slo-fast-burn": "fires",
    "llmhealth-slo-slow-burn": "fires",
    "llmhealth-storage-lag": "quiet",
    "llmhealth-aggregator-stalled": "quiet",
}


# --- Collecting the queries ------------------------------------------------------------------

def _panel_params() -> list:
    params = []
    for path in DASHBOARDS:
        board = load_dashboard(path)
        for panel in board["panels"]:
            for tgt in panel.get("targets", []):
                params.append(pytest.param(path, "panel", panel["id"], tgt["refId"],
                                           id=f"{path.stem}/{panel['title']}/{tgt['refId']}"))
        for number, anno in enumerate(board["annotations"]["list"]):
            if "target" in anno and anno["target"].get("rawSql"):
                params.append(pytest.param(path, "annotation", number, "",
                                           id=f"{path.stem}/annotation: {anno['name']}"))
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                params.append(pytest.param(path, "variable", variable["name"], "",
                                           id=f"{path.stem}/variable: {variable['name']}"))
    return params


def _rules() -> dict[str, dict]:
    groups = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["groups"]
    return {rule["uid"]: rule for group in groups for rule in group["rules"]}


# --- The demo --------------------------------------------------------------------------------

def _count(demo: dict, sql: str) -> int:
    return int(query(demo, f"SELECT ({sql}) AS n")[0]["n"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """One `llmhealth run` of the built-in demo, read as `reader` once every table a panel
    reads has rows: the first SLO row of demo-down (written at a minute's first instant) and
    demo-anthropic's first context preservation rate."""
    # The aggregator's HTTP API on a free port (where this version has one), so that this run
    # and another beside it do not both claim the default.
    settings = ({"aggregator": {"http_port": free_ports(1)[0]}}
                if "http_port" in AggregatorSettings.model_fields else {})
    with running_pipeline(tmp_path_factory.mktemp("dashboards"), settings) as pipeline:
        while True:
            assert pipeline["process"].poll() is None, pipeline["log"].read_text()
            elapsed = time.monotonic() - pipeline["started"]
            try:
                ready = _count(pipeline, "SELECT count() FROM health_slo WHERE target = 'demo-down' "
                                         "AND burn_rate_5m IS NOT NULL") > 0 and _count(
                    pipeline, "SELECT count() FROM health_snapshots WHERE target = "
                              "'demo-anthropic' AND context_preservation_rate IS NOT NULL") > 0
            except (AssertionError, httpx.HTTPError):
                ready = False  # the store is starting or migrating
            if ready and elapsed >= MIN_DEMO_S:
                break
            assert elapsed < MAX_DEMO_S, f"no SLO row after {elapsed:.0f} s: {pipeline['log'].read_text()}"
            time.sleep(2)
        yield {**pipeline, "auth": ("reader", pipeline["auth"][1])}


NUMERIC = re.compile(r"^(Nullable\()?(U?Int\d+|Float\d+|Decimal.*|Bool)\)?$")
TIME = re.compile(r"^(Nullable\()?DateTime(64)?\b")
TEXT = re.compile(r"^(Nullable\()?(LowCardinality\()?String\)?\)?$")


@pytest.mark.parametrize(("path", "what", "key", "ref"), _panel_params())
def test_dashboard_query_returns_rows(demo: dict, path: Path, what: str, key: object,
                                      ref: str) -> None:
    board = load_dashboard(path)
    start, end = default_range(board)
    selections, values = variable_values(demo, board, start, end)
    if what == "panel":
        panel = next(p for p in board["panels"] if p["id"] == key)
        target = next(t for t in panel["targets"] if t["refId"] == ref)
        sql, fmt, interval = target["rawSql"], target["format"], panel_interval_ms(panel, start, end)
    elif what == "annotation":
        anno = board["annotations"]["list"][key]
        sql, fmt, interval = anno["target"]["rawSql"], 1, round_interval_ms(
            (end - start).total_seconds() * 1000 / PANEL_WIDTH_PX)
    else:
        variable = next(v for v in board["templating"]["list"] if v["name"] == key)
        sql, fmt, interval = variable["query"], 1, 60000
    columns, rows = run_sql(demo, expand(sql, start=start, end=end, interval_ms=interval,
                                      selections=selections, values=values))
    assert rows, f"no rows ({values}): {sql}"
    types = [column["type"] for column in columns]
    if fmt == 0:  # time series: a time column and numbers (string columns become labels)
        assert any(TIME.match(t) for t in types), columns
        assert any(NUMERIC.match(t) for t in types), columns
    if what == "annotation":
        assert {"time", "text"} <= {column["name"] for column in columns}, columns


RULES = _rules()


@pytest.mark.parametrize("uid", sorted(RULES))
def test_alert_rule_query(demo: dict, uid: str) -> None:
    rule = RULES[uid]
    data = {d["refId"]: d for d in rule["data"]}
    source = data["A"]
    threshold = data[rule["condition"]]["model"]["conditions"][0]["evaluator"]
    now = datetime.now(UTC)
    span = source["relativeTimeRange"]
    sql = expand(source["model"]["rawSql"], start=now - timedelta(seconds=span["from"]),
                 end=now - timedelta(seconds=span["to"]),
                 interval_ms=source["model"].get("intervalMs", 1000), selections={}, values={})
    columns, rows = run_sql(demo, sql)
    numeric = [i for i, c in enumerate(columns) if NUMERIC.match(c["type"])]
    labels = [i for i, c in enumerate(columns) if i not in numeric]
    # Grafana alerts on a table with exactly one number per row and string labels
    assert len(numeric) == 1, columns
    assert all(TEXT.match(columns[i]["type"]) for i in labels), columns
    label_sets = [tuple(row[i] for i in labels) for row in rows]
    assert len(set(label_sets)) == len(label_sets), rows
    compare = {"gt": lambda v, p: v > p, "lt": lambda v, p: v < p}[threshold["type"]]
    firing = [row for row in rows if row[numeric[0]] is not None
              and not math.isnan(float(row[numeric[0]]))
              and compare(float(row[numeric[0]]), threshold["params"][0])]
    expected = DEMO_RULES[uid]
    if expected != "runs":
        assert rows, f"no rows: {sql}"
    if expected == "fires":
        assert any("demo-down" in row for row in firing), rows
    if expected == "quiet":
        assert not firing, firing


def test_every_rule_has_a_demo_expectation() -> None:
    assert set(RULES) == set(DEMO_RULES)
