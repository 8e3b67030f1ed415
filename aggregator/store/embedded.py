"""EmbeddedStore: the ClickHouse engine in this process (chDB), data in a directory.

chDB allows one engine per process and one statement at a time per connection, so every
call takes a lock; the engine releases the GIL while it works. The HTTP endpoint
(`http_endpoint.py`) serves the same engine to the collector and to curl.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

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


class EmbeddedStore(Store):
    """chDB with its data in `data_dir`. One instance per process."""

    def __init__(self, data_dir: Path, database: str) -> None:
        check_data_dir(data_dir)
        self.database = database
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._current_db = "default"
        try:
            self._conn = chdb.connect(str(data_dir.resolve()))
        except _ENGINE_ERRORS as exc:
            raise StoreError(f"cannot open the embedded store in {data_dir}: {exc}") from None

    def _use(self, database: str) -> None:
        if database != self._current_db:
            self._conn.query("USE {db:Identifier}", "TSV", params={"db": database})
            self._current_db = database

    def query_bytes(self, sql: str, fmt: str, params: Mapping[str, Any] | None = None,
                    database: str | None = None) -> bytes:
        """Run one statement; return its output in `fmt` (a FORMAT clause in `sql` wins)."""
        try:
            with self._lock:
                self._use(database or self.database)
                result = self._conn.query(sql, fmt, params=encode_params(params))
        except _ENGINE_ERRORS as exc:
            raise StoreError(str(exc)) from None
        return result.bytes() if hasattr(result, "bytes") else bytes(result)

    def insert_stream(self, insert_sql: str, fmt: str, chunks: Iterable[bytes],
                      database: str | None = None) -> int:
        """Stream `chunks` (rows in input format `fmt`) into `insert_sql` (an INSERT without
        FORMAT); return rows written. Nothing is committed if any chunk fails to parse."""
        try:
            with self._lock:
                self._use(database or self.database)
                with self._conn.send_insert(insert_sql, fmt) as inserter:
                    for chunk in chunks:
                        inserter.append(chunk)
                    return inserter.finish().rows_written
        except _ENGINE_ERRORS as exc:
            raise StoreError(str(exc)) from None

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.query_bytes(sql, "TSV", params)

    def execute_in_default(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.query_bytes(sql, "TSV", params, database="default")

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        out = self.query_bytes(sql, "JSONEachRow", params)
        return [json.loads(line) for line in out.splitlines() if line]

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
