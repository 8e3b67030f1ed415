"""The cycle-time section of BENCHMARKS.md (bench/aggregation_report.py) from result rows."""

from __future__ import annotations

import pytest

from bench.aggregation import LOOKUPS, PER_INSTANT, STATEMENTS, TABLES
from bench.aggregation_report import section, verdicts


def result(targets: int, days: int, median_ms: float) -> dict:
    statements = {name: 10.0 for name in (*STATEMENTS, "other", "python")}
    return {"targets": targets, "days": days, "median_ms": median_ms, "p90_ms": median_ms * 1.2,
            "statements_ms": statements, "minute_ms": median_ms * 2, "minute_statements_ms": statements,
            "load": 0.5, "windows_split_ms": {"short": 5.0, "long": 6.0},
            "phases_ms": {name: {"parse": 1.0, "analysis": 2.0, "plan": 1.0, "optimization": 1.0, "pipeline": 0.5,
                                 "rest": 4.5, "total": 10.0} for name in PER_INSTANT},
            "shape": "every 5 s", "rows": {table: 1 for table in TABLES}}


@pytest.mark.parametrize(("at_1000", "at_10000", "expected"), [
    pytest.param(90.0, 900.0, ["met (median 90 ms, 0.9× the goal)", "met (median 900 ms, 0.9× the goal)"],
                 id="both-met"),
    pytest.param(210.0, 1_500.0, ["**not met** (median 210 ms, 2.1× the goal)",
                                  "**not met** (median 1,500 ms, 1.5× the goal)"], id="both-missed"),
])
def test_verdicts_name_each_goal_with_its_numbers(at_1000: float, at_10000: float, expected: list) -> None:
    lines = verdicts({(1, 1): result(1, 1, 60.0), (1_000, 1): result(1_000, 1, at_1000),
                      (1_000, 30): result(1_000, 30, at_1000 * 1.1), (10_000, 1): result(10_000, 1, at_10000)})
    assert lines[0] == f"- ≤ 100 ms at 1,000 targets: {expected[0]}."
    assert lines[1] == f"- ≤ 1,000 ms at 10,000 targets: {expected[1]}."
    assert lines[2].startswith(f"- Fixed cost: one target takes 60 ms a cycle, 1,000 take {at_1000:,.0f} ms; ")
    assert "planning the 4 statements take 22 ms of it" in lines[2]
    assert lines[3].startswith("- 30 d / 1 d: 1,000 targets 1.10 ")


def test_section_has_a_row_per_result_and_per_history_case() -> None:
    results = [result(1_000, 1, 200.0), result(1_000, 30, 220.0)]
    history = [{"targets": 1_000, "case": "none", "rows": {t: 2 for t in TABLES}, "median_ms": 210.0,
                "statements_ms": results[0]["statements_ms"], "lookups": {k: "2 / 3" for k in LOOKUPS}}]
    text = "\n".join(section(results, history))
    assert "| 1,000 | 1 d | 200 | 240 | 10 |" in text
    assert "| 1,000 | 30 d | 220 | 264 |" in text and "| 1.10 | 0.5 |" in text
    assert "| none | 2 | 2 | 210 | 10 | 10 | 10 | 10 | 2 / 3 | 2 / 3 | 2 / 3 | 2 / 3 |" in text
    assert "| 1,000 | 30 d | evaluate_snapshots | 1.0 | 2.0 | 1.0 | 1.0 | 0.5 | 4.5 | 10.0 |" in text
