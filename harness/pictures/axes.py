"""What time series and state timelines share: the series Grafana makes of a query result,
the time axis, the legend and the annotation markers under the plot."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from harness.pictures.canvas import TEXT, Canvas, color
from harness.pictures.fields import Frame, field_config


def panel_series(panel: dict, frame: Frame) -> list[dict]:
    """Grafana's long-to-wide conversion: one series per numeric column and combination of
    the string columns (labels), named like Grafana names them (`p50 completion`)."""
    times = [i for i in range(len(frame.names)) if frame.kind(i) == "time"]
    t = times[0]
    labels = [i for i in range(len(frame.names)) if frame.kind(i) == "string"]
    numbers = [i for i in range(len(frame.names)) if frame.kind(i) == "number" and i != t]
    series: dict[tuple, dict] = {}
    for row in frame.rows:
        for i in numbers:
            key = (frame.names[i], tuple(row[j] for j in labels))
            if key not in series:
                config = field_config(panel, frame.names[i])
                label_values = {frame.names[j]: row[j] for j in labels}
                name = " ".join([frame.names[i], *[str(v) for v in label_values.values()]])
                display = config.get("displayName")
                if display:
                    name = re.sub(r"\$\{__field\.labels\.(\w+)\}",
                                  lambda m, lv=label_values: str(lv.get(m[1], "")), display)
                series[key] = {"name": name, "field": frame.names[i], "config": config,
                               "points": []}
            series[key]["points"].append((row[t], row[i]))
    return list(series.values())


TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
              43200, 86400, 172800, 604800]


def time_axis(ax, start: datetime, end: datetime, width_px: float) -> None:
    """Ticks on whole steps of UTC time, about one per 110 px, formatted as Grafana does:
    `15:26:30` under a minute, `15:26` under a day, `12/05` for days."""
    import matplotlib.dates as mdates
    ax.set_xlim(mdates.date2num(start), mdates.date2num(end))
    span = (end - start).total_seconds()
    most = max(2, int(width_px // 110))
    step = next((s for s in TIME_STEPS if span / s <= most), TIME_STEPS[-1])
    first = math.ceil(start.timestamp() / step) * step
    ticks = [datetime.fromtimestamp(t, UTC) for t in range(first, int(end.timestamp()) + 1, step)]
    fmt = "%H:%M:%S" if step < 60 else "%H:%M" if step < 86400 else "%m/%d"
    if 60 <= step < 86400 and span > 86400:
        fmt = "%m/%d %H:%M"
    ax.set_xticks(mdates.date2num(ticks))
    ax.set_xticklabels([f"{t:{fmt}}" for t in ticks])


def draw_legend(canvas: Canvas, items: list[tuple[str, str, str]], x: float, y: float,
            width: float) -> None:
    """Legend items (name, colour, style: line, dash or box) in rows from (x, y)."""
    cx, cy = x, y
    for name, fill, style in items:
        item_w = canvas.text_width(name, 12) + 30
        if cx + item_w > x + width and cx > x:
            cx, cy = x, cy + LEGEND_ROW
        if style == "box":
            canvas.rect(cx, cy + 5, 12, 10, fill, radius=1)
        else:
            canvas.ax.plot([cx, cx + 14], [cy + 10, cy + 10], color=fill, lw=2.5,
                           linestyle=(0, (2, 1.5)) if style == "dash" else "-",
                           solid_capstyle="round")
        canvas.text(cx + 20, cy + 10, name, 12, fill=TEXT)
        cx += item_w + 8


LEGEND_ROW = 20


def legend_height(canvas: Canvas, names: list[str], width: float) -> float:
    rows, cx = 1, 0.0
    for name in names:
        item_w = canvas.text_width(name, 12) + 38
        if cx + item_w > width and cx > 0:
            rows, cx = rows + 1, 0.0
        cx += item_w
    return rows * LEGEND_ROW


def annotation_strip(canvas: Canvas, ax, annotations: list, start: datetime,
                      end: datetime) -> None:
    """The dashboard's query annotations, as Grafana marks them: a dashed line and a marker
    under the plot at each event, a bar under the plot along each region (`timeEnd`)."""
    import matplotlib.dates as mdates
    from matplotlib.patches import Rectangle
    px = 1 / ax.get_window_extent().height  # one pixel in the axes' height
    for anno, frame in annotations:
        if not frame.rows or "time" not in frame.names:
            continue
        fill = color(anno["iconColor"])
        t_i = frame.names.index("time")
        end_i = frame.names.index("timeEnd") if "timeEnd" in frame.names else None
        for row in frame.rows:
            moment = row[t_i]
            until = row[end_i] if end_i is not None else None
            if until and until > moment:
                left, right = mdates.date2num(max(moment, start)), mdates.date2num(min(until, end))
                if right > left:
                    ax.add_patch(Rectangle((left, -9 * px), right - left, 6 * px, color=fill,
                                           alpha=0.55, lw=0, clip_on=False,
                                           transform=ax.get_xaxis_transform()))
            elif start <= moment <= end:
                ax.axvline(mdates.date2num(moment), color=fill, lw=1, alpha=0.7,
                           linestyle=(0, (3, 3)))
                ax.plot([mdates.date2num(moment)], [-6 * px], marker="^", color=fill,
                        markersize=6, transform=ax.get_xaxis_transform(), clip_on=False)
