"""EmbeddedStore: the ClickHouse engine in this process (chDB), data in a directory.

chDB runs one engine per process; any number of connections (sessions) to it run statements
in parallel, one statement at a time each, and the engine releases the GIL while it works.
`Session` is one such connection; `EmbeddedStore` is the aggregator's own session behind a
lock, and `open_session` gives the HTTP endpoint (`http_endpoint.py`) sessions of its own,
each with its settings (lanes.py), so that people's queries never wait for the aggregator's.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import chdb

from aggregator.store.base import Store, StoreError
from aggregator.store.params import encode_params

# What chDB raises: ChdbError for engine errors, RuntimeError for connection/insert setup.
_ENGINE_ERRORS = (chdb.ChdbError, RuntimeError)


def check_data_dir(path: Path) -> None:
    """Create the directory if needed; raise StoreError saying why it cannot be used."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"data dir {path}: cannot create it ({exc.strerror}); set store.data_dir "
                         "(or LLMHEALTH_STORE__DATA_DIR, --data-dir) to a writable directory") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise StoreError(f"data dir {path} is not writable by this user; set store.data_dir "
                         "(or LLMHEALTH_STORE__DATA_DIR, --data-dir) to a writable directory")


class Session:
    """One chDB connection: runs one statement at a time (callers serialise), remembers its
    current database, keeps the settings it was opened with for its whole life."""

    def __init__(self, data_dir: Path, database: str, settings: Mapping[str, Any] | None = None) -> None:
        target = str(data_dir.resolve())
        if settings:
            target += "?" + urlencode({k: str(v) for k, v in settings.items()})
        try:
            self._conn = chdb.connect(target)
        except _ENGINE_ERRORS as exc:
            raise StoreError(f"cannot open the embedded store in {data_dir}: {exc}") from None
        self.database = database
        self._current_db = "default"

    def _use(self, database: str) -> None:
        if database != self._current_db:
            self._conn.query("USE {db:Identifier}", "TSV", params={"db": database})
            self._current_db = database

    def query_bytes(self, sql: str, fmt: str, params: Mapping[str, str] | None = None,
                    database: str | None = None) -> bytes:
        """Run one statement; return its output in `fmt` (a FORMAT clause in `sql` wins).
        `params` are in ClickHouse's text form (params.encode_params, or as sent over HTTP)."""
        try:
            self._use(database or self.database)
            result = self._conn.query(sql, fmt, params=dict(params or {}))
        except _ENGINE_ERRORS as exc:
            raise StoreError(str(exc)) from None
        return result.bytes() if hasattr(result, "bytes") else bytes(result)

    def insert_stream(self, insert_sql: str, fmt: str, chunks: Iterable[bytes],
                      database: str | None = None) -> int:
        """Stream `chunks` (rows in input format `fmt`) into `insert_sql` (an INSERT without
        FORMAT); return rows written. Nothing is committed if any chunk fails to parse."""
        try:
            self._use(database or self.database)
            with self._conn.send_insert(insert_sql, fmt) as inserter:
                for chunk in chunks:
                    inserter.append(chunk)
                return inserter.finish().rows_written
        except _ENGINE_ERRORS as exc:
            raise StoreError(str(exc)) from None

    def format_statement(self, sql: str) -> str:
        """The engine's one-line formatting of `sql`; raises StoreError on a syntax error or
        on more than one statement."""
        try:
            result = self._conn.query("SELECT formatQuerySingleLine({sql:String})", "TSVRaw",
                                      params=encode_params({"sql": sql}))
        except _ENGINE_ERRORS as exc:
            raise StoreError(str(exc)) from None
        return result.bytes().decode("utf-8").removesuffix("\n")

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class EmbeddedStore(Store):
    """chDB with its data in `data_dir`: the aggregator's session, behind a lock."""

    def __init__(self, data_dir: Path, database: str) -> None:
        check_data_dir(data_dir)
        self.database = database
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._session = Session(data_dir, database)

    def open_session(self, settings: Mapping[str, Any] | None = None) -> Session:
        """A new session on this engine (for the HTTP endpoint), with `settings` for its life."""
        return Session(self.data_dir, self.database, settings)

    def query_bytes(self, sql: str, fmt: str, params: Mapping[str, Any] | None = None,
                    database: str | None = None) -> bytes:
        """Run one statement; return its output in `fmt` (a FORMAT clause in `sql` wins)."""
        with self._lock:
            return self._session.query_bytes(sql, fmt, encode_params(params), database)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.query_bytes(sql, "TSV", params)

    def execute_in_default(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.query_bytes(sql, "TSV", params, database="default")

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        out = self.query_bytes(sql, "JSONEachRow", params)
        return [json.loads(line) for line in out.splitlines() if line]

    def close(self) -> None:
        with self._lock:
            self._session.close()
