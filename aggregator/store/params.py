"""Encode Python values as ClickHouse query-parameter text.

ClickHouse parses `{name:Type}` parameters from text, the same text the HTTP interface takes
as `param_name=…`. chDB takes that text too, so both the embedded store and the HTTP client
of `llmhealth status` go through `encode_param`. Values are never spliced into SQL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"})


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _inner(value: Any) -> str:
    """A value nested in an array or tuple: strings quoted, as in a SQL literal."""
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_inner(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_inner(k)}:{_inner(v)}" for k, v in value.items()) + "}"
    return encode_param(value)


def encode_param(value: Any) -> str:
    """The text form ClickHouse expects for a query parameter of a matching type.

    str → escaped as in TabSeparated (backslash, newline, tab, CR, NUL), not quoted; bool → 1/0; int/float → decimal
    (NaN/inf rejected); datetime → Unix seconds with fraction (timezone-aware required);
    list/tuple → `[…]` with quoted strings; dict → `{k:v,…}` (Map); None → `\\N` (for Nullable types).
    """
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"query parameter value {value!r} is not a finite number")
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetime query parameters must be timezone-aware")
        return f"{value.timestamp():.6f}"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, (list, tuple, dict)):
        return _inner(value)
    raise TypeError(f"unsupported query parameter type {type(value).__name__}")


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    return {name: encode_param(value) for name, value in (params or {}).items()}
