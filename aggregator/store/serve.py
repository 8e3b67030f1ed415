"""The embedded store as a service: the engine in a data directory, its ClickHouse HTTP
endpoint served by uvicorn. `llmhealth store` runs only this; `llmhealth run` runs it beside
the other parts."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn

from aggregator.store.base import StoreError
from aggregator.store.embedded import EmbeddedStore, check_data_dir
from aggregator.store.http_endpoint import ClickHouseHTTP
from llmhealth_config.model import StoreSettings

log = logging.getLogger("llmhealth.store")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def private_data_dir(data_dir: Path) -> Path:
    """Create `data_dir` and its `run/` directory if needed, make both and what `run/` holds
    private to this user (an older version left them readable), and return `run/`. Raises
    StoreError saying why the directory cannot be used."""
    check_data_dir(data_dir)
    run_dir = data_dir / "run"
    try:
        run_dir.mkdir(exist_ok=True)
        for path in (data_dir, run_dir, *run_dir.iterdir()):
            path.chmod(0o700 if path.is_dir() else 0o600)
    except OSError as exc:
        raise StoreError(f"data dir {data_dir}: {exc.strerror} ({exc.filename}); set "
                         "store.data_dir to a directory of this user") from None
    return run_dir


@asynccontextmanager
async def serving(store: EmbeddedStore, settings: StoreSettings,
                  passwords: Mapping[str, str]) -> AsyncIterator[ClickHouseHTTP]:
    """Serve `store` on store.http_host:http_port while the block runs; then stop the server
    and close the endpoint's sessions (not the store)."""
    endpoint = ClickHouseHTTP.serving(store, settings, passwords)
    server = uvicorn.Server(uvicorn.Config(
        endpoint, host=settings.http_host, port=settings.http_port, log_level="warning",
        access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise StoreError(f"the store's HTTP endpoint could not listen on "
                                 f"{settings.http_host}:{settings.http_port}")
            await asyncio.sleep(0.05)
        log.info("embedded store: ClickHouse HTTP endpoint on http://%s:%d (data in %s)",
                 settings.http_host, settings.http_port, settings.data_dir)
        yield endpoint
    finally:
        server.should_exit = True
        await task
        endpoint.close()


async def serve_until_stopped(settings: StoreSettings, passwords: Mapping[str, str],
                              exposure: str | None) -> int:
    """`llmhealth store`: open the store (creating its database), serve it until SIGINT,
    SIGTERM or SIGHUP, close it; return the exit code."""
    store = EmbeddedStore(settings.data_dir, settings.database)
    try:
        store.ensure_database()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
        async with serving(store, settings, passwords):
            if exposure:
                log.warning("%s", exposure)
            log.info("pid %d; Ctrl-C stops the store", os.getpid())
            await stop.wait()
            log.info("stopping …")
    finally:
        store.close()
    log.info("stopped")
    return 0
