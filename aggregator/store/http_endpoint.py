"""A ClickHouse-compatible HTTP endpoint in front of the embedded store.

The collector (`INSERT … FORMAT RowBinary`), `llmhealth status`, curl, HTTP ClickHouse clients
and Grafana use it as they would use a ClickHouse server's port 8123. Every request passes, in
order: the door (access.py: no browsers, the store's own Host, a user and password), the
request's shape (http_request.py), the statement guard (guard.py: nothing that reaches outside
the store, the reader only reads), then runs on a session of the user's lane (lanes.py) in a
worker thread, so the event loop keeps serving and one user's query never queues another's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl

import anyio

from aggregator.store.access import Access, Denied
from aggregator.store.base import StoreError
from aggregator.store.embedded import EmbeddedStore
from aggregator.store.guard import ACCESS_DENIED, READONLY, Guard, Refused, Statement
from aggregator.store.http_request import ParsedRequest, RequestError, is_ping, parse_request
from aggregator.store.lanes import Lane, LaneBusy, open_lanes
from llmhealth_config.model import StoreSettings

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

_CONTENT_TYPES = {
    "JSON": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
}
_QUERY_BODY_LIMIT = 1024 * 1024
_SERVED_ALSO = ("system", "information_schema", "INFORMATION_SCHEMA")
# ClickHouse's HTTP status for an engine error code; anything else is 500.
_STATUS = {READONLY: 403, ACCESS_DENIED: 403, 516: 403, 62: 400, 400: 400, LaneBusy.code: 503}


class ClickHouseHTTP:
    """ASGI app serving the embedded store with ClickHouse's HTTP semantics.

    `lanes` maps each user of `access` to the sessions its statements run on; `database` is the
    store's database (the current one unless a request names `system`).
    """

    def __init__(self, access: Access, guard: Guard, lanes: dict[str, Lane], database: str,
                 max_insert_bytes: int) -> None:
        self.access = access
        self.guard = guard
        self.lanes = lanes
        self.database = database
        self.max_insert_bytes = max_insert_bytes

    @classmethod
    def serving(cls, store: EmbeddedStore, settings: StoreSettings,
                passwords: Mapping[str, str]) -> ClickHouseHTTP:
        """The endpoint for `store` with `settings` (hosts, limits) and a password per user."""
        functions = [row["name"] for row in store.rows("SELECT name FROM system.table_functions")]
        return cls(Access.for_settings(settings, passwords), Guard.from_engine(functions, store.database),
                   open_lanes(store, settings.reader_limits), store.database,
                   settings.max_insert_bytes)

    def close(self) -> None:
        """Close the lanes' sessions (after the server stopped)."""
        for lane in self.lanes.values():
            lane.close()

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                               keep_blank_values=True))
        try:
            self.access.admit(headers)
            if is_ping(scope["method"], scope["path"], query):
                await _respond(send, 200, b"Ok.\n", "text/plain; charset=UTF-8")
                return
            user = self.access.authenticate(headers, query)
            head, complete = await _read_head(receive, _QUERY_BODY_LIMIT)
            request = parse_request(scope["method"], scope["path"], query, head, complete)
            if request.database not in (None, self.database, *_SERVED_ALSO):
                raise Refused(ACCESS_DENIED, f"database {request.database} is not served: this store "
                                             f"serves {self.database} (and system)")
            if request.kind == "insert":
                await self._insert(user, request, head, complete, receive, send)
            else:
                await self._query(user, request, send)
        except (Denied, Refused) as exc:
            name = "READONLY" if exc.code == READONLY else (
                "AUTHENTICATION_FAILED" if exc.code == 516 else "ACCESS_DENIED")
            await _error(send, f"Code: {exc.code}. DB::Exception: {exc}. ({name})", exc.code)
        except RequestError as exc:
            await _error(send, f"Code: 400. DB::Exception: {exc}. (BAD_REQUEST_PARAMETER)", 400)
        except (StoreError, LaneBusy) as exc:
            await _error(send, str(exc), _exception_code(str(exc)))

    async def _query(self, user: str, request: ParsedRequest, send: Send) -> None:
        lane = self.lanes[user]

        def run() -> bytes:
            with lane.session() as session:
                statement = self.guard.statement(request.sql, session.format_statement)
                self.guard.check_query(statement, user, request.params,  # type: ignore[arg-type]
                                       request.read_only)
                return session.query_bytes(statement.sql, request.default_format, request.params,
                                           request.database)

        out = await anyio.to_thread.run_sync(run)
        fmt = request.default_format
        await _respond(send, 200, out, _CONTENT_TYPES.get(fmt, "text/tab-separated-values; charset=UTF-8"))

    async def _insert(self, user: str, request: ParsedRequest, head: bytes, complete: bool,
                      receive: Receive, send: Send) -> None:
        if request.read_only:
            raise Refused(READONLY, "the request is read-only (readonly parameter): an insert needs "
                                    "readonly=0")
        lane = self.lanes[user]

        def judge() -> Statement:  # before the body is read
            with lane.session() as session:
                return self.guard.statement(f"{request.sql} FORMAT {request.input_format}",
                                            session.format_statement)

        statement = await anyio.to_thread.run_sync(judge)
        self.guard.check_bulk_insert(statement, user)  # type: ignore[arg-type]
        suffix = f" FORMAT {statement.insert_format}"
        if not statement.sql.endswith(suffix):
            raise Refused(ACCESS_DENIED, "an insert of rows in the body takes nothing after FORMAT")
        chunks = await self._read_body(head, complete, receive)

        def run() -> int:
            with lane.session() as session:
                return session.insert_stream(statement.sql.removesuffix(suffix),
                                             statement.insert_format or "", chunks, request.database)

        rows = await anyio.to_thread.run_sync(run)
        size = sum(len(chunk) for chunk in chunks)
        summary = f'{{"written_rows":"{rows}","written_bytes":"{size}"}}'
        await _respond(send, 200, b"", "text/plain; charset=UTF-8",
                       [(b"x-clickhouse-summary", summary.encode())])

    async def _read_body(self, head: bytes, complete: bool, receive: Receive) -> list[bytes]:
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
        return chunks


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
               (b"content-length", str(len(body)).encode()),
               (b"x-content-type-options", b"nosniff")] + (extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send: Send, text: str, code: int) -> None:
    await _respond(send, _STATUS.get(code, 500), (text.rstrip() + "\n").encode(),
                   "text/plain; charset=UTF-8",
                   [(b"x-clickhouse-exception-code", str(code).encode())])


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
