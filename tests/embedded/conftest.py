"""Fixtures that start real servers: the store's HTTP endpoint on an ephemeral port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from aggregator.store.embedded import EmbeddedStore
from aggregator.store.http_endpoint import ClickHouseHTTP
from llmhealth_config.model import ReaderLimits, StoreSettings

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
