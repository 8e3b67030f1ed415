"""A raw HTTP/1.1 server on 127.0.0.1:<ephemeral> for prober tests: every byte (and every
missing byte) of an answer is under the test's control."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Self


def headers_of(head: bytes) -> dict[str, str]:
    """Request or response head -> headers with lower-case names."""
    lines = head.decode().split("\r\n")[1:]
    pairs = [line.split(":", 1) for line in lines if line]
    return {name.strip().lower(): value.strip() for name, value in pairs}


Script = Callable[["FakeServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class FakeServer:
    """Raw HTTP/1.1 on 127.0.0.1:<ephemeral>; `script` answers every connection and may
    read the request with `read_request`. Counts requests and bytes sent."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[tuple[bytes, bytes]] = []
        self.bytes_sent = 0
        self._handlers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self.script(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the test is over
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(headers_of(head).get("content-length", 0))
        request = (head, await reader.readexactly(length))
        self.requests.append(request)
        return request

    async def send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.bytes_sent += len(data)


def silent() -> Script:
    """Reads the request and never answers."""

    async def script(server: FakeServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        await asyncio.Event().wait()

    return script


def huge_body(total: int, *, declared: bool) -> Script:
    """A 200 with `total` bytes without a newline, streamed in 64 KiB writes, with or without a
    Content-Length announcing them."""

    async def script(server: FakeServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        length = f"Content-Length: {total}\r\n" if declared else "Connection: close\r\n"
        await server.send(writer, f"HTTP/1.1 200 OK\r\n{length}\r\n".encode())
        block = b"x" * 65536
        for _ in range(total // len(block)):
            await server.send(writer, block)

    return script
