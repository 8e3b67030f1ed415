"""The prober's log: one line per change of a (target, kind)'s outcome, the rest at debug."""

from __future__ import annotations

import logging

import pytest

from prober.outcome import ProbeResult
from prober.outcome_log import OutcomeLog

WARNING, INFO, DEBUG = logging.WARNING, logging.INFO, logging.DEBUG


def result(outcome: str, kind: str = "completion", target: str = "t") -> ProbeResult:
    detail = "" if outcome == "ok" else f"{outcome} detail"
    return ProbeResult(target=target, kind=kind, outcome=outcome, duration_s=0.25, detail=detail)


def logged(caplog: pytest.LogCaptureFixture, *steps: tuple[float, ProbeResult]) -> list[tuple[int, str]]:
    caplog.set_level(DEBUG, logger="test.outcomes")
    outcomes = OutcomeLog(logging.getLogger("test.outcomes"))
    for now, probe in steps:
        outcomes.record(probe, now)
    return [(r.levelno, r.getMessage()) for r in caplog.records]


def test_successes_are_debug_lines(caplog: pytest.LogCaptureFixture) -> None:
    assert logged(caplog, (0, result("ok")), (5, result("ok"))) == [
        (DEBUG, "target=t kind=completion outcome=ok in 0.250 s")] * 2


def test_an_outage_is_one_warning_and_one_recovery(caplog: pytest.LogCaptureFixture) -> None:
    lines = logged(caplog, (0, result("ok")), (5, result("http_5xx")), (6, result("http_5xx")),
                   (7, result("http_5xx")), (12, result("http_5xx")), (65, result("ok")))
    assert [level for level, _ in lines] == [DEBUG, WARNING, DEBUG, DEBUG, DEBUG, INFO]
    assert lines[1][1] == ("target=t kind=completion outcome=http_5xx detail=http_5xx detail "
                           "(started failing)")
    assert lines[2][1] == ("target=t kind=completion outcome=http_5xx detail=http_5xx detail "
                           "(failure 2 in a row)")
    assert lines[5][1] == ("target=t kind=completion outcome=ok: recovered after 4 failed probes "
                           "over 60 s (http_5xx x4; 3 repeats not logged)")


def test_another_error_type_is_a_change(caplog: pytest.LogCaptureFixture) -> None:
    lines = logged(caplog, (0, result("http_5xx")), (1, result("http_5xx")),
                   (10, result("timeout")), (20, result("timeout")), (30, result("ok")))
    assert [level for level, _ in lines] == [WARNING, DEBUG, WARNING, DEBUG, INFO]
    assert lines[2][1].endswith("outcome=timeout detail=timeout detail "
                                "(failing differently, after http_5xx x2 over 10 s)")
    assert lines[4][1].endswith("recovered after 4 failed probes over 30 s "
                                "(http_5xx x2, timeout x2; 2 repeats not logged)")


def test_kinds_and_targets_are_tracked_apart(caplog: pytest.LogCaptureFixture) -> None:
    lines = logged(caplog, (0, result("auth", "completion")), (0, result("auth", "stream")),
                   (0, result("auth", "completion", target="u")), (1, result("ok", "stream")))
    assert [level for level, _ in lines] == [WARNING, WARNING, WARNING, INFO]
    assert lines[3][1] == "target=t kind=stream outcome=ok: recovered after 1 failed probe over 1 s (auth x1)"


def test_label_and_forget(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(DEBUG, logger="test.outcomes")
    outcomes = OutcomeLog(logging.getLogger("test.outcomes"))
    outcomes.record(result("connect", "models"), 0, label="discovery on t (http://x)")
    outcomes.forget("t")  # a target that stops is no longer down: no recovery line later
    outcomes.record(result("ok", "models"), 1, label="discovery on t (http://x)")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (WARNING, "discovery on t (http://x) outcome=connect detail=connect detail (started failing)"),
        (DEBUG, "discovery on t (http://x) outcome=ok in 0.250 s")]
