"""Fixtures that start real servers: the store's HTTP endpoint on an ephemeral port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from aggregator.store.embedded import EmbeddedStore
from aggregator.store.http_endpoint import ClickHouseHTTP


@pytest.fixture
def endpoint(store: EmbeddedStore) -> Iterator[str]:
    """Base URL of a ClickHouse HTTP endpoint serving `store` (max insert 1 MiB)."""
    server = uvicorn.Server(uvicorn.Config(ClickHouseHTTP(store, 1024 * 1024), host="127.0.0.1",
                                           port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "endpoint did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
