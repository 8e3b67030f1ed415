"""The aggregator process (`llmhealth aggregator`): the evaluation worker against the store
`store.url` names (or the embedded store's endpoint on this machine), and its HTTP API
(`GET /metrics`) on aggregator.http_host:http_port, and its notifications, until SIGINT or
SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading

from aggregator.api.server import ApiUnavailable
from aggregator.migrate import check_schema, migrate
from aggregator.service import AggregatorService
from aggregator.store.base import Store, StoreError
from aggregator.store.factory import connect_store
from llmhealth_config.model import Config

log = logging.getLogger("llmhealth.aggregator")


def prepare(config: Config, *, apply_migrations: bool) -> Store:
    """Connect, check that the store answers, then migrate it (or, without
    `apply_migrations`, check that its schema is this version's). Raises StoreError saying
    what is wrong and what to do; nothing is left open then."""
    store = connect_store(config)
    try:
        store.rows("SELECT 1 AS ok")
        if apply_migrations:
            applied = migrate(store, config.retention)
            log.info("schema: %s", f"applied {len(applied)} migrations" if applied else "up to date")
        else:
            check_schema(store)
    except StoreError:
        store.close()
        raise
    return store


def serve(store: Store, service: AggregatorService) -> int:
    """Serve the HTTP API and evaluate every aggregator.interval until SIGINT or SIGTERM;
    return the exit code (1, logged, when the API cannot listen). Closes `store`."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        service.start()
    except ApiUnavailable as exc:
        log.error("%s", exc)
        store.close()
        return 1
    try:
        stop.wait()
    finally:
        log.info("stopping …")
        service.stop()
        store.close()
        log.info("stopped")
    return 0
