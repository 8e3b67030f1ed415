"""The aggregator process (`llmhealth aggregator`): the evaluation worker alone, against the
store `store.url` names (or the embedded store's endpoint on this machine), until SIGINT or
SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading

from aggregator.migrate import check_schema, migrate
from aggregator.store.base import Store, StoreError
from aggregator.store.factory import connect_store
from aggregator.worker import Worker
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


def serve(store: Store, config: Config) -> int:
    """Evaluate every aggregator.interval until SIGINT or SIGTERM; return the exit code."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker = Worker(store, config)
    worker.start()
    try:
        stop.wait()
    finally:
        log.info("stopping …")
        worker.stop()
        store.close()
        log.info("stopped")
    return 0
