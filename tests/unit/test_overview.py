"""`GET /api/health/overview` on a fixed state and canned store rows: each target's results
count for itself and its pool; rows become a point per minute and the worst status per quarter
hour; the answer is computed at most once per 30 s, the previous one served while the store
fails (retried after 5 s), a 503 that does not repeat the store's text when there is none."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from aggregator import sql
from aggregator.api.app import create_app
from aggregator.api.overview import (
    MINUTES,
    SEGMENT_S,
    SEGMENTS,
    OverviewCache,
    compute,
    memberships,
    sparklines,
    status_strips,
)
from aggregator.api_state import ApiState
from aggregator.metrics_state import MetricsState
from aggregator.store.base import StoreError
from tests.unit.test_api_route import AT, CONFIG, pool_row, row, view_of

NOW = AT + timedelta(seconds=30)
QUERIES = ("overview_latency", "overview_availability", "overview_events")


class CannedStore:
    """Answers each overview query with the rows given for it, and records what was asked;
    raises `failure` when one is set."""

    def __init__(self, answers: Mapping[str, list[dict[str, Any]]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self.failure: StoreError | None = None

    def rows(self, text: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        if self.failure is not None:
            raise self.failure
        name = next(n for n in QUERIES if sql.query(n) == text)
        self.asked.append((name, dict(params or {})))
        return self.answers.get(name, [])


def state_with(store: CannedStore) -> ApiState:
    state = ApiState(store, CONFIG, clock=NOW.timestamp)  # type: ignore[arg-type]
    state.view = view_of(row("a"), row("b", "unhealthy"), row("c"), row("d"),
                         pool_row("chat", "degraded"))
    return state


def event(target: str, minutes_before: float, to_state: str) -> dict[str, Any]:
    """A status transition as overview_events.sql returns it."""
    return {"target": target, "at_s": (NOW - timedelta(minutes=minutes_before)).timestamp(),
            "kind": "status", "probe_kind": "", "from_state": "", "to_state": to_state,
            "reason": to_state}


def test_each_target_counts_for_itself_and_its_pool() -> None:
    view = state_with(CannedStore()).view
    assert memberships(view) == (["chat"] * 4, ["a", "b", "c", "d"])


def test_three_queries_over_the_last_hour_day_and_the_rollups() -> None:
    store = CannedStore()
    answer = compute(state_with(store), NOW.timestamp())
    assert [name for name, _ in store.asked] == list(QUERIES)
    latency, availability, events = (params for _, params in store.asked)
    assert latency["from"] == answer.sparkline_start == AT - timedelta(minutes=MINUTES - 1)
    assert latency["to"] == availability["at"] == events["to"] == NOW == answer.computed_at
    assert latency["targets"] == availability["targets"] == ["a", "b", "c", "d"]
    assert (latency["pools"], latency["members"]) == (["chat"] * 4, ["a", "b", "c", "d"])
    assert (availability["pools"], availability["members"]) == (latency["pools"], latency["members"])
    assert events["names"] == ["a", "b", "c", "d", "chat"]
    assert events["from"] == answer.strip_start == AT - timedelta(seconds=SEGMENT_S * (SEGMENTS - 1))
    assert [s.name for s in answer.targets] == ["a", "b", "c", "d"]
    assert [(s.name, s.kind) for s in answer.pools] == [("chat", "pool")]
    empty = answer.targets[0]
    assert empty.latency_p50_s == [None] * MINUTES and empty.strip == [None] * SEGMENTS
    assert empty.availability == {"24h": None, "7d": None, "30d": None, "90d": None}


def test_rows_become_points_per_minute_and_the_worst_status_per_segment() -> None:
    start = AT - timedelta(minutes=MINUTES - 1)
    minute = [{"name": "a", "at_s": (start + timedelta(minutes=m)).timestamp(),
               "latency_s": [0.1 * m, 0.2 * m]} for m in (0, 58, 59, 60)]
    assert sparklines(minute, start)["a"][0][:2] == [0.0, None]
    p50, p90 = sparklines(minute, start)["a"]
    assert (p50[58], p90[59], len(p50)) == (pytest.approx(5.8), pytest.approx(11.8), MINUTES)

    strip_start = AT - timedelta(seconds=SEGMENT_S * (SEGMENTS - 1))
    transitions = [event("b", 60 * 30, "healthy"),  # before the strip: in force at its start
                   event("b", 40, "degraded"), event("b", 35, "healthy"),
                   event("b", 5, "unhealthy"), event("c", 20, "healthy")]
    strips = status_strips(transitions, strip_start)
    # the last four quarter hours start at AT - 45 min, - 30, - 15 and AT (NOW is AT + 30 s)
    assert strips["b"][:-4] == ["healthy"] * (SEGMENTS - 4)
    assert strips["b"][-4:] == ["degraded", "healthy", "unhealthy", "unhealthy"]
    assert strips["c"] == [None] * (SEGMENTS - 3) + ["healthy"] * 3


def test_computed_at_most_once_per_max_age_and_the_previous_served_while_the_store_fails(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = [100.0]
    store = CannedStore()
    state = state_with(store)
    cache = OverviewCache(max_age_s=30, retry_s=5, monotonic=lambda: clock[0])
    first = cache.get(state)
    clock[0] += 29
    assert cache.get(state) is first and cache.computations == 1
    clock[0] += 1
    store.failure = StoreError("Code: 516. password=hunter2 is wrong")
    assert cache.get(state) is first and cache.computations == 2
    assert "serving the previous one" in caplog.text
    clock[0] += 4
    assert cache.get(state) is first and cache.computations == 2  # no retry before 5 s
    store.failure = None
    clock[0] += 1
    assert cache.get(state) is not first and cache.computations == 3


def test_callers_at_once_share_one_computation() -> None:
    gate = threading.Event()

    class Slow(CannedStore):
        def rows(self, text: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
            gate.wait(5)
            return super().rows(text, params)

    cache, state = OverviewCache(), state_with(Slow())
    answers: list[object] = []
    threads = [threading.Thread(target=lambda: answers.append(cache.get(state))) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert cache.computations == 1 and len(answers) == 8 and len({id(a) for a in answers}) == 1


def test_the_route_is_described_and_a_store_failure_is_a_503_without_its_text() -> None:
    store = CannedStore()
    store.failure = StoreError("Code: 516. password=hunter2 is wrong")
    app = create_app(metrics=MetricsState(None, CONFIG), health=state_with(store))
    with TestClient(app) as client:
        failed = client.get("/api/health/overview")
        schema = client.get("/openapi.json").json()
    assert failed.status_code == 503 and "hunter2" not in failed.text
    assert failed.json() == {"detail": "the store cannot be read now: see the aggregator's log"}
    answers = schema["paths"]["/api/health/overview"]["get"]["responses"]
    assert set(answers) >= {"200", "503"}
    assert {"latency_p50_s", "strip", "availability"} <= set(schema["components"]["schemas"]["Series"]["properties"])


def test_an_answer_over_http() -> None:
    store = CannedStore({"overview_availability": [
        {"name": n, "availability_24h": 1.0, "availability_7d": 0.5, "availability_30d": None,
         "availability_90d": 0.25} for n in ("a", "chat")]})
    app = create_app(metrics=MetricsState(None, CONFIG), health=state_with(store))
    transport = httpx.ASGITransport(app=app)

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get("/api/health/overview")

    answer = asyncio.run(get()).json()
    assert answer["max_age_s"] == 30 and answer["strip_step_s"] == SEGMENT_S
    assert answer["pools"][0]["availability"] == {"24h": 1.0, "7d": 0.5, "30d": None, "90d": 0.25}
    assert answer["targets"][1]["availability"]["24h"] is None  # b: no row
