"""State timeline panels: one row of coloured bands per series, a value's colour from its
mapping."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from harness.pictures.axes import (
    annotation_strip,
    draw_legend,
    legend_height,
    panel_series,
    time_axis,
)
from harness.pictures.canvas import Canvas, color
from harness.pictures.fields import Frame, value_color


def draw_state_timeline(canvas: Canvas, panel: dict, frame: Frame, box: tuple, *,
                        start: datetime, end: datetime, annotations: list,
                        **_: object) -> None:
    """One row per series; each value coloured by its mapping from its time to the next
    point's (merged when equal), or for one step after the last."""
    import matplotlib.dates as mdates
    x0, y0, width, height = box
    series = sorted(panel_series(panel, frame), key=lambda s: s["name"])
    options = panel["options"]
    defaults = panel["fieldConfig"]["defaults"]
    alpha = defaults.get("custom", {}).get("fillOpacity", 70) / 100
    legend_items = []
    if options.get("legend", {}).get("showLegend", True):
        for mapping in defaults.get("mappings", []):
            for option in sorted(mapping["options"].values(), key=lambda o: o.get("index", 0)):
                legend_items.append((option["text"], color(option["color"]), "box"))
    legend_h = legend_height(canvas, [i[0] for i in legend_items], width) if legend_items else 0
    label_w = max(canvas.text_width(s["name"], 12) for s in series) + 16
    plot_h = height - legend_h - 34
    ax = canvas.axes(x0 + label_w, y0 + 6, width - label_w - 4, plot_h)
    time_axis(ax, start, end, width - label_w)
    ax.tick_params(axis="x", pad=12)
    ax.set_ylim(len(series), 0)
    ax.set_yticks([])
    row_h = options.get("rowHeight", 0.9)
    for n, s in enumerate(series):
        points = sorted((t, v) for t, v in s["points"] if v is not None)
        gaps = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(points)]
        step = min(gaps) if gaps else 60
        runs: list[list] = []  # [from, until, value], equal neighbours merged
        for k, (moment, value) in enumerate(points):
            nxt = points[k + 1][0] if k + 1 < len(points) else None
            until = nxt if nxt and (nxt - moment).total_seconds() <= 1.5 * step else \
                moment + timedelta(seconds=step)
            if runs and runs[-1][2] == value and runs[-1][1] == moment:
                runs[-1][1] = until
            else:
                runs.append([moment, until, value])
        for moment, until, value in runs:
            left, right = max(moment, start), min(until, end)
            if right <= left:
                continue
            ax.barh(n + 0.5, mdates.date2num(right) - mdates.date2num(left),
                    left=mdates.date2num(left), height=row_h, color=value_color(value, defaults),
                    alpha=alpha, lw=0, align="center")
        canvas.text(x0 + label_w - 8, y0 + 6 + plot_h * (n + 0.5) / len(series),
                    canvas.fit(s["name"], 12, label_w - 12), 12, ha="right")
    annotation_strip(canvas, ax, annotations, start, end)
    if legend_items:
        draw_legend(canvas, legend_items, x0 + label_w, y0 + height - legend_h + 2, width - label_w)
