"""The live stream over real HTTP (the app served by ApiServer on an ephemeral port): each refresh
of the state sends the transitions stored since the previous one, in order, with ids, and an
`evaluated` notice; a client resuming with `Last-Event-ID` (header or query) gets exactly what it
missed, from memory or, when it was away longer than the buffer holds, from the store; the
WebSocket sends the same messages as JSON; a slow subscriber is dropped, not buffered forever."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets

from aggregator.api.app import create_app
from aggregator.api.server import ApiServer
from aggregator.api_events import QUEUE, EventHub, Message, parse_id, transitions
from aggregator.api_state import ApiState
from aggregator.metrics_state import MetricsState
from tests.unit.test_api_route import AT, CONFIG, pool_row, row

MS = int(AT.timestamp() * 1000)


def event(at_ms: int, target: str, to: str, previous: str = "healthy", kind: str = "status",
          probe_kind: str = "") -> dict[str, Any]:
    return {"at_ms": at_ms, "kind": kind, "target": target, "probe_kind": probe_kind,
            "from_state": previous, "to_state": to, "reason": f"{target} is {to}"}


class EventStore:
    """A store answering api_state.sql with one healthy row per target and stream_events.sql
    with the events stored in (since, until], recording the stream reads' windows."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.reads: list[tuple[int, int]] = []

    def rows(self, text: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        params = dict(params or {})
        if "FROM health_events" not in text:
            return [row("a"), row("b"), pool_row("chat", "healthy")]
        since = int(params["since"].timestamp() * 1000)
        until = int(params["until"].timestamp() * 1000)
        self.reads.append((since, until))
        found = [e for e in self.events if since < e["at_ms"] <= until]
        return sorted(found, key=lambda e: (e["at_ms"], e["kind"], e["target"]))[:params["limit"]]


@pytest.fixture
def served() -> Iterator[tuple[ApiState, EventStore, str]]:
    store = EventStore()
    state = ApiState(store, CONFIG, clock=lambda: AT.timestamp() + 3600)  # type: ignore[arg-type]
    server = ApiServer(create_app(metrics=MetricsState(None, CONFIG), health=state), "127.0.0.1", 0)
    server.start()
    try:
        yield state, store, server.url
    finally:
        state.events.close()
        server.stop()


def read(response: httpx.Response, count: int) -> list[dict[str, Any]]:
    """The next `count` events of an SSE response, each as {event, id, data} (the response's
    lines are read through one iterator kept on it, so reads continue where the last ended)."""
    found: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    lines = response.extensions.setdefault("test_lines", response.iter_lines())
    for line in lines:
        if not line:
            if "event" in current:
                found.append(current)
                if len(found) == count:
                    return found
            current = {}
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("id: "):
            current["id"] = line[4:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
    return found


def at(seconds: int) -> Any:
    return AT + timedelta(seconds=seconds)


def test_ids_name_the_instant_and_the_position_in_it() -> None:
    messages = transitions([event(MS, "a", "unhealthy"), event(MS, "b", "degraded"),
                            event(MS, "a", "open", "closed", "breaker", "completion"),
                            event(MS + 2000, "chat", "degraded")], pools=["chat"])
    assert [m.id for m in messages] == [(MS, 0), (MS, 1), (MS, 2), (MS + 2000, 0)]
    assert messages[2].data == {"id": f"{MS}-2", "at": "2030-05-01T12:00:00Z", "target": "a",
                                "probe_kind": "completion", "state": "open",
                                "previous": "closed", "reason": "a is open"}
    assert messages[3].data["target_kind"] == "pool" and messages[0].data["target_kind"] == "target"
    assert messages[0].sse() == (f"event: status\nid: {MS}-0\ndata: " + json.dumps(
        messages[0].data, separators=(",", ":")) + "\n\n")
    assert parse_id(f"{MS}-3") == (MS, 3)
    assert parse_id("garbage") is None and parse_id("1-2-3") is None and parse_id(None) is None


def test_each_refresh_streams_the_new_transitions_then_an_evaluated_notice(served) -> None:
    state, store, url = served
    store.events = [event(MS - 10_000, "a", "degraded")]  # before the stream was opened
    state.refresh(AT)
    with httpx.Client(base_url=url, timeout=10) as client, \
            client.stream("GET", "/api/health/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        first = read(response, 1)  # a new client gets the current state's notice, no history
        assert first[0]["event"] == "evaluated" and "id" not in first[0]
        assert first[0]["data"]["counts"]["healthy"] == 2
        store.events += [event(MS + 2000, "a", "unhealthy", "degraded"),
                         event(MS + 2000, "a", "open", "closed", "breaker", "completion")]
        state.refresh(at(2))
        got = read(response, 3)
    assert [(g["event"], g.get("id")) for g in got] == [
        ("breaker", f"{MS + 2000}-0"), ("status", f"{MS + 2000}-1"), ("evaluated", None)]
    assert got[1]["data"]["status"] == "unhealthy" and got[1]["data"]["previous"] == "degraded"
    assert store.reads[-1] == (MS, MS + 2000)  # only what was stored since the previous read


def test_a_client_resuming_gets_exactly_what_it_missed(served) -> None:
    state, store, url = served
    store.events = [event(MS, "a", "degraded"), event(MS + 2000, "a", "unhealthy", "degraded"),
                    event(MS + 2000, "b", "degraded"), event(MS + 4000, "b", "healthy", "degraded")]
    state.refresh(AT)
    state.refresh(at(2))
    state.refresh(at(4))
    with httpx.Client(base_url=url, timeout=10) as client:
        with client.stream("GET", "/api/health/stream",
                           headers={"Last-Event-ID": f"{MS + 2000}-0"}) as response:
            got = read(response, 3)
        assert [g.get("id") for g in got] == [f"{MS + 2000}-1", f"{MS + 4000}-0", None]
        with client.stream("GET", "/api/health/stream",
                           params={"last_event_id": f"{MS + 4000}-0"}) as response:
            assert [g["event"] for g in read(response, 1)] == ["evaluated"]


def test_a_client_away_longer_than_the_buffer_is_replayed_from_the_store(served) -> None:
    state, store, url = served
    state.events = EventHub(state.replay, buffer=2)
    store.events = [event(MS + 2000 * k, "a", "unhealthy" if k % 2 else "healthy") for k in range(5)]
    for k in range(5):
        state.refresh(at(2 * k))
    assert state.events.complete_after is not None and state.events.complete_after > (MS, 0)
    reads = len(store.reads)
    with httpx.Client(base_url=url, timeout=10) as client, client.stream(
            "GET", "/api/health/stream", headers={"Last-Event-ID": f"{MS}-0"}) as response:
        got = read(response, 5)
    assert [g.get("id") for g in got] == [f"{MS + 2000 * k}-0" for k in range(1, 5)] + [None]
    assert len(store.reads) == reads + 1  # one query for the resume


def test_the_websocket_sends_the_same_messages_as_json(served) -> None:
    state, store, url = served
    store.events = [event(MS, "a", "degraded"), event(MS + 2000, "a", "unhealthy", "degraded")]
    state.refresh(AT)
    state.refresh(at(2))
    ws_url = url.replace("http://", "ws://") + f"/api/health/ws?last_event_id={MS}-0"

    async def receive(count: int) -> list[dict[str, Any]]:
        async with websockets.connect(ws_url) as socket:
            return [json.loads(await asyncio.wait_for(socket.recv(), 10)) for _ in range(count)]

    got = asyncio.run(receive(2))
    assert [(g["type"], g["id"]) for g in got] == [("status", f"{MS + 2000}-0"), ("evaluated", None)]
    assert got[0]["status"] == "unhealthy" and got[0]["target"] == "a"


def test_a_subscriber_that_falls_behind_is_dropped() -> None:
    async def scenario() -> tuple[list[Message | None], int]:
        hub = EventHub()
        subscription, missed = hub.subscribe(None)
        assert missed == []
        flood = [Message("status", {"n": k}, (MS, k)) for k in range(QUEUE + 5)]
        hub.publish(flood, None, (MS - 1, 0))
        await asyncio.sleep(0.05)
        got = [await subscription.get(1) for _ in range(QUEUE + 1)]
        subscription.close()
        return got, hub.subscribers

    got, left = asyncio.run(scenario())
    assert got[-1] is None and all(m is not None for m in got[:-1])  # the end, after what fit
    assert left == 0


def test_closing_the_hub_ends_every_stream(served) -> None:
    state, _, url = served
    state.refresh(AT)
    with httpx.Client(base_url=url, timeout=10) as client, \
            client.stream("GET", "/api/health/stream") as response:
        assert read(response, 1)[0]["event"] == "evaluated"
        state.events.close()
        assert read(response, 1) == []  # the response ended
