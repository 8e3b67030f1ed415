"""TCP forwarders in front of the simulator, one loopback port per target, that can stop
listening (clients get "connection refused") and listen again on the same port.

Every target gets its own forwarder, so every target is its own endpoint for the prober
(`scheme://host:port`): a target whose probes hang holds only its own endpoint's concurrency
slots, as with distinct providers. All forwarders run on one asyncio loop in a background
thread; `stop` and `start` are called from any thread and return once done.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable
from typing import Self

from harness.ports import free_ports

CHUNK = 65536


class Forwarders:
    """`ports[name]` relays to `upstream_port`; `stop(names)` closes the listeners and every
    open connection (pooled keep-alive connections included), `start(names)` listens again."""

    def __init__(self, names: Iterable[str], upstream_port: int) -> None:
        self.upstream_port = upstream_port
        names = list(names)
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self._servers: dict[str, asyncio.base_events.Server] = {}
        self._connections: dict[str, set[asyncio.StreamWriter]] = {name: set() for name in names}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="forwarders", daemon=True)
        self._thread.start()
        self.start(names)

    def start(self, names: Iterable[str]) -> None:
        self._call(self._start(list(names)))

    def stop(self, names: Iterable[str]) -> None:
        self._call(self._stop(list(names)))

    def close(self) -> None:
        self.stop(list(self._servers))
        self._call(self._cancel_relays())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _start(self, names: list[str]) -> None:
        for name in names:
            if name not in self._servers:
                self._servers[name] = await asyncio.start_server(
                    lambda r, w, name=name: self._relay(name, r, w), "127.0.0.1", self.ports[name],
                    reuse_address=True)

    async def _stop(self, names: list[str]) -> None:
        for name in names:
            server = self._servers.pop(name, None)
            if server is not None:
                server.close()
            for writer in list(self._connections[name]):
                writer.transport.abort()
            self._connections[name].clear()
        await asyncio.sleep(0)

    async def _cancel_relays(self) -> None:
        """End the relays still winding down, so the loop stops with no task pending."""
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _relay(self, name: str, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.transport.abort()
            return
        pair = {client_w, upstream_w}
        self._connections[name] |= pair
        try:
            await asyncio.gather(_pipe(client_r, upstream_w), _pipe(upstream_r, client_w))
        finally:
            self._connections[name] -= pair
            for writer in pair:
                writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then half-close (the other direction may still be sending)."""
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
