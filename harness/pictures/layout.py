"""A dashboard's picture: panels placed by their gridPos on Grafana's 24-column grid, each
framed and titled like Grafana's and drawn by its type's drawer; the header (breadcrumbs,
time picker, variables, links) and the footer saying what the picture is."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from harness.grafana import PANEL_WIDTH_PX
from harness.pictures.canvas import BG, BORDER, NAMED, PANEL_BG, TEXT_DIM, Canvas
from harness.pictures.fields import Frame
from harness.pictures.stat import draw_stat
from harness.pictures.table import draw_table
from harness.pictures.timeline import draw_state_timeline
from harness.pictures.timeseries import draw_timeseries

CANVAS_W = PANEL_WIDTH_PX + 32  # px; a full-width panel is PANEL_WIDTH_PX wide, as in the tests
PAD = 16                         # dashboard padding
CELL_H, GAP = 30, 8              # Grafana's grid: 30 px rows, 8 px between panels
HEADER_H = 92
FOOTER_H = 28

DRAWERS = {"stat": draw_stat, "table": draw_table, "timeseries": draw_timeseries,
           "state-timeline": draw_state_timeline}
TIME_PANELS = {"timeseries", "state-timeline"}


def draw_dashboard(board: dict, entry: dict, data: dict, path: Path) -> None:
    """One PNG of `board` from the query results `entry`."""
    store_tz = data.get("store_timezone") or "UTC"
    start, end = (datetime.fromisoformat(entry[k]) for k in ("start", "end"))
    unit_w = (CANVAS_W - 2 * PAD + GAP) / 24
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
    height = HEADER_H + bottom * (CELL_H + GAP) + FOOTER_H
    canvas = Canvas(CANVAS_W, height)
    _header(canvas, board, entry)
    annotations = [(a, Frame(a, store_tz)) for a in entry["annotations"]]
    for panel in board["panels"]:
        grid = panel["gridPos"]
        x = PAD + grid["x"] * unit_w
        y = HEADER_H + grid["y"] * (CELL_H + GAP)
        w = grid["w"] * unit_w - GAP
        h = grid["h"] * (CELL_H + GAP) - GAP
        canvas.rect(x, y, w, h, PANEL_BG, BORDER, radius=2)
        canvas.text(x + 8, y + 16, canvas.fit(panel["title"], 14, w - 16, "bold"), 14,
                    weight="bold")
        results = entry["panels"].get(str(panel["id"]), [])
        frames = [Frame(r, store_tz) for r in results]
        box = (x + 8, y + 32, w - 16, h - 40)
        errors = [f.error for f in frames if f.error]
        if errors:
            canvas.text(box[0] + box[2] / 2, box[1] + box[3] / 2,
                        canvas.fit("Query error: " + errors[0], 12, box[2]), 12,
                        fill=NAMED["red"], ha="center")
            continue
        if not frames or not any(f.rows for f in frames):
            canvas.text(box[0] + box[2] / 2, box[1] + box[3] / 2, "No data", 14,
                        fill=TEXT_DIM, ha="center")
            continue
        drawer = DRAWERS.get(panel["type"])
        problem = (f"panel type {panel['type']} is not drawn here" if drawer is None else
                   "Data does not have a time field" if panel["type"] in TIME_PANELS and
                   not any(frames[0].kind(i) == "time" for i in range(len(frames[0].names)))
                   else None)
        if problem:
            canvas.text(box[0] + box[2] / 2, box[1] + box[3] / 2, problem, 14, fill=TEXT_DIM,
                        ha="center")
            continue
        drawer(canvas, panel, frames[0], box, start=start, end=end, annotations=annotations)
    collected = datetime.fromisoformat(data["collected_at"])
    canvas.text(CANVAS_W - PAD, height - FOOTER_H / 2,
                "Drawn by python -m harness.pictures from the panels' query results on a demo "
                f"run ({collected:%Y-%m-%d %H:%M} UTC), not a screenshot of Grafana", 11,
                fill=TEXT_DIM, ha="right")
    canvas.save(path)


def _header(canvas: Canvas, board: dict, entry: dict) -> None:
    canvas.text(PAD, 24, "Dashboards  ›  llmhealth  ›  ", 13, fill=TEXT_DIM)
    crumbs = canvas.text_width("Dashboards  ›  llmhealth  ›  ", 13)
    canvas.text(PAD + crumbs, 24, board["title"], 15, weight="bold")
    # the time picker
    label = entry["range_label"]
    picker = canvas.text_width(label, 12) + 60
    canvas.rect(CANVAS_W - PAD - picker, 10, picker, 28, PANEL_BG, BORDER, radius=2)
    canvas.text(CANVAS_W - PAD - picker + 10, 24, "◷ " + label + "   UTC", 12)
    # variables and the dashboards' link menu
    x = PAD
    for variable in board["templating"]["list"]:
        if variable.get("hide"):
            continue
        name = variable.get("label") or variable["name"]
        if variable["type"] == "datasource":
            value = "llmhealth"
        else:
            value = entry["variables"].get(variable["name"], "")
            value = "All" if isinstance(value, list) else str(value)
        name_w = canvas.text_width(name, 12) + 16
        value_w = canvas.text_width(value, 12) + 34
        canvas.rect(x, 52, name_w, 28, "#22252b", BORDER, radius=2)
        canvas.text(x + 8, 66, name, 12)
        canvas.rect(x + name_w, 52, value_w, 28, BG, BORDER, radius=2)
        canvas.text(x + name_w + 8, 66, value + "  ▾", 12)
        x += name_w + value_w + 8
    for link in board.get("links", []):
        width = canvas.text_width(link["title"], 12) + 34
        canvas.rect(x, 52, width, 28, "#22252b", BORDER, radius=2)
        canvas.text(x + 8, 66, link["title"] + "  ▾", 12)
        x += width + 8
