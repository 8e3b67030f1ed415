"""The "Settle, then hold" section of BENCHMARKS.md (bench/settle.py) from snapshots."""

from __future__ import annotations

from bench.settle import at_goal, met, section, summarize


def _rows(target: str, statuses: list[str]) -> list[dict]:
    return [{"target": target, "t": 1000.0 + 2 * i, "status": s} for i, s in enumerate(statuses)]


def test_settle_time_and_changes_after_it() -> None:
    rows = (_rows("p050-00", ["unknown", "healthy", "unhealthy", "unhealthy", "degraded", "unhealthy"])
            + _rows("p050-01", ["unknown", "unhealthy"]))
    rate = summarize(0.5, rows)
    assert (rate["reached"], rate["settle_median_s"], rate["settle_max_s"]) == (2, 3.0, 4.0)
    assert rate["changes"] == 2  # unhealthy -> degraded -> unhealthy, after settling
    assert rate["healthy_last_s"] == 2.0  # p050-00's second snapshot; p050-01 never


def test_a_target_that_never_reaches_its_status_misses_the_goal() -> None:
    rate = summarize(0.1, _rows("p010-00", ["unknown", "healthy", "healthy"])) | {"missed": ["healthy 0/2 · 0/2"]}
    assert (rate["reached"], rate["settle_max_s"]) == (0, None) and not met(rate, 0)
    result = {"per_rate": 1, "minutes": 1.0, "rates": [rate]}
    assert rate["healthy_last_s"] == 4.0  # healthy until its last snapshot, 4 s after its first
    assert section(result)[-1] == ("| 10% | degraded | 0 of 1 | - | - | 4 | 0 | 0.0 | 0.0 | healthy x1 | - | "
                                   "**not met** | healthy 0/2 · 0/2 |")


def test_probes_per_target_hour_from_first_to_last_snapshot() -> None:
    rows = _rows("p010-00", ["unknown"] * 901) + _rows("p010-01", ["unknown"] * 1801)
    rate = summarize(0.1, rows, {"p010-00": 900, "p010-01": 2700}) | {"missed": []}
    assert rate["probes_per_hour"] == 3600 / 1.5  # 3,600 probes in half an hour and an hour
    line = section({"per_rate": 2, "minutes": 60.0, "rates": [rate]})[-1]
    assert "| 2,400 | **not met** | - |" in line


def test_one_percent_stays_healthy_after_its_first_answers() -> None:
    slow = summarize(0.01, _rows("p001-00", ["unknown"] * 70 + ["healthy", "healthy"])) | {"missed": []}
    once = summarize(0.01, _rows("p001-01", ["unknown", "healthy", "degraded", "healthy"])) | {"missed": ["x"]}
    early = summarize(0.01, _rows("p001-02", ["unknown", "degraded", "healthy"])) | {"missed": ["x"]}
    assert section({"per_rate": 1, "minutes": 1.0, "rates": [slow]})[-1].endswith("| met | - |")
    assert "| 140 | n/a | 0 |" in section({"per_rate": 1, "minutes": 1.0, "rates": [slow]})[-1]
    assert once["changes"] == 2
    assert section({"per_rate": 1, "minutes": 1.0, "rates": [once]})[-1].endswith("| **not met** | x |")
    assert early["before"] == ["degraded", "unknown"]
    assert section({"per_rate": 1, "minutes": 1.0, "rates": [early]})[-1].endswith("| **not met** | x |")


def test_each_target_is_judged_at_its_goal() -> None:
    rows = (_rows("p050-00", ["unknown"] * 10 + ["degraded"] * 6 + ["unhealthy"])  # unhealthy at 32 s
            + _rows("p050-01", ["unknown", "unhealthy"]))
    rate = summarize(0.5, rows)
    assert [met(rate, i) for i in range(2)] == [False, True]
    assert at_goal(0.5, rows[:17]) == (1030.0, "degraded")  # 30 s after its first snapshot
    flapped = _rows("p001-00", ["unknown", "healthy", "degraded", "unknown", "healthy"])
    assert at_goal(0.01, flapped) == (1008.0, "degraded")  # its whole run, the first such status
    assert at_goal(0.01, _rows("p001-01", ["healthy", "unknown", "healthy"])) == (1004.0, "unknown")
