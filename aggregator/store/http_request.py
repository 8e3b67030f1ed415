"""Parse a ClickHouse HTTP-interface request into what the embedded store must do.

The rules follow ClickHouse's HTTP interface: the statement comes from the `query` URL
parameter, from the body, or from both (`query` first, then the body); an
`INSERT … FORMAT <fmt>` in `query` takes its rows from the body; `database` sets the current
database; `param_<name>` binds `{name:Type}`; `default_format` replaces TabSeparated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

_INSERT_WITH_FORMAT = re.compile(
    r"^\s*(INSERT\s+INTO\s+.+?)\s+FORMAT\s+([A-Za-z][A-Za-z0-9]*)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Settings that are accepted and change nothing here: the embedded insert is synchronous and
# uncompressed, and the store, not the client, sets the limits of a user's queries
# (store.reader_limits). `readonly` other than 0 makes the request read-only.
IGNORED_SETTINGS = frozenset({
    "async_insert", "wait_for_async_insert", "wait_end_of_query", "send_progress_in_http_headers",
    "max_execution_time", "max_result_rows", "max_result_bytes", "result_overflow_mode",
    "output_format_json_quote_64bit_integers", "date_time_output_format", "session_id",
    "session_timeout", "query_id", "enable_http_compression",
    "insert_deduplicate", "extremes", "readonly", "compress", "max_block_size",
})


class RequestError(ValueError):
    """The request cannot be served; the text names the parameter and what to do."""


@dataclass(frozen=True)
class ParsedRequest:
    kind: Literal["ping", "query", "insert"]
    sql: str = ""
    input_format: str = ""
    database: str | None = None
    default_format: str = "TabSeparated"
    params: dict[str, str] = field(default_factory=dict)
    read_only: bool = False
    """GET (as in ClickHouse) or a nonzero `readonly` parameter: the statement may only read."""


def is_ping(method: str, path: str, query: dict[str, str]) -> bool:
    """A liveness check (`/ping`, or `/` without a query): answered without authentication."""
    return path in ("/ping", "/replicas_status") or (path == "/" and method in ("GET", "HEAD")
                                                     and "query" not in query)


def parse_request(method: str, path: str, query: dict[str, str], body_head: bytes,
                  body_complete: bool) -> ParsedRequest:
    """Decide what a request asks for.

    `body_head` is the body when `body_complete`, else its first bytes (an insert's rows are
    then streamed separately). Raises RequestError for anything the endpoint does not serve.
    """
    if is_ping(method, path, query):
        return ParsedRequest(kind="ping")
    if path != "/":
        raise RequestError(f"unknown path {path!r}: use / (queries) or /ping")
    if method not in ("GET", "POST"):
        raise RequestError(f"method {method} not allowed: use GET or POST")
    database = query.get("database") or None
    if database is not None and not _IDENTIFIER.match(database):
        raise RequestError(f"invalid database name {database!r}")
    params = {k[len("param_"):]: v for k, v in query.items() if k.startswith("param_")}
    _check_settings(query)
    if query.get("decompress") == "1":
        raise RequestError("compressed request bodies (decompress=1) are not supported by the "
                           "embedded store: run the collector with compression none")
    default_format = query.get("default_format") or "TabSeparated"
    read_only = method == "GET" or query.get("readonly", "0") not in ("", "0")
    text = query.get("query", "")
    match = _INSERT_WITH_FORMAT.match(text) if method == "POST" else None
    if match:
        return ParsedRequest(kind="insert", sql=match.group(1), input_format=match.group(2),
                             database=database, default_format=default_format, params=params,
                             read_only=read_only)
    if method == "POST" and not body_complete:
        raise RequestError("a query body this large must be an INSERT … FORMAT <fmt> given in "
                           "the `query` URL parameter, with the rows in the body")
    if method == "POST" and body_head:
        try:
            body_text = body_head.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError("the request body is not UTF-8 text; binary rows need "
                               "`query=INSERT … FORMAT <fmt>` in the URL") from None
        text = f"{text}\n{body_text}" if text else body_text
    if not text.strip():
        raise RequestError("empty query: pass it as the `query` URL parameter or the POST body")
    return ParsedRequest(kind="query", sql=text, database=database,
                         default_format=default_format, params=params, read_only=read_only)


def _check_settings(query: dict[str, str]) -> None:
    for name in query:
        if name in ("query", "database", "default_format", "decompress") or name.startswith("param_"):
            continue
        if name not in IGNORED_SETTINGS:
            raise RequestError(f"setting {name!r} is not supported by the embedded store's HTTP "
                               "endpoint; put it in the query's SETTINGS clause instead")
