"""bench/statement_phases.py: a statement's phases are the counter increases around it, less
what reading the counters costs."""

from __future__ import annotations

import pytest

from bench.statement_phases import PHASES, TOTAL, phases_ms


class CountingStore:
    """system.events as a dict: each counters read costs 1 µs per phase and 10 µs of query
    time; the measured statement costs `cost` µs per phase and `total` µs of query time."""

    def __init__(self, cost: dict[str, int], total: int) -> None:
        self.values = {name: 0 for name in (*PHASES.values(), TOTAL)}
        self.cost, self.total = cost, total
        self.statements: list[str] = []

    def rows(self, sql: str, params=None) -> list[dict]:
        out = [{"name": name, "value": value} for name, value in self.values.items()]
        for name in PHASES.values():
            self.values[name] += 1
        self.values[TOTAL] += 10
        return out

    def execute(self, sql: str, params=None) -> None:
        self.statements.append(sql)
        for phase, name in PHASES.items():
            self.values[name] += self.cost[phase]
        self.values[TOTAL] += self.total


def test_phases_subtract_the_cost_of_reading_the_counters() -> None:
    cost = {"parse": 1_000, "analysis": 30_000, "plan": 5_000, "optimization": 8_000, "pipeline": 2_000}
    store = CountingStore(cost, total=70_000)
    out = phases_ms(store, "INSERT INTO t SELECT 1", None, repeats=3)
    assert store.statements == ["INSERT INTO t SELECT 1"] * 3
    assert out == pytest.approx({"parse": 1.0, "analysis": 30.0, "plan": 5.0, "optimization": 8.0,
                                 "pipeline": 2.0, "total": 70.0, "rest": 24.0})
