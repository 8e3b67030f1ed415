"""Interruptible sleeps, so injected delays never outlive the client or the server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from starlette.requests import Request


class ConnectionCut(Exception):
    """Raised inside a response to make the server drop the connection on purpose.

    uvicorn closes the socket when an app raises after the response has started; the
    server module filters these deliberate exceptions out of the error log.
    """


class Waiter:
    """Sleeps that end early on `release()` (server shutdown) or client disconnect.

    One waiter serves one running server at a time; `reset()` re-arms it at startup.
    """

    def __init__(self) -> None:
        self._released = asyncio.Event()

    def reset(self) -> None:
        """Re-arm after a previous `release()`; call from the serving event loop."""
        self._released = asyncio.Event()

    def release(self) -> None:
        """End every current and future sleep immediately (the server is shutting down)."""
        self._released.set()

    async def sleep(self, seconds: float, request: Request | None = None) -> bool:
        """Sleep `seconds`. Returns True if the full time passed, False if cut short by
        `release()` or, when `request` is given, by that client disconnecting.

        With `request`, the body must already have been read."""
        contenders: list[Awaitable[object]] = [asyncio.sleep(seconds), self._released.wait()]
        if request is not None:
            contenders.append(_disconnected(request))
        tasks = [asyncio.ensure_future(contender) for contender in contenders]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return tasks[0] in done and not self._released.is_set()

    async def pause(self, seconds: float) -> None:
        """Sleep inside a response being streamed; raises `ConnectionCut` on release so
        the stream is dropped rather than holding up shutdown."""
        if not await self.sleep(seconds):
            raise ConnectionCut("server shutting down")


async def _disconnected(request: Request) -> None:
    """Return once the client has disconnected."""
    while (await request.receive())["type"] != "http.disconnect":
        continue
