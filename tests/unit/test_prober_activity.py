"""The prober's activity registry and its `GET /activity` endpoint: probes listed while they wait
for a slot and while they run, with live byte counts read from the running attempt; the last
result per kind; the export state from the heartbeat; the endpoint over real HTTP, a port in use
named with its setting, and the registry fed by the real probe loop against a hanging server."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import pytest

from llmhealth_config.model import Config, ProberSettings
from llmhealth_config.target import Target
from prober.activity import Activity
from prober.activity_server import ActivityServer, ActivityUnavailable, bind
from prober.attempt import WATCH, Attempt, run_attempt
from prober.loop import run_targets
from prober.main import main
from prober.outcome import ProbeResult
from tests.unit.raw_http import FakeServer
from tests.unit.recorded_loop import Recorder

SECRET = "sk-test-activity-SECRET"
TARGET = Target(name="t", base_url="https://API.example.com/v1", model="m")


class Clock:
    def __init__(self) -> None:
        self.wall, self.mono = 1_900_000_000.0, 100.0

    def tick(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def registry(clock: Clock, interval: float = 1.0) -> Activity:
    return Activity(collector="http://127.0.0.1:4317", export_interval_s=interval,
                    clock=lambda: clock.wall, monotonic=lambda: clock.mono)


def result(outcome: str, duration: float, kind: str = "completion") -> ProbeResult:
    return ProbeResult(target="t", kind=kind, outcome=outcome, duration_s=duration)


def test_a_probe_waits_then_runs_with_the_bytes_of_its_attempts() -> None:
    clock = Clock()
    activity = registry(clock)
    activity.watch("t")
    with activity.probe(TARGET, "completion", delay_s=0.5) as probe:
        clock.tick(2.0)
        [waiting] = activity.snapshot(None)["in_flight"]
        assert (waiting["state"], waiting["schedule_delay_s"], waiting["duration_s"]) == (
            "waiting", 2.5, 2.0)
        # scheme://host:port only
        assert waiting["endpoint"] == "https://api.example.com:443"
        probe.run()
        first, second = Attempt(), Attempt()
        WATCH.get()(first)
        first.bytes_sent, first.bytes_received = 300, 40
        WATCH.get()(second)
        second.bytes_sent = 200
        clock.tick(3.0)
        [running] = activity.snapshot(None)["in_flight"]
    assert WATCH.get() is None
    assert running == {"target": "t", "kind": "completion", "endpoint": "https://api.example.com:443",
                       "state": "running", "started_at": "2030-03-17T17:46:40.000Z",
                       "duration_s": 5.0, "schedule_delay_s": 2.5, "bytes_sent": 500,
                       "bytes_received": 40}
    assert activity.snapshot(None)["in_flight"] == []


def test_run_attempt_hands_its_attempt_to_the_watch_while_it_runs() -> None:
    async def scenario() -> tuple[int, int]:
        clock = Clock()
        activity = registry(clock)
        halfway, resume = asyncio.Event(), asyncio.Event()

        async def work(attempt: Attempt) -> tuple[str, str]:
            attempt.bytes_sent, attempt.bytes_received = 123, 7
            halfway.set()
            await resume.wait()
            attempt.bytes_received = 4567
            return "ok", ""

        with activity.probe(TARGET, "stream", 0.0) as probe:
            probe.run()
            task = asyncio.create_task(run_attempt("t", "stream", work, timeout=5, secret=None))
            await halfway.wait()
            [live] = activity.snapshot(None)["in_flight"]
            resume.set()
            done = await task
        return (live["bytes_sent"], live["bytes_received"]), done.bytes_received

    assert asyncio.run(scenario()) == ((123, 7), 4567)


def test_the_last_result_per_kind_and_the_counts() -> None:
    clock = Clock()
    activity = registry(clock)
    activity.watch("idle")
    activity.finished("t", "completion", result("ok", 0.2))
    clock.tick(1.0)
    activity.finished("t", "completion", result("timeout", 5.0))
    activity.finished("t", "liveness", result("ok", 0.1, kind="models"))
    targets = activity.snapshot(None)["targets"]
    assert targets == [
        {"target": "idle", "in_flight": 0, "waiting": 0, "finished": 0, "failed": 0, "last": []},
        {"target": "t", "in_flight": 0, "waiting": 0, "finished": 3, "failed": 1, "last": [
            {"kind": "completion", "outcome": "timeout", "duration_s": 5.0,
             "finished_at": "2030-03-17T17:46:41.000Z"},
            {"kind": "liveness", "outcome": "ok", "duration_s": 0.1,
             "finished_at": "2030-03-17T17:46:41.000Z"}]}]
    activity.forget("idle")
    assert [t["target"] for t in activity.snapshot(None)["targets"]] == ["t"]


@pytest.mark.parametrize(("age", "taken_at", "taken"), [
    pytest.param(None, None, False, id="never-exported"),
    pytest.param(100.0, None, False, id="heartbeat-of-an-earlier-prober"),
    pytest.param(2.0, "2030-03-17T17:46:48.000Z", True, id="fresh"),
    pytest.param(3.5, "2030-03-17T17:46:46.500Z", False, id="older-than-3-intervals"),
])
def test_the_export_state_comes_from_the_heartbeat(age: float | None, taken_at: str | None,
                                                   taken: bool) -> None:
    clock = Clock()
    activity = registry(clock)
    clock.tick(10.0)
    export = activity.snapshot(age)["export"]
    assert (export["last_taken_at"], export["taken"]) == (taken_at, taken)
    assert (export["collector"], export["interval_s"]) == ("http://127.0.0.1:4317", 1.0)


def test_the_endpoint_answers_get_activity_only(tmp_path: Path) -> None:
    heartbeat = tmp_path / "beat"

    async def scenario() -> list[httpx.Response]:
        activity = Activity(collector="http://127.0.0.1:4317", export_interval_s=1.0)
        activity.finished("t", "completion", result("ok", 0.2))
        await asyncio.sleep(0.05)  # file times are coarser than the clock
        heartbeat.touch()
        server = ActivityServer(activity, bind("127.0.0.1", 0), heartbeat)
        await server.start()
        try:
            async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
                return [await client.get(server.url),
                        await client.get(server.url.replace("/activity", "/other")),
                        await client.post(server.url)]
        finally:
            await server.stop()

    ok, unknown, post = asyncio.run(scenario())
    body = ok.json()
    assert (ok.status_code, ok.headers["content-type"]) == (200, "application/json")
    assert body["targets"][0]["last"][0]["outcome"] == "ok"
    assert body["export"]["taken"] is True and body["in_flight"] == []
    assert (unknown.status_code, post.status_code) == (404, 405)
    assert set(post.headers["allow"].split(", ")) == {"GET", "HEAD"}  # in no fixed order


def test_a_client_that_sends_nothing_does_not_hold_up_others(tmp_path: Path) -> None:
    async def scenario() -> int:
        activity = Activity(collector="http://127.0.0.1:4317", export_interval_s=1.0)
        server = ActivityServer(activity, bind("127.0.0.1", 0), tmp_path / "none")
        await server.start()
        try:
            port = server.sock.getsockname()[1]
            _, idle = await asyncio.open_connection("127.0.0.1", port)
            async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
                status = (await client.get(server.url)).status_code
            idle.close()
            return status
        finally:
            await server.stop()

    assert asyncio.run(scenario()) == 200


def test_a_port_in_use_names_the_setting() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ActivityUnavailable) as caught:
            bind("127.0.0.1", port)
    assert str(caught.value) == (
        f"port {port} on 127.0.0.1 (prober activity endpoint, GET /activity) is already in use: "
        "stop the process using it or choose another with LLMHEALTH_PROBER__HTTP_PORT or "
        "prober.http_port")


def test_the_prober_exits_2_when_its_port_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = Config(targets=[Target(name="a", base_url="http://127.0.0.1:9/v1", model="m")],
                        prober=ProberSettings(http_port=port))
        assert main(config) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"prober: port {port} on 127.0.0.1") and "\n" not in error
    assert "prober.http_port" in error


class Stuck(FakeServer):
    """Answers with headers and the start of a body, then goes silent."""

    def __init__(self) -> None:
        super().__init__(Stuck._answer)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.read_request(reader)
        await self.send(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 5000\r\n\r\n" + b'{"id": "x", ' + b" " * 500)
        await asyncio.Event().wait()


def test_the_loop_lists_a_hanging_probe_with_its_bytes_and_a_finished_one() -> None:
    async def scenario() -> tuple[dict, dict, Stuck]:
        async with Stuck() as stuck, Stuck() as other:
            common = {"model": "m", "probes": ["completion"], "interval": 0.3,
                      "allow_fast_interval": True}
            config = Config(targets=[
                Target(name="stuck", base_url=f"http://127.0.0.1:{stuck.port}/v1", timeout=20,
                       **common),
                Target(name="cut", base_url=f"http://127.0.0.1:{other.port}/v1", timeout=0.3,
                       **common)])
            activity = Activity(collector="http://127.0.0.1:4317", export_interval_s=1.0)
            stop = asyncio.Event()
            runner = asyncio.create_task(run_targets(config, Recorder(config), stop=stop,
                                                     api_keys={"stuck": SECRET, "cut": SECRET},
                                                     activity=activity))
            try:
                await asyncio.sleep(1.5)
                first = activity.snapshot(None)
                await asyncio.sleep(0.5)
                second = activity.snapshot(None)
            finally:
                stop.set()
                await asyncio.wait_for(runner, 5)
        return first, second, stuck

    first, second, stuck = asyncio.run(scenario())
    [before] = [p for p in first["in_flight"] if p["target"] == "stuck"]
    [after] = [p for p in second["in_flight"] if p["target"] == "stuck"]
    assert (after["kind"], after["state"]) == ("completion", "running")
    assert after["started_at"] == before["started_at"]
    assert after["duration_s"] >= before["duration_s"] + 0.4
    assert after["bytes_sent"] > 100 and after["bytes_received"] > 500
    cut = next(t for t in second["targets"] if t["target"] == "cut")
    assert cut["finished"] >= 2 and cut["last"][0]["outcome"] == "timeout"
    assert stuck.requests and SECRET.encode() in stuck.requests[0][0]  # the key was sent …
    assert SECRET not in json.dumps([first, second])  # … and is never shown
