"""Every Grafana panel, annotation, variable and alert-rule query of deploy/grafana/ run against
the store of a real demo run (`llmhealth run`), as user `reader` (Grafana's user), after the
ClickHouse datasource plugin's macros and Grafana's template variables are expanded the way
they document it (grafana-clickhouse-datasource 4.20.0, pinned in deploy/docker-compose.yml):

- macros, expanded by the plugin's backend with the query's time range and interval:
  `$__timeFilter(c)` → `c >= toDateTime(from) AND c <= toDateTime(to)` (seconds),
  `$__timeFilter_ms(c)` (`fromUnixTimestamp64Milli(ms)`), `$__dateFilter(c)` (`toDate('…')`),
  `$__dateTimeFilter(d, t)` / `$__dt`, `$__fromTime`, `$__toTime` (`toDateTime(s)`),
  `$__fromTime_ms`, `$__toTime_ms`, `$__timeFrom(c)`, `$__timeTo(c)`,
  `$__timeInterval(c)` → `toStartOfInterval(toDateTime(c), INTERVAL n second)`,
  `$__timeInterval_ms(c)`, `$__timeGroup(c, 5m)`, `$__interval_s` (whole seconds, at least 1);
- `$__conditionalAll(condition, $var)`, expanded by the plugin's frontend first: `1=1` when the
  variable selects All (or nothing), else the condition;
- template variables, by Grafana: `$var`, `${var}`, `[[var]]`, `${var:singlequote}`,
  `${var:sqlstring}`, `${var:csv}`; a multi-value or All selection without a format becomes
  `'a','b'` (the plugin's format);
- the time range: the dashboard's default (`now-6h`, `now-6d/d` … `now/d`), or the alert rule's
  relative range; the interval as Grafana computes it (range / max data points, rounded to a
  "nice" step, at least the panel's minimum interval).

Variables take their first option, as Grafana does for a fresh dashboard (All where offered).
A panel passes when its query runs and returns at least one row, shaped for its format (a
time column for time series); an alert rule when its query runs, returns one numeric column
with unique label sets, and fires or stays quiet as the demo makes it.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from harness.pipeline import query, running_pipeline
from harness.ports import free_ports
from llmhealth_config.aggregator import AggregatorSettings

pytestmark = pytest.mark.embedded

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
RULES_FILE = GRAFANA / "provisioning" / "alerting" / "llmhealth.yaml"
MIN_DEMO_S = 35   # enough probes for quantiles, events and breakers
MAX_DEMO_S = 80   # the first minute boundary with data writes health_slo: at most ~70 s in
PANEL_WIDTH_PX = 1600  # a full-width panel; Grafana's default max data points is its width

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
    "llmhealth-slo-fast-burn": "fires",
    "llmhealth-slo-slow-burn": "fires",
    "llmhealth-storage-lag": "quiet",
    "llmhealth-aggregator-stalled": "quiet",
}


# --- Time range and interval, as Grafana computes them ---------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Grafana's rangeutil.roundInterval: an interval (ms) below the first bound becomes the second.
_NICE = [(15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
         (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000),
         (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000),
         (1050000, 900000), (1500000, 1200000), (2700000, 1800000), (5400000, 3600000),
         (9000000, 7200000), (16200000, 10800000), (32400000, 21600000),
         (86400000, 43200000), (604800000, 86400000), (1814400000, 604800000),
         (3628800000, 2592000000)]


def duration_s(text: str) -> float:
    """`30s`, `1m`, `6h`, `7d` in seconds."""
    match = re.fullmatch(r"(\d+)([smhdw])", text)
    assert match, f"not a duration: {text!r}"
    return int(match[1]) * _UNITS[match[2]]


def relative_time(text: str, now: datetime, *, is_to: bool) -> datetime:
    """Grafana's `now`, `now-6h`, `now-6d/d`, `now/d` (rounded to the day's start, or for the
    range's end to its end)."""
    match = re.fullmatch(r"now(?:-(\d+)([smhdw]))?(?:/([d]))?", text)
    assert match, f"unsupported relative time {text!r}"
    moment = now - timedelta(seconds=int(match[1] or 0) * _UNITS[match[2] or "s"])
    if match[3] == "d":
        moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if is_to:
            moment += timedelta(days=1, milliseconds=-1)
    return moment


def round_interval_ms(interval_ms: float) -> int:
    for bound, nice in _NICE:
        if interval_ms < bound:
            return nice
    return 31536000000


def panel_interval_ms(panel: dict, start: datetime, end: datetime) -> int:
    """Grafana's calculateInterval: range / max data points, rounded, at least the panel's
    minimum interval."""
    width = panel.get("maxDataPoints") or round(PANEL_WIDTH_PX * panel["gridPos"]["w"] / 24)
    interval = round_interval_ms((end - start).total_seconds() * 1000 / width)
    if panel.get("interval"):
        interval = max(interval, int(duration_s(panel["interval"]) * 1000))
    return interval


# --- The plugin's macros and Grafana's variables ---------------------------------------------

def _call_args(text: str, open_paren: int) -> tuple[list[str], int]:
    """Arguments of the call whose `(` is at `open_paren`, split at top-level commas, and the
    index after its `)`."""
    depth, args, current, i = 0, [], "", open_paren
    quote = None
    while True:
        i += 1
        assert i < len(text), f"unbalanced macro call in: {text[open_paren - 20:]}"
        char = text[i]
        if quote:
            current += char
            if char == "\\":
                i += 1
                current += text[i]
            elif char == quote:
                quote = None
            continue
        if char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                args.append(current.strip())
                return args, i + 1
            depth -= 1
        elif char == "," and depth == 0:
            args.append(current.strip())
            current = ""
            continue
        current += char


def conditional_all(sql: str, selections: dict[str, object]) -> str:
    """The plugin frontend's `$__conditionalAll(condition, $var)`: `1=1` when `var` selects
    All or nothing, else the condition."""
    macro = "$__conditionalAll("
    while (at := sql.rfind(macro)) != -1:
        args, end = _call_args(sql, at + len(macro) - 1)
        assert len(args) == 2, f"$__conditionalAll takes 2 arguments: {args}"
        name = re.search(r"\$\{?(\w+)", args[1])
        assert name, f"second argument of $__conditionalAll is not a variable: {args[1]}"
        value = selections.get(name[1])
        sql = sql[:at] + ("1=1" if value in ("", "$__all", None) else args[0]) + sql[end:]
    return sql


def _format(value: object, fmt: str | None) -> str:
    values = value if isinstance(value, list) else [value]
    if fmt == "singlequote":
        return ",".join("'" + str(v).replace("'", "\\'") + "'" for v in values)
    if fmt == "sqlstring":
        return ",".join("'" + str(v).replace("'", "''") + "'" for v in values)
    if fmt == "csv":
        return ",".join(map(str, values))
    assert fmt is None, f"format {fmt!r} is not expanded here"
    return "'" + "','".join(map(str, values)) + "'" if isinstance(value, list) else str(value)


def template_variables(sql: str, values: dict[str, object]) -> str:
    """Grafana's templateSrv.replace with the plugin's multi-value format. Names that are no
    variable of the dashboard (the plugin's `$__` macros) are left as they are."""
    def one(match: re.Match) -> str:
        name = match[1] or match[2] or match[4]
        if name not in values:
            return match[0]
        return _format(values[name], match[3] or match[5])
    pattern = r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}"
    return re.sub(pattern, one, sql)


def macros(sql: str, start: datetime, end: datetime, interval_ms: int) -> str:
    """The plugin backend's macros, for a query over [start, end] with interval `interval_ms`."""
    frm, to = int(start.timestamp()), int(end.timestamp())
    frm_ms, to_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    seconds = max(interval_ms // 1000, 1)

    def date(moment: datetime) -> str:
        return f"toDate('{moment.astimezone(UTC):%Y-%m-%d}')"

    def between(col: str, low: str, high: str) -> str:
        return f"{col} >= {low} AND {col} <= {high}"

    functions = {
        "timeFilter": lambda c: between(c, f"toDateTime({frm})", f"toDateTime({to})"),
        "timeFilter_ms": lambda c: between(c, f"fromUnixTimestamp64Milli({frm_ms})",
                                           f"fromUnixTimestamp64Milli({to_ms})"),
        "dateFilter": lambda c: between(c, date(start), date(end)),
        "dateTimeFilter": lambda d, t: (f"({between(d, date(start), date(end))}) AND "
                                        f"({between(t, f'toDateTime({frm})', f'toDateTime({to})')})"),
        "timeFrom": lambda c: f"{c} >= toDateTime({frm})",
        "timeTo": lambda c: f"{c} <= toDateTime({to})",
        "timeInterval": lambda c: f"toStartOfInterval(toDateTime({c}), INTERVAL {seconds} second)",
        "timeInterval_ms": lambda c: (f"toStartOfInterval(toDateTime64({c}, 3), "
                                      f"INTERVAL {max(interval_ms, 1)} millisecond)"),
        "timeGroup": lambda c, p: (f"toStartOfInterval(toDateTime({c}), "
                                   f"INTERVAL {int(duration_s(p.strip(chr(39) + chr(34))))} second)"),
    }
    functions["dt"] = functions["dateTimeFilter"]
    constants = {
        "fromTime": f"toDateTime({frm})", "toTime": f"toDateTime({to})",
        "fromTime_ms": f"fromUnixTimestamp64Milli({frm_ms})",
        "toTime_ms": f"fromUnixTimestamp64Milli({to_ms})",
        "interval_s": str(seconds),
    }
    out, i = "", 0
    for match in re.finditer(r"\$__(\w+)", sql):
        if match.start() < i:
            continue  # inside a call already expanded
        name = match[1]
        out += sql[i:match.start()]
        if name in functions:
            assert sql[match.end():match.end() + 1] == "(", f"${name} needs arguments"
            args, i = _call_args(sql, match.end())
            out += functions[name](*args)
        else:
            assert name in constants, f"macro $__{name} is not one the plugin expands"
            out += constants[name]
            i = match.end()
    return out + sql[i:]


def expand(sql: str, *, start: datetime, end: datetime, interval_ms: int,
           selections: dict[str, object], values: dict[str, object]) -> str:
    """What the plugin sends to ClickHouse for `sql`: conditionalAll (frontend), template
    variables (Grafana), then the macros (backend)."""
    expanded = macros(template_variables(conditional_all(sql, selections), values),
                      start, end, interval_ms)
    assert "$" not in re.sub(r"'(?:[^'\\]|\\.)*'", "", expanded), f"left unexpanded: {expanded}"
    return expanded


# --- Collecting the queries ------------------------------------------------------------------

def _dashboard(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _panel_params() -> list:
    params = []
    for path in DASHBOARDS:
        board = _dashboard(path)
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
    reads has rows: the first SLO row of demo-down (written at a minute's first instant)."""
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
                                         "AND burn_rate_5m IS NOT NULL") > 0
            except (AssertionError, httpx.HTTPError):
                ready = False  # the store is starting or migrating
            if ready and elapsed >= MIN_DEMO_S:
                break
            assert elapsed < MAX_DEMO_S, f"no SLO row after {elapsed:.0f} s: {pipeline['log'].read_text()}"
            time.sleep(2)
        yield {**pipeline, "auth": ("reader", pipeline["auth"][1])}


def _run(demo: dict, sql: str) -> tuple[list[dict], list[list]]:
    """Columns (name, type) and rows of `sql`, as Grafana's user `reader`."""
    result = json.loads(query(demo, sql, fmt="JSONCompact"))
    return result["meta"], result["data"]


def _variable_values(demo: dict, board: dict, start: datetime, end: datetime) -> tuple[dict, dict]:
    """Each query variable's selection as Grafana makes it on a fresh dashboard (the first
    option; All where offered), and the values it expands to."""
    selections: dict[str, object] = {}
    values: dict[str, object] = {}
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        sql = expand(variable["query"], start=start, end=end, interval_ms=60000,
                     selections=selections, values=values)
        _, rows = _run(demo, sql)
        options = [str(row[0]) for row in rows]
        assert options, f"variable {variable['name']} has no option"
        if variable.get("includeAll"):
            selections[variable["name"]] = "$__all"
            values[variable["name"]] = options
        else:
            selections[variable["name"]] = values[variable["name"]] = options[0]
    return selections, values


def _range(board: dict) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return (relative_time(board["time"]["from"], now, is_to=False),
            relative_time(board["time"]["to"], now, is_to=True))


NUMERIC = re.compile(r"^(Nullable\()?(U?Int\d+|Float\d+|Decimal.*|Bool)\)?$")
TIME = re.compile(r"^(Nullable\()?DateTime(64)?\b")
TEXT = re.compile(r"^(Nullable\()?(LowCardinality\()?String\)?\)?$")


@pytest.mark.parametrize(("path", "what", "key", "ref"), _panel_params())
def test_dashboard_query_returns_rows(demo: dict, path: Path, what: str, key: object,
                                      ref: str) -> None:
    board = _dashboard(path)
    start, end = _range(board)
    selections, values = _variable_values(demo, board, start, end)
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
    columns, rows = _run(demo, expand(sql, start=start, end=end, interval_ms=interval,
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
    columns, rows = _run(demo, sql)
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
