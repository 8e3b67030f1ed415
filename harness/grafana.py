"""The queries of deploy/grafana/ as Grafana and its ClickHouse datasource plugin send them to
the store (grafana-clickhouse-datasource 4.20.0, pinned in deploy/docker-compose.yml): the
plugin's macros and Grafana's template variables expanded the way they document it, over
the time range and interval Grafana computes. Used by tests/embedded/test_dashboards.py and
by the dashboard pictures (harness.pictures).

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
- the time range: the dashboard's default (`now-6h`, `now-6d/d` … `now/d`), or an alert rule's
  relative range; the interval as Grafana computes it (range / max data points, rounded to a
  "nice" step, at least the panel's minimum interval).

Variables take their first option, as Grafana does for a fresh dashboard (All where offered).
What cannot be expanded fails an `assert` with the query in its message.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness.pipeline import query

GRAFANA = Path(__file__).resolve().parents[1] / "deploy" / "grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"
DASHBOARDS = sorted(DASHBOARD_DIR.glob("*.json"))
PANEL_WIDTH_PX = 1600  # a full-width panel; Grafana's default max data points is its width


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


def default_range(board: dict, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The dashboard's default time range (`board["time"]`) at `now` (default: the current
    time, UTC)."""
    now = now or datetime.now(UTC)
    return (relative_time(board["time"]["from"], now, is_to=False),
            relative_time(board["time"]["to"], now, is_to=True))


def round_interval_ms(interval_ms: float) -> int:
    """Grafana's rangeutil.roundInterval: `interval_ms` rounded to a "nice" step (ms)."""
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

def call_args(text: str, open_paren: int) -> tuple[list[str], int]:
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
        args, end = call_args(sql, at + len(macro) - 1)
        assert len(args) == 2, f"$__conditionalAll takes 2 arguments: {args}"
        name = re.search(r"\$\{?(\w+)", args[1])
        assert name, f"second argument of $__conditionalAll is not a variable: {args[1]}"
        value = selections.get(name[1])
        sql = sql[:at] + ("1=1" if value in ("", "$__all", None) else args[0]) + sql[end:]
    return sql


def format_variable(value: object, fmt: str | None) -> str:
    """A variable's value (a list when several are selected) in Grafana's format `fmt`
    (`singlequote`, `sqlstring`, `csv`), or without one in the plugin's (`'a','b'`)."""
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
        return format_variable(values[name], match[3] or match[5])
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
            args, i = call_args(sql, match.end())
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


# --- Dashboards and their variables, on a running store --------------------------------------

def load_dashboard(path: Path) -> dict:
    """The dashboard JSON model in `path`."""
    return json.loads(path.read_text(encoding="utf-8"))


def run_sql(reader: dict, sql: str) -> tuple[list[dict], list[list]]:
    """Columns (name, type) and rows of `sql` on the store of `reader` (a running pipeline
    from harness.pipeline.running_pipeline, with the `auth` it is to query as)."""
    result = json.loads(query(reader, sql, fmt="JSONCompact"))
    return result["meta"], result["data"]


def variable_values(reader: dict, board: dict, start: datetime,
                    end: datetime) -> tuple[dict, dict]:
    """Each query variable's selection as Grafana makes it on a fresh dashboard (the first
    option; All where offered), and the values it expands to: (selections, values), as
    `expand` takes them. A variable without any option fails an `assert`."""
    selections: dict[str, object] = {}
    values: dict[str, object] = {}
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        sql = expand(variable["query"], start=start, end=end, interval_ms=60000,
                     selections=selections, values=values)
        _, rows = run_sql(reader, sql)
        options = [str(row[0]) for row in rows]
        assert options, f"variable {variable['name']} has no option"
        if variable.get("includeAll"):
            selections[variable["name"]] = "$__all"
            values[variable["name"]] = options
        else:
            selections[variable["name"]] = values[variable["name"]] = options[0]
    return selections, values
