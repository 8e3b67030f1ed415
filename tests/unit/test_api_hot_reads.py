"""The summary and the route served from encoded bytes (aggregator/api/hot_reads.py), over real
HTTP: the same answer the routes build; a new state is served at once; one encoding serves for
at most TTL_S, so the ages move on; whatever the fast path does not take (an unknown name, a
missing, empty, repeated or extra parameter) is answered by the framework as before."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from aggregator.api.app import create_app
from aggregator.api.health import detailed, summary
from aggregator.api.hot_reads import TTL_S
from aggregator.api.route import route_answer
from aggregator.api.server import ApiServer
from aggregator.api_state import ApiState
from aggregator.metrics_state import MetricsState
from tests.unit.test_api_route import AT, CONFIG, pool_row, row, view_of

VIEW = view_of(row("a"), row("b", "unhealthy", error_rate=1.0), pool_row("chat", "degraded"))
LATER = view_of(row("a", "unhealthy", error_rate=1.0), row("b"), pool_row("chat", "degraded"),
                instant=AT + timedelta(seconds=2))


@pytest.fixture
def served() -> Iterator[tuple[ApiState, httpx.Client]]:
    now = [AT.timestamp() + 1]
    state = ApiState(None, CONFIG, clock=lambda: now[0])
    state.view = VIEW
    server = ApiServer(create_app(metrics=MetricsState(None, CONFIG), health=state), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield state, client
    finally:
        server.stop()


def test_the_answers_are_the_ones_the_routes_build(served) -> None:
    state, client = served
    got = client.get("/api/health/summary")
    assert got.headers["content-type"] == "application/json"
    assert got.json() == summary(state, VIEW).model_dump(mode="json")
    assert client.get("/api/health/detailed").json() == detailed(state, VIEW).model_dump(mode="json")
    route = client.get("/api/health/route", params={"pool": "chat"}).json()
    assert route == route_answer(state, VIEW, "chat", None, state.clock()).model_dump(mode="json")
    assert route["members"][0]["target"] == "a" and route["excluded"][0]["target"] == "b"
    by_model = client.get("/api/health/route", params={"model": "m1"}).json()
    assert by_model["model"] == "m1" and by_model["pool"] is None


def test_a_new_state_is_served_at_once(served) -> None:
    state, client = served
    assert client.get("/api/health/summary").json()["counts"]["unhealthy"] == 1
    assert client.get("/api/health/route", params={"pool": "chat"}).json()["members"][0][
        "target"] == "a"
    state.view = LATER
    assert client.get("/api/health/route", params={"pool": "chat"}).json()["members"][0][
        "target"] == "b"
    assert client.get("/api/health/summary").json()["worst"][0]["target"] == "a"
    assert {t["target"]: t["status"] for t in client.get("/api/health/detailed").json()[
        "targets"]}["a"] == "unhealthy"


def test_one_encoding_serves_at_most_the_ttl(served) -> None:
    state, client = served
    first = client.get("/api/health/summary").json()["freshness"]["age_s"]
    state.clock = lambda: AT.timestamp() + 5
    time.sleep(TTL_S * 2)
    assert client.get("/api/health/summary").json()["freshness"]["age_s"] == 5.0 != first


@pytest.mark.parametrize(("query", "status"), [
    ("pool=nope", 404), ("model=nope", 404), ("pool=", 422), ("", 422),
    ("pool=chat&model=m1", 422), ("pool=" + "x" * 257, 422)],
    ids=["unknown-pool", "unknown-model", "empty", "none", "both", "too-long"])
def test_what_the_fast_path_does_not_take_the_framework_answers(served, query: str,
                                                               status: int) -> None:
    _, client = served
    assert client.get(f"/api/health/route?{query}").status_code == status


def test_a_repeated_parameter_is_read_as_the_framework_reads_it(served) -> None:
    _, client = served
    got = client.get("/api/health/route?pool=nope&pool=chat")
    assert got.status_code == 200 and got.json()["pool"] == "chat"
    assert client.get("/api/health/summary?x=1").status_code == 200
