"""`GET /api/health/stream` (Server-Sent Events) and `/api/health/ws` (a WebSocket): status and
breaker changes as they are evaluated, and an `evaluated` notice after each refresh of the
state, from the hub in memory (aggregator/api_events.py; docs/api.md, "Live stream").

A client resumes with the id of the last event it saw: the `Last-Event-ID` header (which a
browser's EventSource sends by itself when it reconnects) or `?last_event_id=` (the WebSocket,
whose browser API cannot set headers). It gets what it missed, oldest first, then the live
events; never an event twice, since each connection skips what is not newer than the last id
it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from aggregator.api_events import EventHub, EventId, Message, Subscription, parse_id

KEEPALIVE_S = 15.0
"""A comment line this often keeps proxies from closing an idle stream."""
RETRY_MS = 2000
"""How long a browser waits before it reconnects a dropped stream."""
router = APIRouter(prefix="/api/health", tags=["stream"])
STREAM = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                "description": "Server-Sent Events: `status`, `breaker` and `evaluated`"}}


def hub_of(app: object) -> EventHub:
    return app.state.health.events  # type: ignore[attr-defined]


async def messages(hub: EventHub, after: EventId | None) -> AsyncIterator[Message | None]:
    """What the client missed after `after`, then the live messages, each transition once and
    in order; None when there was nothing for KEEPALIVE_S. Ends when the subscription does."""
    subscription = hub.subscribe(after)
    sub: Subscription = subscription[0]
    try:
        missed = subscription[1]
        if missed is None and after is not None:
            missed = await asyncio.to_thread(hub.missed, after)
        last = after
        for message in missed or []:
            if last is None or (message.id is not None and message.id > last):
                last = message.id
                yield message
        if hub.last_evaluated is not None:
            yield hub.last_evaluated
        while True:
            try:
                message = await sub.get(KEEPALIVE_S)
            except TimeoutError:
                yield None
                continue
            if message is None:
                return
            if message.id is not None:
                if last is not None and message.id <= last:
                    continue
                last = message.id
            yield message
    finally:
        sub.close()


@router.get("/stream", response_class=StreamingResponse, responses=STREAM)
async def stream(request: Request,
                 last_event_id: Annotated[str | None, Header()] = None,
                 resume: Annotated[str | None, Query(
                     alias="last_event_id", description="the id of the last event seen "
                     "(`<at_ms>-<n>`), for clients that cannot set Last-Event-ID")] = None,
                 ) -> StreamingResponse:
    """Status and breaker changes as Server-Sent Events (`event: status`, `event: breaker`,
    each with an `id`), and `event: evaluated` after each evaluation is read."""
    hub = hub_of(request.app)
    after = parse_id(last_event_id) or parse_id(resume)

    async def body() -> AsyncIterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        async for message in messages(hub, after):
            yield ": keepalive\n\n" if message is None else message.sse()

    return StreamingResponse(body(), media_type="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.websocket("/ws")
async def websocket(socket: WebSocket,
                    last_event_id: Annotated[str | None, Query()] = None) -> None:
    """The same messages as `/stream`, one JSON object per WebSocket message (`type`, `id`, and
    the fields of the event). The client sends nothing; it closes when it is done."""
    hub = hub_of(socket.app)
    await socket.accept()
    closed = asyncio.ensure_future(_closed(socket))
    try:
        async for message in messages(hub, parse_id(last_event_id)):
            if closed.done():
                return
            if message is not None:
                await socket.send_text(message.json())
    except WebSocketDisconnect:
        return
    finally:
        closed.cancel()
        with contextlib.suppress(Exception):
            await socket.close()


async def _closed(socket: WebSocket) -> None:
    """Returns when the client closes (it sends nothing else worth reading)."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
