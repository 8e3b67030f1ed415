"""The "Heavy reads beside the monitor" section of BENCHMARKS.md (bench/isolation.py)."""

from __future__ import annotations

from bench.isolation import section


def _phase(name: str, eval_max: float, unknown: int, queries: list[dict]) -> dict:
    samples = [{"eval_s": 1.0, "store_s": 0.4, "query_s": 0.01},
               {"eval_s": eval_max, "store_s": 0.9, "query_s": 0.05}]
    return {"name": name, "samples": samples, "queries": queries, "unknown": unknown}


def test_each_phase_is_judged_on_lag_and_unknown_snapshots() -> None:
    result = {"targets": 20, "seconds": 30.0, "rows": 1_000, "pace_warnings": 1, "phases": [
        _phase("baseline", 2.5, 0, []),
        _phase("one heavy read", 3.9, 0, [{"seconds": 29.5, "status": 200, "error": ""}]),
        _phase("two heavy reads", 4.5, 2, [{"seconds": 40.0, "status": 200, "error": ""},
                                           {"seconds": 60.0, "status": 500, "error": "TIMEOUT_EXCEEDED"}]),
    ]}
    lines = section(result)
    assert "| baseline | none | 1.75 / 2.50 | 0.65 / 0.90 | 30 / 50 | 0 | met |" in lines
    assert "| one heavy read | 29.5 | 2.45 / 3.90 | 0.65 / 0.90 | 30 / 50 | 0 | met |" in lines
    assert "| two heavy reads | 40.0, 60.0 (500) | 2.75 / 4.50 | 0.65 / 0.90 | 30 / 50 | 2 | **not met** |" in lines
    assert lines[-1] == "- TIMEOUT_EXCEEDED"
    assert any("aggregator.interval in the run's log: 1." in line for line in lines)
