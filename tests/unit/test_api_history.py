"""A target's history on a fixed state and canned store rows: each range reads its source
(snapshots for 1h, the minute rollup for 6h and 24h, the hour rollup for 7d and 30d) in steps
that keep it to a few hundred points; a rollup point's status is the worst in force during its
step, from the status transitions; a pool's rollups count its members; the store's failure is a
503 that does not repeat the store's text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from aggregator import sql
from aggregator.api.app import create_app
from aggregator.api.history import PLANS, HistoryEvent, history, periods_of, worst_in
from aggregator.api.server import ApiServer
from aggregator.api_state import ApiState
from aggregator.metrics_state import MetricsState
from aggregator.store.base import StoreError
from tests.unit.test_api_route import AT, CONFIG, pool_row, row, view_of

NOW = AT


class CannedStore:
    """Answers each history query with the rows given for it, and records what was asked."""

    def __init__(self, answers: Mapping[str, list[dict[str, Any]]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def rows(self, text: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        name = next(n for n in ("history_snapshots", "history_minutes", "history_hours",
                                "history_events") if sql.query(n) == text)
        self.asked.append((name, dict(params or {})))
        return self.answers.get(name, [])


def event(offset_s: float, to_state: str, kind: str = "status") -> dict[str, Any]:
    return {"at_s": (NOW + timedelta(seconds=offset_s)).timestamp(), "kind": kind,
            "probe_kind": "" if kind == "status" else "completion", "from_state": "x",
            "to_state": to_state, "reason": f"now {to_state}"}


def state_with(store: CannedStore) -> ApiState:
    state = ApiState(store, CONFIG, clock=NOW.timestamp)  # type: ignore[arg-type]
    state.view = view_of(row("a"), row("b"), pool_row("chat", "healthy"))
    return state


@pytest.mark.parametrize(("range_", "source", "step_s"), [
    ("1h", "snapshots", 10), ("6h", "minutes", 60), ("24h", "minutes", 300),
    ("7d", "hours", 3600), ("30d", "hours", 14400)])
def test_each_range_reads_its_source_in_steps_of_a_few_hundred(range_: str, source: str,
                                                               step_s: int) -> None:
    plan = PLANS[range_]
    assert (plan.source, plan.step_s) == (source, step_s)
    assert plan.seconds // plan.step_s + 1 <= 361
    store = CannedStore({})
    answer = history(state_with(store), "a", range_, NOW.timestamp())
    (points_query, points_params), (events_query, events_params) = store.asked
    assert events_params["target"] == "a" and events_params["limit"] == 500
    assert points_query == f"history_{source}" and events_query == "history_events"
    assert points_params["step_s"] == step_s
    assert points_params["from"] == NOW - timedelta(seconds=plan.seconds) == answer.start
    assert points_params["to"] == NOW == answer.end
    assert (points_params.get("target") or points_params["targets"]) in ("a", ["a"])
    assert (answer.source, answer.counts_over) == (
        source, "status_window" if source == "snapshots" else "step")


def test_a_pools_rollups_count_its_members_and_its_events_are_its_own() -> None:
    store = CannedStore({})
    answer = history(state_with(store), "chat", "24h", NOW.timestamp())
    assert store.asked[0][1]["targets"] == ["a", "b", "c", "d"]
    assert store.asked[1][1]["target"] == "chat"
    assert answer.kind == "pool"


def test_a_rollup_points_status_is_the_worst_in_force_during_its_step() -> None:
    minute = 60.0
    start = (NOW - timedelta(hours=6)).timestamp()
    rows = [{"at_s": start + k * minute, "requests": 10, "errors": 1, "error_rate": 0.1,
             "error_types": ["http_5xx"], "error_counts": ["1"], "availability": 1.0,
             "latency_s": [0.1, 0.2, 0.3], "ttft_s": [None, None, None]} for k in range(4)]
    transitions = [  # newest first, as history_events.sql returns them
        event(-6 * 3600 + 2.5 * minute, "healthy"),
        event(-6 * 3600 + 2 * minute + 10, "unhealthy"),
        event(-6 * 3600 + 1 * minute + 5, "completion", kind="breaker"),
        event(-7 * 3600, "degraded")]  # in force when the range starts
    answer = history(state_with(CannedStore({"history_minutes": rows, "history_events": transitions})),
                     "a", "6h", NOW.timestamp())
    assert [p.status for p in answer.points] == ["degraded", "degraded", "unhealthy", "healthy"]
    point = answer.points[0]
    assert (point.errors_by_type, point.latency_s.p90, point.ttft_s) == ({"http_5xx": 1.0}, 0.2, None)
    assert [(p.status, p.until is None) for p in answer.periods] == [
        ("degraded", False), ("unhealthy", False), ("healthy", True)]
    assert [e.kind for e in answer.events] == ["breaker", "status", "status"]  # within the range
    assert answer.events_truncated is False


def test_worst_in_force() -> None:
    events = [HistoryEvent(at=datetime(2030, 1, 1, h, tzinfo=UTC), kind="status", probe_kind="",
                           from_state="", to_state=s, reason="")
              for h, s in ((1, "healthy"), (2, "rate_limited"), (3, "healthy"))]
    periods = periods_of(events)

    def at(h: float) -> datetime:
        return datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=h)

    assert worst_in(periods, at(0), at(0.5)) is None
    assert worst_in(periods, at(0.5), at(1.5)) == "healthy"
    assert worst_in(periods, at(1.5), at(2.5)) == "rate_limited"
    assert worst_in(periods, at(2), at(2.1)) == "rate_limited"
    assert worst_in(periods, at(3), at(9)) == "healthy"


def test_a_store_failure_is_a_503_that_does_not_repeat_the_stores_text() -> None:
    class Failing(CannedStore):
        def rows(self, text: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
            raise StoreError("Code: 516. password=hunter2 is wrong")

    state = state_with(Failing({}))
    server = ApiServer(create_app(metrics=MetricsState(None, CONFIG), health=state), "127.0.0.1", 0)
    server.start()
    try:
        response = httpx.get(f"{server.url}/api/health/targets/a/history?range=7d", timeout=10)
    finally:
        server.stop()
    assert response.status_code == 503
    assert response.json() == {"detail": "the store cannot be read now: see the aggregator's log"}
