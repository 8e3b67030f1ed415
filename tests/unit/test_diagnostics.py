"""`/api/diagnostics` and `/api/diagnostics/activity`: who may read them (loopback, IPv4-mapped
loopback, aggregator.diagnostics_allow; everyone else 403 naming the setting), and what they say
with the prober's real activity endpoint on an ephemeral port, a prober that is down or another
server in its place, a collector port that listens or not. Served by uvicorn (ApiServer) and
read over real HTTP; the client address comes from httpx's ASGI transport for the 403s."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from aggregator.api import diagnostics
from aggregator.api.app import create_app
from aggregator.api.server import ApiServer
from aggregator.api_state import ApiState
from aggregator.metrics_state import MetricsState
from aggregator.worker import Worker
from harness.ports import free_ports
from llmhealth_config.model import Config
from llmhealth_config.target import Target
from prober.activity import Activity
from prober.activity_server import ActivityServer, bind
from prober.outcome import ProbeResult

TARGET = Target(name="slow-model", base_url="http://10.9.8.7:8000/v1", model="m")


def config(prober_port: int, collector_port: int, allow: list[str] | None = None) -> Config:
    return Config.model_validate({
        "targets": [TARGET.model_dump(exclude_defaults=True)],
        "collector": {"grpc_port": collector_port},
        "aggregator": {"prober_url": f"http://127.0.0.1:{prober_port}",
                       "diagnostics_allow": allow or []}})


def app_for(cfg: Config, worker: Worker | None = None):
    return create_app(metrics=MetricsState(None, cfg), health=ApiState(None, cfg), worker=worker)


@contextmanager
def served(cfg: Config, worker: Worker | None = None) -> Iterator[httpx.Client]:
    server = ApiServer(app_for(cfg, worker), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as client:
            yield client
    finally:
        server.stop()


@contextmanager
def prober_serving(activity: Activity, heartbeat: Path) -> Iterator[int]:
    """The prober's real activity endpoint, on an event loop of its own thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = ActivityServer(activity, bind("127.0.0.1", 0), heartbeat)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
        yield server.sock.getsockname()[1]
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@contextmanager
def listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(("host", "allow", "allowed"), [
    pytest.param("127.0.0.1", [], True, id="ipv4-loopback"),
    pytest.param("127.8.9.10", [], True, id="all-of-127/8"),
    pytest.param("::1", [], True, id="ipv6-loopback"),
    pytest.param("::ffff:127.0.0.1", [], True, id="ipv4-mapped-loopback"),
    pytest.param("10.1.2.3", ["10.0.0.0/8"], True, id="in-an-allowed-network"),
    pytest.param("::ffff:10.1.2.3", ["10.0.0.0/8"], True, id="ipv4-mapped-in-an-allowed-network"),
    pytest.param("fd00::5", ["fd00::/8"], True, id="ipv6-allowed-network"),
    pytest.param("192.0.2.7", ["192.0.2.7/32"], True, id="one-allowed-address"),
    pytest.param("192.0.2.8", ["192.0.2.7/32", "10.0.0.0/8"], False, id="outside-every-network"),
    pytest.param("10.1.2.3", [], False, id="private-but-not-allowed"),
    pytest.param("fe80::1%eth0", [], False, id="link-local"),
    pytest.param("testclient", [], False, id="not-an-address"),
    pytest.param(None, [], False, id="no-client"),
])
def test_who_may_read(host: str | None, allow: list[str], allowed: bool) -> None:
    assert diagnostics.client_allowed(host, allow) is allowed


@pytest.mark.parametrize("path", ["/api/diagnostics", "/api/diagnostics/activity"])
def test_a_client_elsewhere_gets_403_naming_the_setting(path: str) -> None:
    async def get(cfg: Config, client: tuple[str, int]) -> httpx.Response:
        transport = httpx.ASGITransport(app=app_for(cfg), client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            return await http.get(path)

    closed, collector = free_ports(2)
    denied = asyncio.run(get(config(closed, collector), ("192.0.2.7", 50000)))
    assert denied.status_code == 403
    assert denied.json() == {"detail": "diagnostics answer loopback clients only; to let 192.0.2.7 "
                             "read them, add its address or network to aggregator.diagnostics_allow "
                             "(LLMHEALTH_AGGREGATOR__DIAGNOSTICS_ALLOW)"}
    allowed = asyncio.run(get(config(closed, collector, ["192.0.2.0/24"]), ("192.0.2.7", 50000)))
    assert allowed.status_code == 200 and allowed.json()["prober"]["reachable"] is False


def test_in_flight_probes_and_last_results_from_the_prober(tmp_path: Path) -> None:
    activity = Activity(collector="http://127.0.0.1:4317", export_interval_s=1.0)
    activity.watch("slow-model")
    activity.finished("slow-model", "models",
                      ProbeResult(target="slow-model", kind="models", outcome="ok", duration_s=0.05))
    with activity.probe(TARGET, "stream", 0.25) as probe:
        probe.run()
        with prober_serving(activity, tmp_path / "beat") as port, listening() as collector, \
                served(config(port, collector)) as client:
            light = client.get("/api/diagnostics/activity")
            full = client.get("/api/diagnostics")
    assert light.status_code == 200 and full.status_code == 200
    prober = light.json()["prober"]
    assert (prober["reachable"], prober["url"]) == (True, f"http://127.0.0.1:{port}/activity")
    [running] = prober["in_flight"]
    assert {k: running[k] for k in ("target", "kind", "endpoint", "state")} == {
        "target": "slow-model", "kind": "stream", "endpoint": "http://10.9.8.7:8000",
        "state": "running"}
    assert running["schedule_delay_s"] >= 0.25
    [target] = prober["targets"]
    assert (target["in_flight"], target["finished"], target["last"][0]["kind"]) == (1, 1, "models")
    assert prober["export"]["taken"] is False  # no heartbeat: the collector took nothing yet
    assert set(light.json()) == {"at", "prober"}  # the light one: no store, no collector
    body = full.json()
    assert body["prober"]["in_flight"][0]["target"] == "slow-model"
    assert body["collector"] == {"address": f"127.0.0.1:{collector}", "reachable": True,
                                 "latency_ms": body["collector"]["latency_ms"], "error": None}
    assert body["store"]["reachable"] is False and "without a store" in body["store"]["error"]
    assert body["aggregator"] is None


def test_a_prober_that_is_down_or_another_server_is_reported_not_raised() -> None:
    closed, collector = free_ports(2)
    with served(config(closed, collector)) as client:
        body = client.get("/api/diagnostics").json()
    assert body["prober"]["reachable"] is False and body["prober"]["in_flight"] == []
    assert body["prober"]["error"].startswith("connection refused: is the prober running?")
    assert body["collector"]["reachable"] is False and body["collector"]["error"]

    with served(config(closed, collector)) as other, \
            served(config(int(other.base_url.port), collector)) as client:
        prober = client.get("/api/diagnostics/activity").json()["prober"]
    assert prober["reachable"] is False
    assert prober["error"].startswith("answered HTTP 404, not as the llmhealth prober")


def test_the_aggregator_part_is_the_worker_s_last_cycle() -> None:
    closed, collector = free_ports(2)
    cfg = config(closed, collector)
    worker = Worker(None, cfg)  # never started: its memory is set as a cycle would
    worker.last_duration_ms, worker.behind = 12.345, False
    with served(cfg, worker) as client:
        cycle = client.get("/api/diagnostics").json()["aggregator"]
    assert cycle == {"interval_s": 2.0, "last_evaluated_at": None, "last_cycle_ms": 12.3,
                     "behind": False, "last_error": None}


def test_openapi_describes_both_answers() -> None:
    closed, collector = free_ports(2)
    with served(config(closed, collector)) as client:
        spec = client.get("/openapi.json").json()
    for path, model in (("/api/diagnostics", "Diagnostics"),
                        ("/api/diagnostics/activity", "ActivitySummary")):
        answers = spec["paths"][path]["get"]["responses"]
        assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith(model)
        assert answers["403"]["content"]["application/json"]["schema"]["$ref"].endswith("Forbidden")
    assert "lag_s" in spec["components"]["schemas"]["StoreDiagnostics"]["properties"]
