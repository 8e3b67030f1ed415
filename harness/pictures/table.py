"""Table panels: text tables with Grafana's colour-background, colour-text and gauge cells."""

from __future__ import annotations

from harness.grafana import PANEL_WIDTH_PX
from harness.pictures.canvas import BORDER, TEXT, TEXT_DIM, Canvas, contrast
from harness.pictures.fields import Frame, field_config, format_value, threshold_color, value_color

ROW_H = 30  # px, a table row ("sm" cells, minus the picture's tighter padding)


def draw_table(canvas: Canvas, panel: dict, frame: Frame, box: tuple, **_: object) -> None:
    x0, y0, width, height = box
    configs = [field_config(panel, name) for name in frame.names]
    cells = [[format_value(v, configs[i])[0] for i, v in enumerate(row)] for row in frame.rows]
    for font in (12, 11, 10):  # a smaller font where the columns do not fit
        natural = []
        for i, name in enumerate(frame.names):
            wanted = max([canvas.text_width(name, font, "bold")] +
                         [canvas.text_width(row[i], font) for row in cells[:60]]) + 20
            if configs[i].get("custom", {}).get("cellOptions", {}).get("type") == "gauge":
                wanted = max(wanted, 160)
            if configs[i].get("custom", {}).get("width"):
                wanted = max(wanted, configs[i]["custom"]["width"] * width / PANEL_WIDTH_PX)
            natural.append(min(wanted, width * 0.6))
        if sum(natural) <= width:
            break
    widths = _share(natural, width)
    canvas.rect(x0, y0, width, ROW_H, "#1f2228")
    x = x0
    for i, name in enumerate(frame.names):
        align_right = frame.kind(i) == "number"
        canvas.text(x + widths[i] - 8 if align_right else x + 8, y0 + ROW_H / 2,
                    canvas.fit(name, font, widths[i] - 16, "bold"), font, fill=TEXT,
                    ha="right" if align_right else "left", weight="bold")
        x += widths[i]
    fits = int((height - ROW_H) // ROW_H)
    shown = frame.rows if len(frame.rows) <= fits else frame.rows[:max(fits - 1, 0)]
    for r, row in enumerate(shown):
        y = y0 + ROW_H * (r + 1)
        canvas.ax.plot([x0, x0 + width], [y, y], color=BORDER, lw=0.8)
        x = x0
        for i, value in enumerate(row):
            _cell(canvas, frame, i, value, cells[r][i], configs[i], (x, y, widths[i], ROW_H),
                  font)
            x += widths[i]
    if len(shown) < len(frame.rows):
        y = y0 + ROW_H * (len(shown) + 1)
        canvas.ax.plot([x0, x0 + width], [y, y], color=BORDER, lw=0.8)
        canvas.text(x0 + 8, y + ROW_H / 2,
                    f"… {len(frame.rows) - len(shown)} more rows (scrolled in Grafana)", font,
                    fill=TEXT_DIM)


def _share(natural: list[float], width: float) -> list[float]:
    """Column widths: each its natural width when they fit (the rest shared out in
    proportion), else the widest cut down to an equal share of what is left."""
    total = sum(natural)
    if total <= width:
        return [w * width / total for w in natural]
    widths = list(natural)
    left, open_ = width, sorted(range(len(natural)), key=lambda i: natural[i])
    while open_:
        share = left / len(open_)
        i = open_[0]
        if natural[i] <= share:
            widths[i] = natural[i]
            left -= natural[i]
            open_.pop(0)
        else:
            for j in open_:
                widths[j] = share
            break
    return widths


def _cell(canvas: Canvas, frame: Frame, i: int, value: object, text: str, config: dict,
          rect: tuple, font: float) -> None:
    x, y, w, h = rect
    cell_type = config.get("custom", {}).get("cellOptions", {}).get("type", "auto")
    fill = TEXT
    if cell_type == "color-background" and value is not None:
        background = value_color(value, config)
        canvas.rect(x + 1, y + 1, w - 2, h - 2, background)
        fill = contrast(background)
    elif cell_type == "color-text" and value is not None:
        fill = value_color(value, config)
    elif cell_type == "gauge" and isinstance(value, float):  # Grafana's basic gauge cell
        low, high = config.get("min", 0), config.get("max", 1)
        share = min(max((value - low) / ((high - low) or 1), 0), 1)
        bar_w = w - 16 - canvas.text_width("100.0%", font) - 8
        canvas.rect(x + 8, y + 8, bar_w, h - 16, "#2c3038")
        canvas.rect(x + 8, y + 8, max(bar_w * share, 2), h - 16, threshold_color(value, config))
        canvas.text(x + w - 8, y + h / 2, text, font, fill=threshold_color(value, config),
                    ha="right")
        return
    right = frame.kind(i) == "number" and not config.get("mappings")
    canvas.text(x + w - 8 if right else x + 8, y + h / 2, canvas.fit(text, font, w - 16), font,
                fill=fill, ha="right" if right else "left")
