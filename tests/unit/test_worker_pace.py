"""The worker says when an evaluation takes longer than `aggregator.interval`, once, and when
evaluations fit again (aggregator/worker.py)."""

from __future__ import annotations

import logging
from datetime import datetime
from types import SimpleNamespace

import pytest

from aggregator import sql, worker
from llmhealth_config.model import Config

START = 1_795_000_000.0  # an aligned instant (a multiple of 2 s)


class NoSnapshots:
    """A store with no evaluation written yet: every run evaluates just its own instant. The
    statements the worker itself runs (its health_cycles rows) are recorded."""

    def __init__(self) -> None:
        self.cycles: list[dict] = []

    def rows(self, text: str, params: dict | None = None) -> list[dict]:
        return []

    def execute(self, text: str, params: dict | None = None) -> None:
        assert text == sql.query("record_cycle")
        self.cycles.append(params or {})


def timed_worker(monkeypatch: pytest.MonkeyPatch, durations_ms: list[float], targets: int = 1,
                 evaluated: list[int] | None = None) -> worker.Worker:
    """A worker (2 s interval, no snapshots stored) whose evaluations take `durations_ms` in
    turn on a fake clock, each judging `targets`; the instants evaluated (seconds after START)
    are appended to `evaluated`."""
    durations, clock = iter(durations_ms), SimpleNamespace(now=0.0)

    def fake_evaluate(self: object, at: datetime) -> int:
        clock.now += next(durations) / 1000
        if evaluated is not None:
            evaluated.append(int(at.timestamp() - START))
        return targets

    monkeypatch.setattr(worker.Evaluator, "evaluate", fake_evaluate)
    monkeypatch.setattr(worker, "time", SimpleNamespace(perf_counter=lambda: clock.now))
    config = Config.model_validate({
        "targets": [{"name": "a", "base_url": "http://x/v1", "model": "m"}],
        "aggregator": {"interval": 2}})
    return worker.Worker(NoSnapshots(), config)


def test_warns_once_when_evaluations_take_longer_than_the_interval(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    w = timed_worker(monkeypatch, [500, 2500, 3100, 800, 700], targets=1000)
    caplog.set_level(logging.INFO, logger="llmhealth.aggregator")

    behind = []
    for k in range(5):
        w.last_evaluated = None  # each run evaluates one instant
        w.run_once(now=START + 2 * k)
        behind.append(w.behind)

    assert behind == [False, True, True, False, False]
    pace = [(r.levelname, r.getMessage()) for r in caplog.records if "aggregator.interval" in r.getMessage()]
    assert [level for level, _ in pace] == ["WARNING", "INFO"]
    assert "evaluating 1000 targets took 2500 ms, longer than aggregator.interval (2 s)" in pace[0][1]
    assert "Raise aggregator.interval" in pace[0][1]
    assert pace[1][1] == "evaluations fit in aggregator.interval (2 s) again: 1000 targets in 800 ms"


def test_listeners_hear_every_instant_and_their_errors_change_nothing(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(worker.Evaluator, "evaluate", lambda self, at: 1)
    config = Config.model_validate({
        "targets": [{"name": "a", "base_url": "http://x/v1", "model": "m"}],
        "aggregator": {"interval": 2}})
    store = NoSnapshots()
    w = worker.Worker(store, config)
    heard: list[object] = []

    def broken(at: object) -> None:
        raise RuntimeError("listener bug")

    w.add_listener(broken)
    w.add_listener(heard.append)
    w.run_once(now=START)
    w.run_once(now=START + 6)  # two instants missed: a backfill of three, in order
    assert [int(at.timestamp() - START) for at in heard] == [0, 2, 4, 6]  # type: ignore[attr-defined]
    assert w.last_error is None
    assert [r.levelname for r in caplog.records if r.exc_info] == ["ERROR"] * 4
    # One health_cycles row per instant, the backfilled ones marked.
    assert [(c["backfill"], c["targets"], c["interval_s"]) for c in store.cycles] == [
        (False, 1, 2), (True, 1, 2), (True, 1, 2), (False, 1, 2)]


def test_a_worker_behind_skips_missed_instants_but_the_first_of_each_minute(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A backfill by a worker whose evaluations take longer than the interval never catches up:
    its statuses would lag further behind with every run. So it evaluates the current instant
    (and the first of a minute, where the long windows and SLO rows are written); a worker
    that keeps pace fills every missed instant."""
    evaluated: list[int] = []
    w = timed_worker(monkeypatch, [2500, 2500, 2500, 500, 500, 500, 500], evaluated=evaluated)
    assert START % 60 == 40  # START + 20 is the first instant of a minute

    w.run_once(now=START)  # 2.5 s: behind
    w.run_once(now=START + 30)  # 14 instants missed: the minute's first, then the current one
    assert evaluated == [0, 20, 30] and w.behind
    evaluated.clear()
    w.run_once(now=START + 32)  # behind still: the current instant (fast: fits again)
    w.run_once(now=START + 38)  # keeps pace: every missed instant, in order
    assert evaluated == [32, 34, 36, 38] and not w.behind
