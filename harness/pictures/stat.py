"""Stat panels: big numbers in their threshold or mapping colour, in Grafana's auto grid."""

from __future__ import annotations

import math
import re

from harness.pictures.canvas import TEXT, Canvas, contrast
from harness.pictures.fields import Frame, field_config, format_value, value_color


def _stat_values(panel: dict, frame: Frame) -> list[tuple[str, object, dict]]:
    """(name, value, field config) of each value the stat panel shows."""
    reduce = panel["options"].get("reduceOptions", {})
    pattern = reduce.get("fields") or ""
    numeric = [i for i in range(len(frame.names)) if frame.kind(i) == "number"]
    if pattern.startswith("/") and pattern.endswith("/"):
        numeric = [i for i in numeric if re.search(pattern[1:-1], frame.names[i])]
    strings = [i for i in range(len(frame.names)) if frame.kind(i) == "string"]
    values = []
    if reduce.get("values"):
        for row in frame.rows:
            for i in numeric:
                label = " ".join(str(row[j]) for j in strings) or frame.names[i]
                values.append((label, row[i], field_config(panel, frame.names[i])))
    else:
        for i in numeric:
            present = [v for v in frame.column(i) if v is not None]
            values.append((frame.names[i], present[-1] if present else None,
                           field_config(panel, frame.names[i])))
    return values


def _size_of_child(width: float, height: float, count: int) -> float:
    parts = math.ceil(math.sqrt(count * width / height))
    if math.floor(parts * height / width) * parts < count:
        return height / math.ceil(parts * height / width)
    return width / parts


def _grid(width: float, height: float, count: int) -> tuple[int, int]:
    """Grafana's calculateGridDimensions: columns and rows of a stat panel's auto layout."""
    square = max(_size_of_child(width, height, count), _size_of_child(height, width, count))
    columns = max(1, math.floor(width / square))
    rows = math.ceil(count / columns)
    return math.ceil(count / rows), rows


def draw_stat(canvas: Canvas, panel: dict, frame: Frame, box: tuple, **_: object) -> None:
    """Each value in a cell of Grafana's auto grid (or one per line when horizontal), its
    name above it, in its colour (or on it, with `colorMode: background`); every cell in the
    same font sizes, as Grafana aligns them."""
    options = panel["options"]
    values = _stat_values(panel, frame)
    x0, y0, width, height = box
    spacing = 8
    horizontal = options.get("orientation") == "horizontal"
    columns, rows = (1, len(values)) if horizontal else _grid(width, height, len(values))
    cell_h = (height - spacing * (rows - 1)) / rows
    text_opts = options.get("text", {})
    cells = []
    for n, (name, value, config) in enumerate(values):
        row, col = divmod(n, columns)
        in_row = min(columns, len(values) - row * columns)  # the last row's cells stretch
        cell_w = (width - spacing * (in_row - 1)) / in_row
        text = format_value(value, config)[0] or "No data"
        cells.append((x0 + col * (cell_w + spacing), y0 + row * (cell_h + spacing), cell_w,
                      name, text, value_color(value, config)))
    side_by_side = horizontal and all(c[2] > 2.5 * cell_h for c in cells)
    if side_by_side:  # name on the left, value on the right
        name_px, value_px = min(cell_h * 0.45, 18), min(cell_h * 0.7, 40)
    else:
        name_px = text_opts.get("titleSize") or min(max(cell_h * 0.14, 11), 18)
        value_px = text_opts.get("valueSize") or min(cell_h * 0.42, 44)
        value_px = min([value_px] + [(c[2] - 12) * 10 / max(canvas.text_width(c[4], 10, "bold"), 1)
                                     for c in cells])
        name_px = min(_wrap_name(canvas, c[3], name_px, c[2] - 10)[1] for c in cells)
    for x, y, cell_w, name, text, fill in cells:
        if options.get("colorMode") == "background":
            canvas.rect(x, y, cell_w, cell_h, fill, radius=3)
            name_fill = value_fill = contrast(fill)
        else:
            name_fill, value_fill = TEXT, fill
        if side_by_side:
            canvas.text(x + 10, y + cell_h / 2, canvas.fit(name, name_px, cell_w * 0.5),
                        name_px, fill=name_fill)
            canvas.text(x + cell_w - 10, y + cell_h / 2, text, value_px, fill=value_fill,
                        ha="right", weight="bold")
            continue
        lines, _ = _wrap_name(canvas, name, name_px, cell_w - 10)
        block = len(lines) * name_px * 1.25 + value_px * 1.3
        top = y + (cell_h - block) / 2
        for i, line in enumerate(lines):
            canvas.text(x + cell_w / 2, top + (i + 0.5) * name_px * 1.25, line, name_px,
                        fill=name_fill, ha="center")
        canvas.text(x + cell_w / 2, top + len(lines) * name_px * 1.25 + value_px * 0.65, text,
                    value_px, fill=value_fill, ha="center", weight="bold")


def _wrap_name(canvas: Canvas, name: str, px: float, width: float) -> tuple[list[str], float]:
    """A stat's name in a font made smaller to fit the width, as Grafana sizes a stat's
    title; a name that would need a font below 9 px goes on two lines, split after the `/`
    (or `_`) nearest its middle; cut with an ellipsis when still too long."""
    lines = [name]
    cuts = [i + 1 for i, char in enumerate(name) if char in "/_"]
    if canvas.text_width(name, px) * 9 / px > width and cuts:
        middle = min(cuts, key=lambda i: abs(i - len(name) / 2))
        lines = [name[:middle], name[middle:]]
    widest = max(canvas.text_width(line, px) for line in lines)
    px = max(min(px, 0.95 * px * width / widest), 7)
    return [canvas.fit(line, px, width) for line in lines], px
