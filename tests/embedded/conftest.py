"""Fixtures that start real servers: the store's HTTP endpoint on an ephemeral port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from aggregator.store.embedded import EmbeddedStore
from aggregator.store.http_endpoint import ClickHouseHTTP
from llmhealth_config.model import ReaderLimits, StoreSettings
from tests.conftest import migrated_store

PASSWORD = "test-default-password"
READER_PASSWORD = "test-reader-password"


@dataclass(frozen=True)
class Endpoint:
    """A running endpoint: its base URL and clients logged in as each user."""

    url: str
    default: httpx.Client
    reader: httpx.Client


def serve(store: EmbeddedStore, settings: StoreSettings) -> Iterator[str]:
    """Serve `store` with `settings` on an ephemeral port; yields the base URL."""
    app = ClickHouseHTTP.serving(store, settings, {"default": PASSWORD, "reader": READER_PASSWORD})
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "endpoint did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        app.close()


def endpoint_for(store: EmbeddedStore) -> Iterator[Endpoint]:
    """Serve `store` (max insert 1 MiB, reader queries limited to 5 s, 2 s queue)."""
    settings = StoreSettings(max_insert_bytes=1024 * 1024,
                             reader_limits=ReaderLimits(max_execution_time=5, queue_timeout=2))
    for url in serve(store, settings):
        with httpx.Client(base_url=url, auth=("default", PASSWORD), timeout=30) as default, \
                httpx.Client(base_url=url, auth=("reader", READER_PASSWORD), timeout=30) as reader:
            yield Endpoint(url, default, reader)


@pytest.fixture
def endpoint(store: EmbeddedStore) -> Iterator[Endpoint]:
    """The store's ClickHouse HTTP endpoint, logged in as each user."""
    yield from endpoint_for(store)


TABLES = ("SELECT name, total_rows FROM system.tables WHERE database = {db:String} "
          "AND total_rows IS NOT NULL ORDER BY name")  # the tables that hold rows (no views)


@dataclass(frozen=True)
class ReusableStore:
    """A migrated store shared by a module's tests: the tables that were empty once it was
    migrated (`emptied`: all but the migrations' own record) and those that were not (`kept`)."""

    store: EmbeddedStore
    emptied: tuple[str, ...]
    kept: tuple[str, ...]

    def fresh(self) -> EmbeddedStore:
        """The store as a freshly migrated one: every table migration left empty is emptied
        again, merges started again (should a test have stopped them). About 0.05 s, where
        migrating a new database takes about 1.5 s."""
        tables = [r["name"] for r in self.store.rows(TABLES, {"db": self.store.database})]
        assert sorted(tables) == sorted(self.emptied + self.kept), "a test changed the schema"
        for table in self.emptied:
            self.store.execute("TRUNCATE TABLE {table:Identifier}", {"table": table})
            self.store.execute("SYSTEM START MERGES {table:Identifier}", {"table": table})
        return self.store


@pytest.fixture(scope="module")
def reusable_store(engine_dir: Path) -> Iterator[ReusableStore]:
    """One migrated store for a module whose tests only write rows: such a module overrides
    `store` with `reusable_store.fresh()` instead of migrating a new database per test."""
    with migrated_store(engine_dir) as db:
        rows = db.rows(TABLES, {"db": db.database})
        yield ReusableStore(db, tuple(r["name"] for r in rows if r["total_rows"] == 0),
                            tuple(r["name"] for r in rows if r["total_rows"] != 0))
