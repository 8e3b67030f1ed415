"""A ClickHouse-compatible HTTP endpoint in front of the embedded store.

The collector (`INSERT … FORMAT RowBinary`), curl and HTTP ClickHouse clients use it as they
would use a ClickHouse server's port 8123. The engine runs in worker threads, so the event
loop keeps serving while a query runs; the store's lock orders concurrent requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

import anyio

from aggregator.store.base import StoreError
from aggregator.store.embedded import EmbeddedStore
from aggregator.store.http_request import ParsedRequest, RequestError, parse_request

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

_CONTENT_TYPES = {
    "JSON": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
}
_QUERY_BODY_LIMIT = 1024 * 1024


class ClickHouseHTTP:
    """ASGI app serving `store` with ClickHouse's HTTP semantics (see http_request.py)."""

    def __init__(self, store: EmbeddedStore, max_insert_bytes: int) -> None:
        self.store = store
        self.max_insert_bytes = max_insert_bytes

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                               keep_blank_values=True))
        try:
            head, complete = await _read_head(receive, _QUERY_BODY_LIMIT)
            request = parse_request(scope["method"], scope["path"], query, head, complete)
            if request.kind == "ping":
                await _respond(send, 200, b"Ok.\n", "text/plain; charset=UTF-8")
            elif request.kind == "insert":
                await self._insert(request, head, complete, receive, send)
            else:
                await self._query(request, send)
        except RequestError as exc:
            await _error(send, 400, f"Code: 400. DB::Exception: {exc}. (BAD_REQUEST_PARAMETER)", 400)
        except StoreError as exc:
            await _error(send, 500, str(exc), _exception_code(str(exc)))

    async def _query(self, request: ParsedRequest, send: Send) -> None:
        out = await anyio.to_thread.run_sync(
            self.store.query_bytes, request.sql, request.default_format, request.params,
            request.database)
        fmt = request.default_format
        await _respond(send, 200, out, _CONTENT_TYPES.get(fmt, "text/tab-separated-values; charset=UTF-8"))

    async def _insert(self, request: ParsedRequest, head: bytes, complete: bool,
                      receive: Receive, send: Send) -> None:
        chunks = [head] if head else []
        size = len(head)
        more = not complete
        while more:
            message = await receive()
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_insert_bytes:
                raise RequestError(f"insert body larger than store.max_insert_bytes "
                                   f"({self.max_insert_bytes} bytes): send smaller batches")
            if body:
                chunks.append(body)
            more = message.get("more_body", False)
        rows = await anyio.to_thread.run_sync(
            self.store.insert_stream, request.sql, request.input_format, chunks, request.database)
        summary = f'{{"written_rows":"{rows}","written_bytes":"{size}"}}'
        await _respond(send, 200, b"", "text/plain; charset=UTF-8",
                       [(b"x-clickhouse-summary", summary.encode())])


async def _read_head(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """Read the body up to `limit` bytes; return it and whether that was all of it."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(parts), True
        body = message.get("body", b"")
        parts.append(body)
        size += len(body)
        if not message.get("more_body", False):
            return b"".join(parts), True
        if size >= limit:
            return b"".join(parts), False


def _exception_code(text: str) -> int:
    if text.startswith("Code: "):
        digits = text[6:].split(".", 1)[0]
        if digits.isdigit():
            return int(digits)
    return 1000


async def _respond(send: Send, status: int, body: bytes, content_type: str,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type.encode()),
               (b"content-length", str(len(body)).encode())] + (extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send: Send, status: int, text: str, code: int) -> None:
    await _respond(send, status, (text.rstrip() + "\n").encode(), "text/plain; charset=UTF-8",
                   [(b"x-clickhouse-exception-code", str(code).encode())])


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
