"""The health reads over real HTTP (the app served by ApiServer on an ephemeral port) on fixed
states: summary, detailed, one target or pool, route and badge; unknown names answer 404 with the
known ones, bad parameters 422 with what is allowed, neither echoing the value sent; no CORS;
/openapi.json describes every answer and /docs serves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from aggregator.api.app import create_app
from aggregator.api.server import ApiServer
from aggregator.api_state import ApiState, HealthView
from aggregator.metrics_state import MetricsState
from tests.unit.test_api_route import AT, CONFIG, kind, pool_row, row, view_of

SECRET = "sk-live-0123456789abcdef"
NOW = AT + timedelta(seconds=1)
VIEW = view_of(
    row("a", latency_p90_s=0.2, availability_24h=0.99987, has_slo=1,
        kinds=[kind("completion"), kind("stream")]),
    row("b", "unhealthy", error_rate=1.0, kinds=[kind("completion", "open"), kind("stream")]),
    row("c", "degraded", error_rate=0.1),
    row("d", "unhealthy", error_rate=0.5),
    pool_row("chat", "degraded"))


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ApiState, httpx.Client]]:
    state = ApiState(None, CONFIG, clock=NOW.timestamp)
    server = ApiServer(create_app(metrics=MetricsState(None, CONFIG), health=state), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield state, client
    finally:
        server.stop()


@pytest.fixture
def client(served: tuple[ApiState, httpx.Client]) -> httpx.Client:
    state, client = served
    state.view, state.clock = VIEW, NOW.timestamp
    return client


def test_summary_counts_statuses_and_lists_the_worst_first(client: httpx.Client) -> None:
    body = client.get("/api/health/summary").json()
    assert body["freshness"] == {"evaluated_at": "2030-05-01T12:00:00Z", "age_s": 1.0,
                                 "stale": False, "stale_after_s": 6.0}
    assert (body["overall"], body["targets"], body["pools"]) == ("degraded", 4, 1)
    assert body["counts"] == {"healthy": 1, "degraded": 1, "unhealthy": 2, "rate_limited": 0,
                              "unknown": 0}
    assert body["pool_counts"]["degraded"] == 1
    assert [(w["target"], w["status"]) for w in body["worst"]] == [
        ("b", "unhealthy"), ("d", "unhealthy"), ("c", "degraded")]


def test_detailed_has_every_target_and_pool(client: httpx.Client) -> None:
    body = client.get("/api/health/detailed").json()
    assert [t["target"] for t in body["targets"]] == ["a", "b", "c", "d"]
    a = body["targets"][0]
    assert a["availability"]["by_time"]["24h"] == 0.99987
    assert a["latency_s"] == {"p50": None, "p90": 0.2, "p99": None}
    assert [(k["kind"], k["breaker"]["state"]) for k in a["kinds"]] == [
        ("completion", "closed"), ("stream", "closed")]
    assert body["targets"][1]["kinds"][0]["breaker"]["cooldown_ends_at"] is not None
    assert body["pools"] == [{
        "pool": "chat", "status": "degraded", "reason": "", "status_since": None,
        "previous_status": "", "members": ["a", "b", "c", "d"],
        "member_status": {"a": "healthy", "b": "unhealthy", "c": "degraded", "d": "unhealthy"},
        "requests": 0.0, "errors": 0.0, "error_rate": 0.0}]


def test_one_target_or_pool(client: httpx.Client) -> None:
    target = client.get("/api/health/targets/c").json()
    assert (target["kind"], target["target"]["status"], target["pool"]) == ("target", "degraded", None)
    pool = client.get("/api/health/targets/chat").json()
    assert (pool["kind"], pool["target"], pool["pool"]["status"]) == ("pool", None, "degraded")


@pytest.mark.parametrize("path", [
    f"/api/health/targets/{SECRET}", f"/api/health/targets/{SECRET}/history?range=1h",
    f"/api/badge/{SECRET}.svg", f"/api/health/targets/{SECRET}%0A", "/api/badge/%0A"],
    ids=["target", "history", "badge", "no-route-target", "no-route-badge"])
def test_an_unknown_target_lists_the_valid_ones_without_echoing_it(client: httpx.Client,
                                                                    path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown target; known targets: a, b, c, chat, d",
                               "valid": ["a", "b", "c", "chat", "d"]}


def test_a_bad_range_names_the_allowed_values_without_echoing_it(client: httpx.Client) -> None:
    response = client.get("/api/health/targets/a/history", params={"range": SECRET})
    assert response.status_code == 422
    assert response.json() == {"detail": [{
        "loc": ["query", "range"], "msg": "Input should be '1h', '6h', '24h', '7d' or '30d'",
        "type": "literal_error"}]}
    assert SECRET not in response.text


@pytest.mark.parametrize(("params", "status", "text"), [
    pytest.param({"pool": "chat"}, 200, None, id="pool"),
    pytest.param({"model": "m2"}, 200, None, id="model"),
    pytest.param({}, 422, "give exactly one of pool or model", id="neither"),
    pytest.param({"pool": SECRET}, 404, "unknown pool; known pools: chat", id="unknown-pool"),
    pytest.param({"model": SECRET}, 404, "unknown model; known models: m1, m2", id="unknown-model"),
    pytest.param({"pool": SECRET * 20}, 422, "String should have at most 256 characters",
                 id="too-long"),
])
def test_route_answers_and_refuses(client: httpx.Client, params: dict, status: int,
                                   text: str | None) -> None:
    response = client.get("/api/health/route", params=params)
    assert response.status_code == status, response.text
    assert SECRET not in response.text
    if text:
        assert text in response.text
    else:
        assert response.json()["fail_open"] is False


def test_route_of_the_pool_ranks_usable_members_first(client: httpx.Client) -> None:
    body = client.get("/api/health/route", params={"pool": "chat"}).json()
    assert [(m["target"], m["usable"]) for m in body["members"]] == [("a", True), ("c", True)]
    assert [(m["target"], m["why_not"]) for m in body["excluded"]] == [
        ("d", "status unhealthy"), ("b", "status unhealthy")]  # the lower error rate first


def test_badges_show_status_and_availability_and_grey_when_stale(
        served: tuple[ApiState, httpx.Client], client: httpx.Client) -> None:
    response = client.get("/api/badge/a.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-cache, max-age=0"
    assert 'aria-label="a: healthy · 99.98%"' in response.text and 'fill="#4c1"' in response.text
    assert 'aria-label="chat: degraded"' in client.get("/api/badge/chat.svg").text
    served[0].clock = (AT + timedelta(minutes=5)).timestamp
    stale = client.get("/api/badge/a.svg").text
    assert 'aria-label="a: healthy · 99.98% (stale)"' in stale and 'fill="#9f9f9f"' in stale


def test_a_state_never_read_is_stale_and_every_configured_target_unknown(
        served: tuple[ApiState, httpx.Client], client: httpx.Client) -> None:
    served[0].view = HealthView.empty(CONFIG)
    body = client.get("/api/health/summary").json()
    assert body["freshness"]["stale"] is True and body["freshness"]["evaluated_at"] is None
    assert (body["overall"], body["counts"]["unknown"]) == ("unknown", 4)


def test_no_cors_headers(client: httpx.Client) -> None:
    origin = {"Origin": "https://evil.example"}
    assert "access-control-allow-origin" not in client.get("/api/health/summary", headers=origin).headers
    preflight = client.options("/api/health/summary", headers={
        **origin, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers


def test_openapi_describes_every_read(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths) == {
        "/api/health/summary", "/api/health/detailed", "/api/health/targets/{target}",
        "/api/health/targets/{target}/history", "/api/health/route", "/api/badge/{target}.svg",
        "/api/health/stream", "/api/health/probe", "/api/diagnostics", "/api/diagnostics/activity",
        "/api/health/overview", "/metrics"}
    reads = {path: item for path, item in paths.items() if "get" in item}
    assert set(paths) - set(reads) == {"/api/health/probe"}
    for path, item in reads.items():
        ok = item["get"]["responses"]["200"]["content"]
        assert any("schema" in media for media in ok.values()), path
    json_answers = {p: paths[p]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                    for p in reads if p.startswith("/api/health") and p != "/api/health/stream"}
    assert json_answers["/api/health/route"] == {"$ref": "#/components/schemas/RouteAnswer"}
    history = paths["/api/health/targets/{target}/history"]["get"]
    assert set(history["responses"]) == {"200", "404", "422", "503"}
    schemas = spec["components"]["schemas"]
    assert {"Summary", "Detailed", "TargetAnswer", "History", "RouteAnswer", "NotFound"} <= set(schemas)
    assert schemas["History"]["properties"]["range"]["enum"] == ["1h", "6h", "24h", "7d", "30d"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
