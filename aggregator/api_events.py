"""The status and breaker changes the HTTP API streams (`GET /api/health/stream`, Server-Sent
Events, and `/api/health/ws`, a WebSocket; docs/api.md, "Live stream").

`ApiState` publishes here after each refresh: the transitions stored since the previous one
(health_events) and an `evaluated` notice. The hub keeps the latest `BUFFER` transitions in
memory, so a client that reconnects with the id of the last event it saw (`Last-Event-ID`)
gets exactly what it missed without a query; one that was away longer is replayed from the
store (one query per reconnect). Each subscriber has a bounded queue on its own event loop:
a client too slow to take what the evaluations produce is dropped (and may reconnect and
resume) instead of holding memory.

An event's id is `<at_ms>-<n>`: the instant of the transition in milliseconds since the epoch
and its position among that instant's transitions, in the fixed order of
clickhouse/queries/stream_events.sql. Ids grow with time, so "after id X" is well defined
across restarts of the aggregator.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BUFFER = 10_000
"""Transitions kept in memory for resuming clients."""
QUEUE = 1_000
"""Messages a subscriber may have waiting before it is dropped as too slow."""
REPLAY_LIMIT = 10_000
"""Most transitions one resume replays from the store."""
_ID = re.compile(r"^(\d{1,15})-(\d{1,9})$")

EventId = tuple[int, int]


def parse_id(text: str | None) -> EventId | None:
    """The id `<at_ms>-<n>` as a pair; None for an absent or malformed one (a client that sends
    garbage gets the stream from now on, as a new client does)."""
    match = _ID.match(text.strip()) if text else None
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class Message:
    """One message of the stream: `event` is `status`, `breaker` or `evaluated`; `id` is None
    for `evaluated` (not resumable: the next one supersedes it)."""

    event: str
    data: Mapping[str, Any]
    id: EventId | None = None

    @property
    def id_text(self) -> str | None:
        return f"{self.id[0]}-{self.id[1]}" if self.id else None

    def sse(self) -> str:
        """The message in the text/event-stream format."""
        lines = [f"event: {self.event}"]
        if self.id:
            lines.append(f"id: {self.id_text}")
        lines.append("data: " + json.dumps(self.data, separators=(",", ":")))
        return "\n".join(lines) + "\n\n"

    def json(self) -> str:
        """The message as one JSON object (WebSocket): the data with `type` and `id`."""
        return json.dumps({"type": self.event, "id": self.id_text, **self.data},
                          separators=(",", ":"))


def transitions(rows: Iterable[Mapping[str, Any]], pools: Iterable[str]) -> list[Message]:
    """Messages of stream_events.sql's rows (ordered as it orders them); `pools` names the
    pools, whose status changes say `target_kind: pool`."""
    pools = set(pools)
    messages: list[Message] = []
    at_ms, n = None, 0
    for row in rows:
        ms = int(row["at_ms"])
        n = n + 1 if ms == at_ms else 0
        at_ms = ms
        event_id = (ms, n)
        text_id = f"{ms}-{n}"
        at = datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")
        target = str(row["target"])
        if row["kind"] == "breaker":
            data = {"id": text_id, "at": at, "target": target,
                    "probe_kind": str(row["probe_kind"]), "state": str(row["to_state"]),
                    "previous": str(row["from_state"]), "reason": str(row["reason"])}
        else:
            data = {"id": text_id, "at": at, "target": target,
                    "target_kind": "pool" if target in pools else "target",
                    "status": str(row["to_state"]), "previous": str(row["from_state"]),
                    "reason": str(row["reason"])}
        messages.append(Message(str(row["kind"]), data, event_id))
    return messages


class Subscription:
    """One client's queue on its event loop. `get` returns the next message, or None once the
    subscription ended (the hub closed, or the client fell `QUEUE` messages behind)."""

    def __init__(self, hub: EventHub, loop: asyncio.AbstractEventLoop) -> None:
        self._hub, self._loop = hub, loop
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(QUEUE + 1)
        self.dropped = False

    def offer(self, message: Message | None) -> None:
        """From any thread: queue `message` (None: end) on the subscriber's loop."""
        try:
            self._loop.call_soon_threadsafe(self._put, message)
        except RuntimeError:  # the loop is closed: the client is gone
            pass

    def _put(self, message: Message | None) -> None:
        if self.dropped:
            return
        if message is not None and self._queue.qsize() >= QUEUE:
            self.dropped, message = True, None
        self._queue.put_nowait(message)

    async def get(self, timeout: float) -> Message | None:
        """The next message; raises TimeoutError when none comes within `timeout` s."""
        async with asyncio.timeout(timeout):
            return await self._queue.get()

    def close(self) -> None:
        self._hub.unsubscribe(self)


class EventHub:
    """The latest transitions and the subscribers to new ones. `replay(after, limit)` reads
    transitions after an id from the store (for a client that was away longer than the
    buffer holds); it runs on the caller's thread, so async callers run it in a thread."""

    def __init__(self, replay: Callable[[EventId, int], list[Message]] | None = None,
                 buffer: int = BUFFER) -> None:
        self._replay = replay
        self._lock = threading.Lock()
        self._recent: deque[Message] = deque(maxlen=buffer)
        self._subscribers: set[Subscription] = set()
        self._closed = False
        self.last_evaluated: Message | None = None
        self.complete_after: EventId | None = None
        """The buffer holds every transition after this id (None: nothing read yet)."""

    def publish(self, messages: list[Message], evaluated: Message | None,
                covered_from: EventId) -> None:
        """Add `messages` (transitions newer than every earlier one, oldest first) and then
        `evaluated`, and send both to every subscriber. `covered_from`: the messages are every
        transition after this id (the instant the previous read ended)."""
        with self._lock:
            if self.complete_after is None:
                self.complete_after = covered_from
            for message in messages:
                if len(self._recent) == self._recent.maxlen:
                    self.complete_after = self._recent[0].id
                self._recent.append(message)
            if evaluated is not None:
                self.last_evaluated = evaluated
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            for message in messages:
                subscriber.offer(message)
            if evaluated is not None:
                subscriber.offer(evaluated)

    def subscribe(self, after: EventId | None) -> tuple[Subscription, list[Message] | None]:
        """Subscribe the running loop's caller. Returns the subscription and what it missed
        after `after` from the buffer, or None when the buffer does not reach back that far
        (then `missed` from the store). Subscribing and reading the buffer are one step, so no
        transition falls between the two."""
        subscription = Subscription(self, asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                subscription.offer(None)
            self._subscribers.add(subscription)
            if after is None:
                return subscription, []
            if self.complete_after is None or after < self.complete_after:
                return subscription, None
            return subscription, [m for m in self._recent if m.id is not None and m.id > after]

    def missed(self, after: EventId) -> list[Message]:
        """Transitions after `after` from the store (at most REPLAY_LIMIT), oldest first. Some
        may also reach the subscription: a client skips what is not newer than the last id it
        sent. Runs a query: call it off the event loop."""
        if self._replay is None:
            return []
        return [m for m in self._replay(after, REPLAY_LIMIT) if m.id is not None and m.id > after]

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def close(self) -> None:
        """End every subscription (the API is stopping)."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.offer(None)
