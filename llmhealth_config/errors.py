"""How configuration problems are raised: ConfigError for the operator, and the located
errors that cross-field validators raise so that the loader can name the offending key."""

from __future__ import annotations

from pydantic_core import PydanticCustomError

RULE = "config_rule"
"""The error type of `rule_error`; the loader reads `at` and `first` from its context."""

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """A configuration problem, phrased for the operator (file, line, key, what to do)."""


def format_loc(loc: Loc) -> str:
    """A key path as written in messages: `targets[1].thresholds.latency_p99`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def rule_error(message: str, at: Loc, first: Loc | None = None) -> PydanticCustomError:
    """A validation error of a rule that spans several keys, placed on one of them.

    `at` is the path of the offending key, relative to the model whose validator raises it.
    `first` (same base) is the earlier key that the offending one clashes with: `{first}` in
    `message` becomes its key path, which the loader turns into "line N" when the key is
    in the file. Without the loader (a Config built in code) the message keeps the key path.
    """
    context: dict[str, object] = {"at": at}
    if first is not None:
        context |= {"first": format_loc(first), "first_at": first}
    return PydanticCustomError(RULE, message, context)
