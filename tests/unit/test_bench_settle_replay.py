"""The "status rules replayed" section of BENCHMARKS.md (bench/settle_replay.py): targets
within each rate's goal, and the probe schedules it replays."""

from __future__ import annotations

from bench.settle import summarize
from bench.settle_replay import schedule, section, targets, within_goal


def _rows(target: str, statuses: list[str]) -> list[dict]:
    return [{"target": target, "t": 1000.0 + 2 * i, "status": s} for i, s in enumerate(statuses)]


def test_within_goal_counts_each_target_against_its_rate_goal() -> None:
    late = ["unknown"] + ["healthy"] * 70 + ["unhealthy"]  # unhealthy after 142 s: misses 30 s
    rate = summarize(0.5, _rows("p050-00", ["unknown", "unhealthy"]) + _rows("p050-01", late)
                     + _rows("p050-02", ["unknown", "degraded"]))
    assert rate["settle_s"] == [2.0, 142.0, None]
    assert within_goal(rate) == 1
    line = section({"per_rate": 3, "minutes": 1.0, "rates": [rate]})[-1]
    assert line.startswith("| 50% | unhealthy | 1 of 3 | 72 | 142 | 142 | 140 | 0 |")
    never = summarize(0.5, _rows("p050-00", ["unknown", "unhealthy"]))
    assert "| 2 | 2 | 2 | - | 0 |" in section({"per_rate": 1, "minutes": 1.0, "rates": [never]})[-1]


def test_one_percent_is_within_goal_only_healthy_from_a_clean_start_and_after() -> None:
    rate = summarize(0.01, _rows("p001-00", ["unknown", "healthy", "healthy"])
                     + _rows("p001-01", ["unknown", "healthy", "degraded", "healthy"])
                     + _rows("p001-02", ["unknown", "degraded", "healthy"]))
    assert rate["changes_each"] == [0, 2, 0]
    assert within_goal(rate) == 1


def test_schedules_follow_the_cadence_and_are_seeded_by_name() -> None:
    probes = schedule(0.0, 60, seed=1, offset=1.0)
    assert [t for t, _ in probes] == [1.0 + 5 * k for k in range(12)]  # healthy: the 5 s slots
    failing = schedule(1.0, 10, seed=1, offset=1.0)
    assert failing[:2] == [(1.0, "http_5xx"), (2.2, "http_5xx")]  # confirmed 1 s after the answer
    first, again = targets(2, 30), targets(2, 30)
    assert first == again and len(first) == 12
    assert first["p030-00"] != first["p030-01"]
