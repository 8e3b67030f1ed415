"""The API's state: built from api_state.sql's rows, whatever way a store returns numbers; a
configured target without a row is `unknown`; a pool's members and a model's targets include
discovered ones; the last success and failure carry forward between refreshes, each refresh
reading only what was stored since the previous one; refreshes run off the worker's thread."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from aggregator.api_state import FIRST_LOOKBACK, ApiState, HealthView, overall_status
from llmhealth_config.model import Config
from tests.unit.test_api_route import AT, CONFIG, kind, row, view_of


class Recorder:
    """A store answering api_state.sql with the next rows given (and the live stream's read of
    transitions with none), recording the parameters of api_state.sql."""

    def __init__(self, *answers: list[dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.params: list[dict[str, Any]] = []
        self.asked = threading.Event()

    def rows(self, text: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        if "FROM health_events" in text:
            return []
        self.params.append(dict(params or {}))
        self.asked.set()
        return self.answers.pop(0)


def test_rows_read_whatever_way_the_store_returns_numbers() -> None:
    view = view_of(row("a", requests="30", errors="3", error_rate=float("nan"),
                       error_types=["http_5xx"], error_counts=["3"], latency_p99_s=None,
                       kinds=[kind("completion", requests="18446744073709551615")]))
    a = view.targets["a"]
    assert (a.requests, a.errors, a.error_rate, a.errors_by_type) == (30.0, 3.0, 0.0, {"http_5xx": 3.0})
    assert a.kinds[0].requests == 18446744073709551615.0 and a.latency_s.p99 is None


def test_configured_targets_without_a_row_are_unknown_and_discovered_ones_join_their_pool() -> None:
    config = Config.model_validate({"targets": [
        *CONFIG.model_dump(include={"targets"})["targets"],
        {"name": "laptop", "protocol": "ollama", "base_url": "http://127.0.0.1:11434",
         "discover": True, "pool": "chat"}]})
    view = HealthView.from_rows([row("a"), row("laptop/llama3")], config, AT, AT.timestamp())
    assert view.targets["b"].status == "unknown" and view.targets["b"].reason == "not evaluated yet"
    assert view.pools["chat"].members == ["a", "b", "c", "d", "laptop", "laptop/llama3"]
    assert view.pools["chat"].status == "unknown"  # no pool row at this instant
    assert view.models == {"llama3": ("laptop/llama3",), "m1": ("a", "b"), "m2": ("c", "d")}
    assert (view.targets["laptop/llama3"].provider, view.targets["laptop"].model) == ("ollama", "")
    assert view.names == ["a", "b", "c", "chat", "d", "laptop", "laptop/llama3"]


def test_the_last_success_and_failure_carry_forward() -> None:
    t = AT.timestamp()
    first = view_of(row("a", last_success_s=t - 30, last_failure_s=t - 60, last_failure_type="timeout"))
    later = AT + timedelta(seconds=2)
    second = HealthView.from_rows([row("a", last_failure_s=t + 1, last_failure_type="http_5xx")],
                                  CONFIG, later, later.timestamp(), first)
    a = second.targets["a"]
    assert (a.last_success_at.timestamp(), a.last_failure_at.timestamp(), a.last_failure_type) == (
        t - 30, t + 1, "http_5xx")
    third = HealthView.from_rows([], CONFIG, later, later.timestamp(), second)
    assert third.targets["a"].last_success_at.timestamp() == t - 30  # kept while unevaluated


def test_each_refresh_reads_what_was_stored_since_the_previous_one() -> None:
    store = Recorder([row("a")], [row("a")])
    state = ApiState(store, CONFIG)  # type: ignore[arg-type]
    state.refresh(AT)
    state.refresh(AT + timedelta(seconds=2))
    assert [p["since"] for p in store.params] == [AT - FIRST_LOOKBACK, AT]
    assert store.params[1]["window_from"] == AT + timedelta(seconds=2) - timedelta(minutes=5)
    assert state.view.instant == AT + timedelta(seconds=2)


def test_the_listener_hands_the_refresh_to_a_thread_of_its_own() -> None:
    store = Recorder([row("a", "degraded")])
    state = ApiState(store, CONFIG)  # type: ignore[arg-type]
    state.start()
    try:
        state.evaluated(AT)  # returns at once: the worker never waits for the query
        assert store.asked.wait(5)
        for _ in range(500):
            if state.view.instant == AT:
                break
            threading.Event().wait(0.01)
    finally:
        state.stop()
    assert state.view.targets["a"].status == "degraded"


def test_overall_is_the_pool_rule_over_every_target() -> None:
    assert overall_status([]) == "unknown"
    assert overall_status(["healthy", "healthy"]) == "healthy"
    assert overall_status(["healthy", "unhealthy"]) == "degraded"
    assert overall_status(["unhealthy", "degraded"]) == "degraded"
    assert overall_status(["rate_limited", "unknown"]) == "rate_limited"
    assert overall_status(["rate_limited", "unhealthy"]) == "unhealthy"
    assert overall_status(["unknown", "unknown"]) == "unknown"
