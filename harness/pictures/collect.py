"""The panel data of the pictures: a demo run (`llmhealth run` with the built-in demo) and
every dashboard's panel and annotation queries on it, as Grafana's user `reader`; the result
is what `--save-data` writes and `--from-data` reads (JSON)."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness.grafana import (
    DASHBOARDS,
    PANEL_WIDTH_PX,
    default_range,
    expand,
    load_dashboard,
    panel_interval_ms,
    round_interval_ms,
    run_sql,
    variable_values,
)
from harness.pipeline import running_pipeline

READY_SQL = "SELECT count() FROM health_snapshots"


def _range_label(text_from: str, text_to: str) -> str:
    """Grafana's name for a relative range, e.g. `Last 6 hours`."""
    names = {"m": "minute", "h": "hour", "d": "day", "w": "week", "s": "second"}
    match = re.fullmatch(r"now-(\d+)([smhdw])", text_from)
    if match and text_to == "now":
        n = int(match[1])
        return f"Last {n} {names[match[2]]}{'s' if n != 1 else ''}"
    if (text_from, text_to) == ("now-6d/d", "now/d"):
        return "Last 7 days (whole UTC days)"
    return f"{text_from} to {text_to}"


def _ends_now(board: dict) -> bool:
    return board["time"]["to"] == "now" and "/" not in board["time"]["from"]


def collect(reader: dict, demo_start: datetime, range_mode: str, target: str | None) -> dict:
    """Every dashboard's panel and annotation query results, as Grafana's user `reader`."""
    now = datetime.now(UTC)
    timezone = run_sql(reader, "SELECT timezone()")[1][0][0]
    boards = []
    for path in DASHBOARDS:
        board = load_dashboard(path)
        default_label = _range_label(board["time"]["from"], board["time"]["to"])
        if range_mode == "demo" and _ends_now(board):
            start, end = demo_start, now
            minutes = max(1, round((end - start).total_seconds() / 60))
            label = f"Last {minutes} minutes: the demo run (default: {default_label})"
        else:
            start, end = default_range(board, now)
            label = default_label
        selections, values = variable_values(reader, board, start, end)
        if target and "target" in values and not isinstance(values["target"], list):
            selections["target"] = values["target"] = target
        panels: dict[str, list] = {}
        for panel in board["panels"]:
            interval = panel_interval_ms(panel, start, end)
            results = []
            for tgt in panel.get("targets", []):
                results.append({"refId": tgt["refId"], "format": tgt.get("format"),
                                "interval_ms": interval,
                                **_query(reader, tgt["rawSql"], start, end, interval,
                                         selections, values)})
            panels[str(panel["id"])] = results
        annotations = []
        for anno in board["annotations"]["list"]:
            if not anno.get("target", {}).get("rawSql") or not anno.get("enable", True):
                continue
            interval = round_interval_ms((end - start).total_seconds() * 1000 / PANEL_WIDTH_PX)
            annotations.append({"name": anno["name"], "iconColor": anno.get("iconColor", "red"),
                                **_query(reader, anno["target"]["rawSql"], start, end, interval,
                                         selections, values)})
        boards.append({"file": path.name, "start": start.isoformat(), "end": end.isoformat(),
                       "range_label": label, "variables": values, "panels": panels,
                       "annotations": annotations})
        print(f"queried {path.name}", flush=True)
    return {"collected_at": now.isoformat(), "store_timezone": timezone,
            "demo_start": demo_start.isoformat(), "dashboards": boards}


def _query(reader: dict, sql: str, start: datetime, end: datetime, interval: int,
           selections: dict, values: dict) -> dict:
    try:
        columns, rows = run_sql(reader, expand(sql, start=start, end=end, interval_ms=interval,
                                                selections=selections, values=values))
    except Exception as error:  # noqa: BLE001 - drawn in the panel, as Grafana shows it
        return {"columns": [], "rows": [], "error": str(error)[:300]}
    return {"columns": columns, "rows": rows, "error": None}


def demo_data(minutes: float, range_mode: str, target: str | None) -> dict:
    """Start the demo in a temporary directory, wait `minutes`, query every dashboard."""
    with tempfile.TemporaryDirectory(prefix="llmhealth-dashboards-") as tmp, \
            running_pipeline(Path(tmp)) as pipeline:
        demo_start = datetime.now(UTC) - timedelta(seconds=time.monotonic() - pipeline["started"])
        reader = {**pipeline, "auth": ("reader", pipeline["auth"][1])}
        wait_s = minutes * 60
        print(f"demo run started (log: {pipeline['log']}); collecting {minutes:g} min of data",
              flush=True)
        last_note = 0.0
        while (elapsed := time.monotonic() - pipeline["started"]) < wait_s:
            if pipeline["process"].poll() is not None:
                sys.exit("the demo run exited:\n" + pipeline["log"].read_text()[-4000:])
            if elapsed - last_note >= 30:
                print(f"  {elapsed:.0f} s of {wait_s:.0f} s", flush=True)
                last_note = elapsed
            time.sleep(2)
        deadline = time.monotonic() + 60
        while True:  # the store answers and the aggregator has written snapshots
            with contextlib.suppress(Exception):  # the store is still starting
                if int(run_sql(reader, READY_SQL)[1][0][0]) > 0:
                    break
            if time.monotonic() > deadline:
                sys.exit("the demo run wrote no snapshot:\n" + pipeline["log"].read_text()[-4000:])
            time.sleep(2)
        data = collect(reader, demo_start, range_mode, target)
        # a clean stop (SIGTERM: the prober first, then the collector, the store last)
        pipeline["process"].terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):  # running_pipeline kills the rest
            pipeline["process"].wait(30)
    return data
