"""Applications' requests (passive traffic) at one evaluation instant: the request sources
stored recently, matched to targets (aggregator/passive_match.py) and their error.type values
mapped onto outcomes (aggregator/passive_outcome.py), handed to the SQL as parameters; and the
minute, hour and day counts of health_passive, written at each minute's first instant.

The SQL receives the matches as parallel arrays (source → target), so its cost grows with the
number of request sources seen, not with the number of targets.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from aggregator import sql
from aggregator.passive_match import Source, match
from aggregator.passive_outcome import outcomes
from aggregator.store.base import Store
from llmhealth_config.target import Target

RECOMPUTED_MINUTES = 10
"""health_passive minute rows are computed again at each minute's first instant for this many
complete minutes: an application's points stored up to 10 minutes late still count in their
minute (and in its hour and day)."""

Rows = Callable[[str, dict], list[dict]]


def read_from(at: datetime, short_max: int, lookback: int) -> datetime:
    """Where the raw points read at `at` start: the longest short window or the recomputed
    minutes (and the minute of `at`), whichever is longer, plus `lookback` for the bases of
    cumulative series."""
    span = max(short_max, (RECOMPUTED_MINUTES + 1) * 60)
    return at - timedelta(seconds=span + lookback)


def params(rows: Rows, at: datetime, since: datetime,
           targets: list[tuple[str, Target]]) -> dict:
    """The passive parameters of evaluate_windows.sql and evaluate_passive.sql at `at`: every
    request source stored in (`since`, `at`] with the target it counts for ('' and the
    candidates for none), and every error.type seen with its outcome. `rows(sql, params)` asks
    the store."""
    found = rows(sql.query("passive_sources"), {"at": at, "read_from": since})
    sources = [Source(int(r["source"]), r["service"], r["provider"], r["model"],
                      r["server_address"], r["server_port"]) for r in found]
    matches = match(sources, targets)
    mapped = outcomes(sorted({value for r in found for value in r["error_types"]}))
    return {
        "read_from": since,
        "passive_keys": [s.key for s in sources],
        "passive_targets": [matches[s.key].target for s in sources],
        "passive_candidates": [list(matches[s.key].candidates) for s in sources],
        "error_types": list(mapped),
        "error_outcomes": list(mapped.values()),
    }


def no_params(since: datetime) -> dict:
    """Passive parameters that match nothing: no applications' requests are counted."""
    return {"read_from": since, "passive_keys": [], "passive_targets": [],
            "passive_candidates": [], "error_types": [], "error_outcomes": []}


def roll_up(store: Store, at: datetime, passive: dict) -> None:
    """Write the health_passive minute rows of the last RECOMPUTED_MINUTES complete minutes,
    then the hour and day rows they lie in (call at a minute's first instant)."""
    common = {"at": at, "minutes": RECOMPUTED_MINUTES}
    store.execute(sql.query("evaluate_passive"), {**passive, **common})
    store.execute(sql.query("evaluate_passive_rollups"), common)

