"""The `stream_stall` fault: an answer that starts normally, goes silent for `hang_seconds`
in the middle, and then finishes as if nothing happened (a provider whose generation stalls).

A stream sends its first events (the opening and two content pieces), then nothing; a
non-stream answer sends half its body, then nothing. The silence ends early, with a dropped
connection, when the server shuts down.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from simulator.waiting import Waiter


async def stalled(
    events: AsyncIterator[bytes], after: int, seconds: float, waiter: Waiter
) -> AsyncIterator[bytes]:
    """`events` with a silence of `seconds` after the first `after` of them."""
    sent = 0
    async for event in events:
        if sent == after:
            await waiter.pause(seconds)
        yield event
        sent += 1


class StalledResponse(Response):
    """A JSON answer whose body stops halfway for `seconds`, then completes."""

    def __init__(self, content: dict, seconds: float, waiter: Waiter) -> None:
        super().__init__(json.dumps(content).encode(), media_type="application/json")
        self.seconds = seconds
        self.waiter = waiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the headers and half the body, pause, send the rest."""
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        half = len(self.body) // 2
        await send({"type": "http.response.body", "body": self.body[:half], "more_body": True})
        await self.waiter.pause(self.seconds)
        await send({"type": "http.response.body", "body": self.body[half:]})
