"""Which windows an instant evaluates, the cached target set, and where the previous snapshots
are looked up (aggregator/evaluate.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator import sql
from aggregator.evaluate import (
    REWRITE_S,
    Evaluator,
    first_of_minute,
    long_window_params,
    state_lookback,
    target_set,
    window_params,
)
from llmhealth_config.model import Config

MINUTE = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def config(window: int = 300, windows: tuple[int, ...] = (60, 300, 3600, 7200)) -> Config:
    return Config.model_validate({
        "targets": [{"name": "a", "base_url": "http://x/v1", "model": "m"},
                    {"name": "b", "base_url": "http://y/v1", "model": "m"}],
        "aggregator": {"interval": 2, "window": window, "windows": list(windows)}})


@pytest.mark.parametrize(("second", "first"), [(0, True), (1.999, True), (2, False), (58, False)])
def test_first_of_minute(second: float, first: bool) -> None:
    assert first_of_minute(MINUTE.replace(second=int(second), microsecond=int(second % 1 * 1e6)), 2) is first


def test_long_windows_at_the_minutes_first_instant_only() -> None:
    at_minute = long_window_params(config(), MINUTE, 1)
    later = long_window_params(config(), MINUTE.replace(second=2), 1)
    assert (at_minute["long_windows"], later["long_windows"]) == ([3600, 7200], [])


def test_short_windows_at_every_instant() -> None:
    later = window_params(config(), MINUTE.replace(second=2), 1)
    assert (later["short_windows"], later["max_short"]) == ([60, 300], 300)


def test_a_long_status_window_is_evaluated_at_every_instant() -> None:
    later = long_window_params(config(window=3600), MINUTE.replace(second=2), 1)
    assert later["long_windows"] == [3600]


def test_an_evaluator_builds_the_target_set_once_per_target_list() -> None:
    cfg = config()
    evaluator = Evaluator(RecordingStore(), cfg)  # type: ignore[arg-type]
    targets = [(t.name, t) for t in cfg.targets]
    first = evaluator.target_set(targets)
    assert evaluator.target_set(targets) is first
    assert evaluator.target_set(targets[:1])["targets"] == ["a"]
    assert evaluator.target_set(targets) is not first
    assert target_set(config(), targets) == first  # same content, same rows and version


class RecordingStore:
    """Stands in for a store: every target set is registered already; statements are recorded."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, dict]] = []

    def rows(self, text: str, params: dict | None = None) -> list[dict]:
        return [] if text == sql.query("passive_sources") else [{"n": 1}]  # no applications

    def execute(self, text: str, params: dict | None = None) -> None:
        self.executed.append((text, params or {}))


def snapshot_lookback(evaluator: Evaluator, at: datetime) -> datetime:
    """Evaluate `at`; the lookback_from its snapshot statement was given."""
    store = evaluator.store
    store.executed.clear()  # type: ignore[attr-defined]
    evaluator.evaluate(at)
    [params] = [p for text, p in store.executed  # type: ignore[attr-defined]
                if text == sql.query("evaluate_snapshots")]
    return params["lookback_from"]


def test_previous_snapshots_are_looked_up_from_the_instant_last_written() -> None:
    cfg = config()
    evaluator = Evaluator(RecordingStore(), cfg)  # type: ignore[arg-type]
    lookback = timedelta(seconds=state_lookback(cfg))
    assert snapshot_lookback(evaluator, MINUTE) == MINUTE - lookback  # nothing written yet
    later = MINUTE + timedelta(seconds=2)
    assert snapshot_lookback(evaluator, later) == MINUTE
    gap = later + timedelta(seconds=20)  # instants missed, the last written still in the lookback
    assert snapshot_lookback(evaluator, gap) == later
    assert snapshot_lookback(evaluator, gap) == gap - lookback  # re-run: nothing written before it known
    far = gap + lookback + timedelta(seconds=4)
    assert snapshot_lookback(evaluator, far) == far - lookback
    fresh = Evaluator(RecordingStore(), cfg)  # type: ignore[arg-type]
    assert snapshot_lookback(fresh, far + timedelta(seconds=2)) == far + timedelta(seconds=2) - lookback


def test_a_new_target_set_looks_back_over_the_whole_lookback() -> None:
    evaluator = Evaluator(RecordingStore(), config())  # type: ignore[arg-type]
    snapshot_lookback(evaluator, MINUTE)
    fewer = Config.model_validate({"targets": [{"name": "a", "base_url": "http://x/v1", "model": "m"}]})
    evaluator.config = fewer  # the evaluated set changed (as when a discovered model goes)
    at = MINUTE + timedelta(seconds=2)
    assert snapshot_lookback(evaluator, at) == at - timedelta(seconds=state_lookback(fewer))


class Writes:
    """A store that records what register writes."""

    def __init__(self) -> None:
        self.statements: list[int] = []

    def execute(self, text: str, params: dict) -> None:
        self.statements.append(params["version"])


def test_a_target_set_in_use_is_written_again_before_its_ttl() -> None:
    store, now = Writes(), [100.0]
    evaluator = Evaluator(store, config(), clock=lambda: now[0])  # type: ignore[arg-type]
    rows = target_set(config(), [(t.name, t) for t in config().targets])
    for at in (100.0, 101.0, 100.0 + REWRITE_S - 1, 100.0 + REWRITE_S, 100.0 + REWRITE_S + 5):
        now[0] = at
        assert evaluator.register(rows) == rows["version"]
    assert store.statements == [rows["version"]] * 2  # first use, then an hour later
