"""The detection section of BENCHMARKS.md (bench/detection_report.py) from a result, and the
cadence arithmetic it compares outage costs with."""

from __future__ import annotations

import pytest

from bench.detection import Plan, first_relapse, path
from bench.detection_report import goal, section
from bench.outage_cost import today_costly_probes

PARTS = {"first_failure": 1.0, "confirm": 2.0, "collector": 0.2, "instant": 0.5, "evaluate": 0.5}


def mode(name: str, detect_p95: float, recover_p95: float, *, hold: float = 0.0,
         bounds_off: bool = False, cost: dict | None = None) -> dict:
    stats = {"n": 20, "p50": 1.0, "max": 30.0}
    return {"mode": name, "label": Plan(name, hold, bounds_off).label, "hold": hold,
            "bounds_off": bounds_off, "targets": 20, "detect": {**stats, "p95": detect_p95},
            "recover": {**stats, "p95": recover_p95}, "outage_s": hold or 8.0,
            "parts": {"detect": PARTS, "recover": PARTS}, "event_paths": {"a → b": 20},
            "cost": cost}


@pytest.mark.parametrize(("row", "expected"), [
    pytest.param(mode("timeout", 9.0, 8.0), "met", id="hang-met"),
    pytest.param(mode("timeout", 12.0, 8.0), "detection **not met**, recovery met", id="hang-slow"),
    pytest.param(mode("timeout", 27.0, 18.0, bounds_off=True), "(before)", id="before-row"),
    pytest.param(mode("stream_cut", 5.0, 16.0), "recovery **not met**", id="no-detection-goal"),
    pytest.param(mode("refused", 7.0, 9.0, hold=600.0), "recovery met", id="long-outage"),
])
def test_goal(row: dict, expected: str) -> None:
    assert goal(row) == expected


def test_labels() -> None:
    assert Plan("refused", 600.0).label == "connection refused, 10 min outage"
    assert Plan("http_500", 120.0).label == "HTTP 500 (chat only), 120 s outage"
    assert Plan("timeout", bounds_off=True).label == "timeout (hang), bounds off (before)"
    assert Plan("timeout", bounds_off=True).slug == "hang-off"


def test_section_rows_costs_and_slow_targets() -> None:
    cost = {"costly": 240.0, "billable": 0.0, "free": 117.0, "free_failed": 116.0, "tokens": 0.0, "outage_s": 600.0}
    result = {
        "per_mode": 20, "poll_s": 0.2, "warmup_s": 30.0, "targets": 210, "tokens_per_probe": 13.0,
        "today": {"600": 34.0},
        "slow": {"targets": 10, "probes": 1500, "outcomes": {"ok": 1497, "timeout": 3},
                 "timeouts": 3, "shortest_timeout_s": 10.0, "longest_ok_s": 9.7},
        "modes": [mode("timeout", 9.0, 8.0), mode("refused", 7.0, 9.0, hold=600.0, cost=cost)],
    }
    result["modes"][0]["relapses"] = ["degraded: completion: latency p99 6.00 s > 5.00 s over 5m"] * 2
    text = "\n".join(section(result))
    assert "| timeout (hang) | 20/20 | 1.0 / 9.0 / 30.0 | 8 | 20/20 | 1.0 / 8.0 / 30.0 | met |" in text
    assert ("| connection refused, 10 min outage | 600 | 240.0 | 0.0 | 34.0 | 117.0 (116.0) | 0 | "
            "0 (442) |") in text
    assert "| 1,500 | 1,497 | 3 | 10.0 s | 9.7 |" in text
    assert "Goal: detection p95 ≤ 10 s for HTTP 500" in text and "{" not in text  # every field filled
    assert ("- timeout (hang): 2 of 20 targets left `healthy` again after recovering; the first of them "
            "as `degraded: completion: latency p99 6.00 s > 5.00 s over 5m`.") in text
    assert text.count("left `healthy` again") == 1  # the refused row had none


@pytest.mark.parametrize(("outage", "probes"), [
    # per kind: 0, 1, 2 (confirmations), 5, 10, 15 (slots), then backoff 25, 45, 85, 145 … every 60
    pytest.param(120.0, 2 * 9, id="2-min"),
    pytest.param(600.0, 2 * 17, id="10-min"),
])
def test_today_costly_probes(outage: float, probes: float) -> None:
    assert today_costly_probes(outage) == pytest.approx(probes)


@pytest.mark.parametrize(("steps", "expected"), [
    pytest.param([("healthy", "unhealthy", "u"), ("unhealthy", "healthy", "h")], None, id="clean"),
    pytest.param([("healthy", "unhealthy", "u"), ("unhealthy", "healthy", "h"), ("healthy", "degraded", "d"),
                  ("degraded", "healthy", "h2")], "degraded: d", id="relapse"),
    pytest.param([("healthy", "degraded", "d0"), ("degraded", "unhealthy", "u")], None, id="never-recovered"),
])
def test_first_relapse(steps: list[tuple[str, str, str]], expected: str | None) -> None:
    """The first status a target left `healthy` for after it first recovered, with the reason."""
    assert first_relapse(steps) == expected


def test_path() -> None:
    assert path([("healthy", "unhealthy", "u"), ("unhealthy", "healthy", "h")]) == "healthy → unhealthy → healthy"
