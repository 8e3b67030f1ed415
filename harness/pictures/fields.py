"""Grafana's fields: a query result as typed columns (`Frame`), a panel's field config for a
column, and how Grafana shows a value (units, decimals, value mappings, threshold colours)."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime

from harness.pictures.canvas import color

DEFAULT_THRESHOLDS = {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                    {"color": "red", "value": 80}]}

NUMERIC = re.compile(r"^(Nullable\()?(U?Int\d+|Float\d+|Decimal.*)\)?$")
BOOL = re.compile(r"^(Nullable\()?Bool\)?$")
TIMETYPE = re.compile(r"^(Nullable\()?(DateTime(64)?|Date32|Date)\b")


def field_config(panel: dict, name: str) -> dict:
    """The panel's field config for the field `name`: defaults, then overrides byName."""
    config = json.loads(json.dumps(panel.get("fieldConfig", {}).get("defaults", {})))
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        if override["matcher"] == {"id": "byName", "options": name}:
            for prop in override["properties"]:
                keys = prop["id"].split(".")
                node = config
                for key in keys[:-1]:
                    node = node.setdefault(key, {})
                node[keys[-1]] = prop["value"]
    return config


class Frame:
    """One query result: columns and rows converted to Python values (times in UTC)."""

    def __init__(self, result: dict, store_tz: str) -> None:
        from zoneinfo import ZoneInfo
        self.error = result.get("error")
        self.names = [c["name"] for c in result.get("columns", [])]
        self.types = [c["type"] for c in result.get("columns", [])]
        zones = []
        for kind in self.types:
            tz = re.search(r"'([^']+)'", kind) if TIMETYPE.match(kind) else None
            zones.append(ZoneInfo(tz[1] if tz else store_tz))
        self.rows = [[self._value(v, t, z) for v, t, z in zip(row, self.types, zones, strict=True)]
                     for row in result.get("rows", [])]

    @staticmethod
    def _value(value: object, kind: str, zone: object) -> object:
        if value is None:
            return None
        if NUMERIC.match(kind):
            return float(value)
        if BOOL.match(kind):
            return bool(value)
        if TIMETYPE.match(kind):
            text = str(value)
            if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
                return date.fromisoformat(text)  # a Date column (a UTC day)
            return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)
        return value

    def kind(self, i: int) -> str:
        t = self.types[i]
        if TIMETYPE.match(t):
            return "time"
        if NUMERIC.match(t) or BOOL.match(t):
            return "number"
        return "string"

    def column(self, i: int) -> list:
        return [row[i] for row in self.rows]


def _decimals(value: float) -> int:
    """Grafana's getDecimalsForValue."""
    if value == 0 or not math.isfinite(value):
        return 0
    dec = -math.floor(math.log10(abs(value))) + 2
    return 0 if value % 1 == 0 else max(0, dec)


def _fixed(value: float, decimals: int | None) -> str:
    """Grafana's toFixed, with its automatic decimals when `decimals` is None."""
    if not math.isfinite(value):
        return str(value)
    dec = _decimals(value) if decimals is None else decimals
    return f"{round(value, dec):.{dec}f}"  # padded to `dec` digits, as Grafana does: 0.320


def format_value(value: object, config: dict) -> tuple[str, str | None]:
    """The text and colour Grafana shows for `value` with field config `config`."""
    for mapping in config.get("mappings", []):
        if mapping.get("type") == "value" and value is not None:
            key = str(value).lower() if isinstance(value, bool) else (
                str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))
            option = mapping["options"].get(key)
            if option:
                text = option.get("text")
                if text is None:
                    text, _ = format_value(value, {k: v for k, v in config.items() if k != "mappings"})
                return text, color(option["color"]) if option.get("color") else None
    if value is None:
        return "", None
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}", None
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}", None
    if isinstance(value, bool):
        return str(value).lower(), None
    if not isinstance(value, float):
        return str(value), None
    decimals = config.get("decimals")
    unit = config.get("unit")
    if unit == "percentunit":
        text = _fixed(value * 100, decimals) + "%"
    elif unit == "currencyUSD":
        text = ("-" if value < 0 else "") + "$" + _fixed(abs(value), decimals)
    elif unit == "s":
        text = _seconds(value, decimals)
    elif unit == "ms":
        text = _fixed(value, decimals) + " ms" if abs(value) < 1000 else \
            _seconds(value / 1000, decimals)
    else:
        text = _fixed(value, decimals)
    return text, None


def _seconds(value: float, decimals: int | None) -> str:
    """Grafana's `s` unit: ms below a second, min, hour, day, week above a minute."""
    size = abs(value)
    if size < 1:
        return _fixed(value * 1000, decimals) + " ms"
    for limit, divisor, name in ((60, 1, "s"), (3600, 60, "min"), (86400, 3600, "hour"),
                                 (604800, 86400, "day"), (float("inf"), 604800, "week")):
        if size < limit:
            return _fixed(value / divisor, decimals) + " " + name
    return str(value)


def threshold_color(value: object, config: dict) -> str:
    thresholds = config.get("thresholds") or DEFAULT_THRESHOLDS
    chosen = thresholds["steps"][0]["color"]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for step in thresholds["steps"][1:]:
            if step["value"] is not None and value >= step["value"]:
                chosen = step["color"]
    return color(chosen)


def value_color(value: object, config: dict) -> str:
    """The colour of a value: its mapping's, a fixed colour, or its threshold's."""
    _, mapped = format_value(value, config)
    if mapped:
        return mapped
    mode = config.get("color", {}).get("mode", "thresholds")
    if mode == "fixed":
        return color(config["color"].get("fixedColor"))
    return threshold_color(value, config)
