"""Where a statement's time goes, by ClickHouse's own profile events: parsing, analysis, building
and optimising the query plan, building the pipeline; the rest of the query time is reading,
computing and writing. The counters are read from `system.events` around each run, less what
reading them costs."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from aggregator.store.base import Store

PHASES = {
    "parse": "QueryParseMicroseconds",
    "analysis": "QueryAnalysisMicroseconds",
    "plan": "QueryPlanBuildMicroseconds",
    "optimization": "QueryPlanOptimizeMicroseconds",
    "pipeline": "QueryPipelineBuildMicroseconds",
}
TOTAL = "QueryTimeMicroseconds"
COUNTERS = "SELECT name, value FROM system.events WHERE name IN {names:Array(String)}"


def _counters(store: Store) -> dict[str, int]:
    rows = store.rows(COUNTERS, {"names": [*PHASES.values(), TOTAL]})
    return {row["name"]: int(row["value"]) for row in rows}


def _run(store: Store, statement: str | None, params: Mapping[str, Any] | None) -> dict[str, float]:
    """ms per phase, and `total`, between two readings of the counters around `statement`."""
    before = _counters(store)
    if statement is not None:
        store.execute(statement, params)
    after = _counters(store)
    out = {phase: (after.get(name, 0) - before.get(name, 0)) / 1000 for phase, name in PHASES.items()}
    out["total"] = (after.get(TOTAL, 0) - before.get(TOTAL, 0)) / 1000
    return out


def phases_ms(store: Store, statement: str, params: Mapping[str, Any] | None,
              repeats: int = 5) -> dict[str, float]:
    """Median ms of each phase of `statement` over `repeats` runs, with `rest` (query time
    outside the phases) and `total` (query time)."""
    idle = [_run(store, None, None) for _ in range(repeats)]
    runs = [_run(store, statement, params) for _ in range(repeats)]
    keys = [*PHASES, "total"]
    out = {k: max(0.0, statistics.median(r[k] for r in runs) - statistics.median(i[k] for i in idle))
           for k in keys}
    out["rest"] = max(0.0, out["total"] - sum(out[p] for p in PHASES))
    return out
