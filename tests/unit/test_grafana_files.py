"""deploy/grafana/, checked without Grafana: the dashboards import into any Grafana (a data
source variable, no data source uid of this stack), their panels are addressable, the
provisioning files point where docker-compose.yml mounts them, and every alert rule carries a
runbook, a summary naming the target and the reason, and the `for` and threshold docs/dashboards.md
lists. tests/embedded/test_dashboards.py runs every query against a real demo run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
RULES_FILE = GRAFANA / "provisioning" / "alerting" / "llmhealth.yaml"
DOCS = REPO / "docs" / "dashboards.md"
PLUGIN = "grafana-clickhouse-datasource"
VARIABLE_SOURCE = {"type": PLUGIN, "uid": "${datasource}"}

UIDS = {
    "fleet-overview": "llmhealth-fleet-overview",
    "model-detail": "llmhealth-model-detail",
    "status-timeline": "llmhealth-status-timeline",
    "probe-cost": "llmhealth-probe-cost",
    "collector-pipeline": "llmhealth-pipeline",
}

# uid: (for, threshold operator, threshold, severity), as docs/dashboards.md lists them
RULES = {
    "llmhealth-model-unhealthy": ("2m", "gt", 0, "warning"),
    "llmhealth-error-rate-high": ("5m", "gt", 0.1, "warning"),
    "llmhealth-pool-unavailable": ("1m", "gt", 0, "critical"),
    "llmhealth-all-unavailable": ("1m", "gt", 0, "critical"),
    "llmhealth-latency-p99-high": ("3m", "gt", 5, "warning"),
    "llmhealth-ratelimit-low": ("5m", "lt", 0.1, "warning"),
    "llmhealth-ratelimit-exhaustion": ("0s", "lt", 60, "warning"),
    "llmhealth-context-lost": ("10m", "lt", 0.9, "warning"),
    "llmhealth-slo-fast-burn": ("1m", "gt", 14.4, "critical"),
    "llmhealth-slo-slow-burn": ("5m", "gt", 6, "warning"),
    "llmhealth-storage-lag": ("1m", "gt", 60, "warning"),
    "llmhealth-aggregator-stalled": ("0s", "gt", 60, "critical"),
}


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _datasource_refs(node: object, path: str = "") -> list[tuple[str, object]]:
    """Every `datasource` value in a dashboard, with where it is."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                found.append((f"{path}.{key}", value))
            found += _datasource_refs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _datasource_refs(value, f"{path}[{index}]")
    return found


def _queries(board: dict) -> list[tuple[str, str, dict]]:
    """(where, SQL, the object holding it) of every panel target, annotation and variable."""
    queries = [(f"panel {p['title']!r} {t['refId']}", t["rawSql"], t)
               for p in board["panels"] for t in p["targets"]]
    queries += [(f"annotation {a['name']!r}", a["target"]["rawSql"], a["target"])
                for a in board["annotations"]["list"] if "target" in a and "rawSql" in a["target"]]
    queries += [(f"variable {v['name']!r}", v["query"], v)
                for v in board["templating"]["list"] if v["type"] == "query"]
    return queries


def test_every_dashboard_is_there() -> None:
    assert {p.stem for p in DASHBOARDS} == set(UIDS)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_loads_with_a_stable_uid(path: Path) -> None:
    board = _load(path)
    assert board["uid"] == UIDS[path.stem]
    assert len(board["uid"]) <= 40
    assert board["title"].startswith("llmhealth · ")
    assert "llmhealth" in board["tags"]
    assert board.get("id") is None  # an id is Grafana's own; provisioning and import set it
    assert board["time"]["from"].startswith("now") and board["time"]["to"].startswith("now")


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_reads_through_its_datasource_variable(path: Path) -> None:
    """Importable into any Grafana: the ClickHouse source is picked by the `datasource`
    variable, and no panel, annotation or variable names a data source uid."""
    board = _load(path)
    [variable] = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert variable["name"] == "datasource" and variable["query"] == PLUGIN
    assert not variable.get("current"), "a saved selection would name this stack's data source"
    refs = _datasource_refs({"panels": board["panels"],
                             "annotations": board["annotations"],
                             "templating": board["templating"]})
    for where, ref in refs:
        if where.startswith(".annotations") and ref == {"type": "grafana", "uid": "-- Grafana --"}:
            continue  # Grafana's built-in annotations and alerts
        if where.startswith(".templating") and ref == variable["name"]:
            continue
        assert ref == VARIABLE_SOURCE, f"{path.name}{where}: {ref}"
    assert "llmhealth-clickhouse" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_panels_are_unique_and_on_the_grid(path: Path) -> None:
    panels = _load(path)["panels"]
    ids = [p["id"] for p in panels]
    titles = [p["title"] for p in panels]
    assert len(set(ids)) == len(ids), ids
    assert len(set(titles)) == len(titles), titles
    for panel in panels:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel.get("description"), f"{panel['title']}: docs/dashboards.md and the panel say what it shows"
        assert panel["targets"], panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_queries_are_plain_sql_the_reader_may_run(path: Path) -> None:
    """SQL editor queries in table (1) or time series (0) format; no SETTINGS clause (the
    reader is read-only and may change no setting) and no write."""
    for where, sql, holder in _queries(_load(path)):
        assert sql.strip(), where
        if holder is not None and "format" in holder:
            assert holder["format"] in (0, 1), where
            assert holder.get("editorType") == "sql", where
        assert not re.search(r"\bSETTINGS\b", sql), where
        assert not re.search(r"\b(INSERT|ALTER|DROP|CREATE)\b", sql, re.IGNORECASE), where


def test_panel_titles_are_documented() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for path in DASHBOARDS:
        board = _load(path)
        assert board["title"] in docs, board["title"]
        for panel in board["panels"]:
            assert panel["title"] in docs, f"{path.stem}: {panel['title']}"


# --- Provisioning -----------------------------------------------------------------------------

def _grafana_mounts() -> dict[str, str]:
    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))
    mounts = {}
    for volume in compose["services"]["grafana"]["volumes"]:
        source, target = volume.split(":")[:2]
        mounts[target] = source
    return mounts


def test_compose_mounts_every_provisioning_folder() -> None:
    mounts = _grafana_mounts()
    for kind in ("datasources", "dashboards", "alerting"):
        source = mounts[f"/etc/grafana/provisioning/{kind}"]
        assert (REPO / "deploy" / source).resolve() == GRAFANA / "provisioning" / kind
        assert any((GRAFANA / "provisioning" / kind).glob("*.yaml"))


def test_dashboard_provider_reads_the_mounted_dashboards() -> None:
    provisioning = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "llmhealth.yaml")
                                  .read_text(encoding="utf-8"))
    [provider] = provisioning["providers"]
    assert provider["type"] == "file"
    source = _grafana_mounts()[provider["options"]["path"]]
    assert (REPO / "deploy" / source).resolve() == GRAFANA / "dashboards"
    assert provider["folder"] == "llmhealth"


# --- Alert rules ------------------------------------------------------------------------------

def _groups() -> list[dict]:
    return yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["groups"]


def _rules() -> dict[str, dict]:
    return {rule["uid"]: rule for group in _groups() for rule in group["rules"]}


def _provisioned_source() -> dict:
    [source] = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "clickhouse.yaml")
                              .read_text(encoding="utf-8"))["datasources"]
    return source


def test_every_listed_rule_is_provisioned_once() -> None:
    uids = [rule["uid"] for group in _groups() for rule in group["rules"]]
    assert len(set(uids)) == len(uids)
    assert set(uids) == set(RULES)
    titles = [rule["title"] for group in _groups() for rule in group["rules"]]
    assert len(set(titles)) == len(titles)
    for group in _groups():
        assert group["folder"] == "llmhealth" and group["orgId"] == 1
        assert re.fullmatch(r"\d+[sm]", group["interval"])


@pytest.mark.parametrize("uid", sorted(RULES))
def test_rule_for_threshold_and_severity(uid: str) -> None:
    rule = _rules()[uid]
    duration, op, threshold, severity = RULES[uid]
    assert rule["for"] == duration
    assert rule["labels"]["severity"] == severity
    data = {d["refId"]: d for d in rule["data"]}
    condition = data[rule["condition"]]
    assert condition["datasourceUid"] == "__expr__"
    assert condition["model"]["type"] == "threshold"
    assert condition["model"]["expression"] in data
    [evaluator] = [c["evaluator"] for c in condition["model"]["conditions"]]
    assert (evaluator["type"], evaluator["params"]) == (op, [threshold])


@pytest.mark.parametrize("uid", sorted(RULES))
def test_rule_queries_the_provisioned_clickhouse_as_a_table(uid: str) -> None:
    rule = _rules()[uid]
    source = _provisioned_source()
    queries = [d for d in rule["data"] if d["datasourceUid"] != "__expr__"]
    assert queries
    for data in queries:
        assert data["datasourceUid"] == source["uid"]
        model = data["model"]
        assert model["datasource"] == {"type": PLUGIN, "uid": source["uid"]}
        # one number per row and string labels: Grafana's multi-dimensional alert on a table
        assert model["format"] == 1 and model["editorType"] == "sql"
        assert data["relativeTimeRange"]["from"] > data["relativeTimeRange"]["to"] >= 0
        assert not re.search(r"\bSETTINGS\b", model["rawSql"])
    assert rule["execErrState"] in ("Error", "Alerting", "OK", "KeepLast")
    assert rule["noDataState"] in ("NoData", "Alerting", "OK", "KeepLast")


@pytest.mark.parametrize("uid", sorted(RULES))
def test_rule_has_a_runbook_and_a_summary_naming_target_and_reason(uid: str) -> None:
    annotations = _rules()[uid]["annotations"]
    summary = annotations["summary"]
    assert "{{ $labels.target }}" in summary
    assert "$labels.reason" in summary or "$values." in summary, summary
    assert annotations["description"]
    runbook = annotations["runbook_url"]
    assert runbook.startswith("docs/dashboards.md#")
    anchor = runbook.partition("#")[2]
    headings = re.findall(r"^#+ (.+)$", DOCS.read_text(encoding="utf-8"), re.MULTILINE)
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
    assert anchor in anchors, f"{anchor} is no heading of docs/dashboards.md"


def test_rule_values_are_not_environment_variables() -> None:
    """Grafana replaces $VAR in provisioned labels and ${VAR} in annotations with the
    environment: a rule's text must hold neither."""
    for rule in _rules().values():
        for value in rule["labels"].values():
            assert "$" not in value
        for value in rule["annotations"].values():
            assert "${" not in value
