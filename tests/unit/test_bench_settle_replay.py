"""The "status rules replayed" section of BENCHMARKS.md (bench/settle_replay.py): targets
within each rate's goal, and the probe schedules it replays."""

from __future__ import annotations

from bench.settle import met, summarize
from bench.settle_replay import evidence, miss, schedule, section, targets, within_goal


def _rows(target: str, statuses: list[str]) -> list[dict]:
    return [{"target": target, "t": 1000.0 + 2 * i, "status": s} for i, s in enumerate(statuses)]


def test_within_goal_counts_each_target_against_its_rate_goal() -> None:
    late = ["unknown"] + ["healthy"] * 70 + ["unhealthy"]  # unhealthy after 142 s: misses 30 s
    rate = summarize(0.5, _rows("p050-00", ["unknown", "unhealthy"]) + _rows("p050-01", late)
                     + _rows("p050-02", ["unknown", "degraded"]))
    assert rate["settle_s"] == [2.0, 142.0, None]
    assert within_goal(rate) == 1 and [met(rate, i) for i in range(3)] == [True, False, False]
    rate["missed"] = ["3/9 · 2/8", "4/9 · 2/9"]
    line = section({"per_rate": 3, "minutes": 1.0, "rates": [rate]})[-1]
    assert line.startswith("| 50% | unhealthy | 1 of 3 | 72 | 142 | 142 | 140 | 0 |")
    assert line.endswith("| 3/9 · 2/8, 4/9 · 2/9 |")
    never = summarize(0.5, _rows("p050-00", ["unknown", "unhealthy"])) | {"missed": []}
    line = section({"per_rate": 1, "minutes": 1.0, "rates": [never]})[-1]
    assert "| 2 | 2 | 2 | - | 0 |" in line and line.endswith("| - |")


def test_evidence_counts_each_kinds_failures_up_to_the_goal() -> None:
    kinds = {"completion": [(1.0, "ok"), (6.0, "http_5xx"), (7.2, "ok"), (31.0, "http_5xx")],
             "stream": [(3.5, "http_5xx"), (4.7, "ok"), (30.0, "ok"), (30.5, "ok")]}
    assert evidence(kinds, 30.0) == "1/3 · 1/3"
    assert evidence(kinds, 60.0) == "2/4 · 1/4"
    late = _rows("p050-00", ["unknown"] * 10 + ["degraded"] * 6 + ["unhealthy"])  # from 1000 s, every 2 s
    assert miss(0.5, late, kinds, start=1000.0) == "degraded 1/3 · 1/3"  # 30 s: its goal
    flapped = _rows("p001-00", ["unknown", "healthy", "degraded", "healthy"])
    assert miss(0.01, flapped, kinds, start=970.0) == "degraded 2/4 · 1/4"  # its whole run


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
