"""Time series panels: line or bar charts, stacked where the panel stacks, with the value
axis in the field's unit."""

from __future__ import annotations

import math
from datetime import datetime

from harness.pictures.axes import (
    annotation_strip,
    draw_legend,
    legend_height,
    panel_series,
    time_axis,
)
from harness.pictures.canvas import CLASSIC, GRID_LINE, Canvas, color
from harness.pictures.fields import Frame, format_value


def _step_decimals(step: float) -> int:
    """The decimals that show ticks `step` apart."""
    if step <= 0 or not math.isfinite(step):
        return 0
    for dec in range(9):
        scaled = step * 10 ** dec
        if abs(scaled - round(scaled)) <= 1e-6 * max(1.0, scaled):
            return dec
    return 9


def _tick_labels(ticks: list[float], config: dict) -> list[str]:
    """Axis labels in the field's unit, with as many decimals as the tick step needs (as
    Grafana's axes do), not each value's own."""
    unit = config.get("unit")
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 0
    axis = {k: v for k, v in config.items() if k not in ("mappings", "decimals")}
    labels = []
    for tick in ticks:
        scale = {"percentunit": 100}.get(unit, 1)
        if unit == "s":
            scale = 1000 if abs(tick) < 1 else 1 if abs(tick) < 60 else 1 / 60
        elif unit == "ms":
            scale = 1 if abs(tick) < 1000 else 1 / 1000
        labels.append(format_value(float(tick), {**axis, "decimals": _step_decimals(step * scale)
                                                 if tick else 0})[0])
    return labels


def draw_timeseries(canvas: Canvas, panel: dict, frame: Frame, box: tuple, *, start: datetime,
                    end: datetime, annotations: list, **_: object) -> None:
    import matplotlib.dates as mdates
    import numpy as np
    from matplotlib.ticker import MaxNLocator
    x0, y0, width, height = box
    series = panel_series(panel, frame)
    defaults = panel["fieldConfig"]["defaults"]
    custom = defaults.get("custom", {})
    stacked = custom.get("stacking", {}).get("mode") == "normal"
    bars = custom.get("drawStyle") == "bars"
    colors = []
    for n, s in enumerate(series):
        fixed = s["config"].get("color", {})
        colors.append(color(fixed["fixedColor"]) if fixed.get("mode") == "fixed"
                      else CLASSIC[n % len(CLASSIC)])
    # what each series draws: x, lower edge, upper edge (stacked on the series before it)
    times = sorted({t for s in series for t, _ in s["points"]})
    index = {t: i for i, t in enumerate(times)}
    base = np.zeros(len(times))
    shapes = []
    for s in series:
        if stacked:
            values = np.zeros(len(times))
            for t, v in s["points"]:
                values[index[t]] = v or 0.0
            shapes.append((mdates.date2num(times), base.copy(), base + values))
            base = base + values
        else:
            kept = [(t, v) for t, v in s["points"] if v is not None]
            ys = np.array([v for _, v in kept], dtype=float)
            shapes.append((mdates.date2num([t for t, _ in kept]), np.zeros(len(ys)), ys))
    highs = [float(v) for _, _, ys in shapes for v in ys if math.isfinite(v)]
    lows = [float(v) for _, ys, _ in shapes for v in ys] + highs
    lo = defaults.get("min", min([0.0, *lows]))
    hi = defaults.get("max")
    legend_h = legend_height(canvas, [s["name"] for s in series], width)
    plot_h = height - legend_h - 34
    locator = MaxNLocator(nbins=max(2, int(plot_h // 40)), min_n_ticks=2)
    if hi is None:
        top = max(highs, default=0.0)
        top = top * 1.02 if top > lo else lo + 1  # a little headroom; 0 to 1 when all equal
        hi = min((t for t in locator.tick_values(lo, top) if t >= top), default=top)
    ticks = [t for t in locator.tick_values(lo, hi) if lo - 1e-12 <= t <= hi + 1e-12]
    labels = _tick_labels(ticks, defaults)
    label_w = max(canvas.text_width(label, 11) for label in labels) + 14
    ax = canvas.axes(x0 + label_w, y0 + 6, width - label_w - 4, plot_h)
    time_axis(ax, start, end, width - label_w)
    ax.set_ylim(lo, hi)
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels)
    ax.grid(True, color=GRID_LINE, lw=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(axis="x", pad=12)
    for s, fill, (xs, low, ys) in zip(series, colors, shapes, strict=True):
        style = s["config"].get("custom", {})
        alpha = style.get("fillOpacity", custom.get("fillOpacity", 0)) / 100
        if bars:  # a day's bar, centred on its time (Grafana's default bar alignment)
            ax.bar(xs, ys - low, bottom=low, width=0.6, color=fill, alpha=max(alpha, 0.2),
                   edgecolor=fill, lw=1, align="center")
            continue
        dashed = style.get("lineStyle", {}).get("fill") == "dash"
        ax.plot(xs, ys, color=fill, lw=1.3, linestyle=(0, (6, 4)) if dashed else "-")
        if alpha:
            ax.fill_between(xs, low, ys, color=fill, alpha=alpha, lw=0)
    annotation_strip(canvas, ax, annotations, start, end)
    draw_legend(canvas, [(s["name"], c, "dash" if s["config"].get("custom", {}).get("lineStyle")
                      else "line") for s, c in zip(series, colors, strict=True)],
            x0 + label_w, y0 + height - legend_h + 2, width - label_w)
