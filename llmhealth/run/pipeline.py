"""`llmhealth run`: start the whole pipeline on this machine, supervise it, stop it cleanly.

In this process: the embedded store (chDB) with its ClickHouse HTTP endpoint, the aggregator
worker and the live view. Child processes: the simulator (demo only), rotel and the prober.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import uvicorn
import yaml
from rich.console import Console
from rich.live import Live

from aggregator import sql
from aggregator.migrate import migrate
from aggregator.status_view import render
from aggregator.store.embedded import EmbeddedStore
from aggregator.store.http_endpoint import ClickHouseHTTP
from aggregator.store.password import passwords
from aggregator.worker import Worker
from llmhealth.config.model import Config
from llmhealth.run import environment, rotel
from llmhealth.run.children import Child
from llmhealth.run.ports import check_free

log = logging.getLogger("llmhealth.run")
LIVE_REFRESH_S = 2.0
PLAIN_STATUS_EVERY_S = 30.0
SIMULATOR_START_S = 10.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _ports(config: Config, demo: bool) -> dict[str, tuple[int, str]]:
    ports = {
        "embedded store HTTP endpoint": (config.store.http_port,
            "--store-port, LLMHEALTH_STORE__HTTP_PORT or store.http_port"),
        "collector OTLP/gRPC": (config.collector.grpc_port,
            "--otlp-grpc-port, LLMHEALTH_COLLECTOR__GRPC_PORT or collector.grpc_port"),
        "collector OTLP/HTTP": (config.collector.http_port,
            "--otlp-http-port, LLMHEALTH_COLLECTOR__HTTP_PORT or collector.http_port"),
    }
    if demo:
        ports["demo simulator"] = (config.simulator.port,
            "--simulator-port, LLMHEALTH_SIMULATOR__PORT or simulator.port")
    return ports


def _children(config: Config, run_dir: Path, demo: bool, store_password: str) -> list[Child]:
    python = sys.executable
    config_file = run_dir / "config.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    children = []
    if demo:
        children.append(Child("simulator", [python, "-m", "llmhealth", "simulate", "--host",
                                            config.simulator.host, "--port", str(config.simulator.port)]))
    argv, env = rotel.command(
        grpc_port=config.collector.grpc_port, http_port=config.collector.http_port,
        store_url=f"http://{config.store.http_host}:{config.store.http_port}",
        database=config.store.database, user="default", password=store_password,
        batch_timeout_s=config.collector.batch_timeout)
    children.append(Child("rotel", argv, env))
    # Per-probe lines are DEBUG: into the run log file, not onto the terminal (llmhealth/logs.py).
    children.append(Child("prober",
                          [python, "-m", "llmhealth", "probe", "--config", str(config_file),
                           "--log-level", "debug"],
                          environment.prober(os.environ, config.targets)))
    return children


async def _serve_store(app: ClickHouseHTTP, config: Config) -> tuple[uvicorn.Server, asyncio.Task]:
    server = uvicorn.Server(uvicorn.Config(
        app, host=config.store.http_host, port=config.store.http_port, log_level="warning",
        access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the store's HTTP endpoint stopped during start-up")
        await asyncio.sleep(0.05)
    log.info("embedded store: ClickHouse HTTP endpoint on http://%s:%d (data in %s)",
             config.store.http_host, config.store.http_port, config.store.data_dir)
    return server, task


async def _wait_listening(host: str, port: int) -> None:
    """Return once `host:port` accepts a connection, or log a warning after
    `SIMULATOR_START_S` seconds and return anyway."""
    loop = asyncio.get_running_loop()
    until = loop.time() + SIMULATOR_START_S
    while loop.time() < until:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    log.warning("the simulator does not listen on %s:%d after %g s; starting the rest anyway",
                host, port, SIMULATOR_START_S)


async def _status_loop(store: EmbeddedStore, console: Console, live: bool) -> None:
    query = sql.query("latest_status")
    if live:
        with Live(render([]), console=console, refresh_per_second=2, transient=False) as view:
            while True:
                rows = await asyncio.to_thread(store.rows, query)
                view.update(render(rows))
                await asyncio.sleep(LIVE_REFRESH_S)
    while True:
        await asyncio.sleep(PLAIN_STATUS_EVERY_S)
        rows = await asyncio.to_thread(store.rows, query)
        log.info("status: %s", ", ".join(f"{r['target']}={r['status']}" for r in rows) or "none yet")


async def run_pipeline(config: Config, *, demo: bool, console: Console, live: bool,
                       exposure: str | None = None) -> int:
    """Run until SIGINT, SIGTERM or SIGHUP; return the exit code. Raises PortInUse/StoreError
    at start. Once children may have started, however the run ends (a signal or an exception,
    the status view's included), the children are stopped, prober first, then the aggregator
    and the store; an exception is raised after that. `exposure` is logged as a warning once
    the store listens (access.exposure_warning: the store is reachable from other machines)."""
    check_free(config.store.http_host, _ports(config, demo))
    users = passwords(config.store, generate=True)
    store = EmbeddedStore(config.store.data_dir, config.store.database)
    run_dir = config.store.data_dir / "run"
    run_dir.mkdir(exist_ok=True)
    applied = migrate(store, config.retention)
    log.info("schema: %s", f"applied {len(applied)} migrations" if applied else "up to date")
    endpoint = ClickHouseHTTP.serving(store, config.store, users)
    server, server_task = await _serve_store(endpoint, config)
    if exposure:
        log.warning("%s", exposure)
    worker = Worker(store, config)
    worker.start()
    children = _children(config, run_dir, demo, users["default"])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    status_task = asyncio.create_task(_status_loop(store, console, live))
    try:
        for child in children:
            child.start()
            if child.name == "simulator":  # so that the prober's first probes find it
                await _wait_listening(config.simulator.host, config.simulator.port)
        log.info("running %d targets%s; Ctrl-C stops everything", len(config.targets),
                 " (built-in demo)" if demo else "")
        await stop.wait()
    finally:
        log.info("stopping …")
        status_task.cancel()
        await asyncio.wait([status_task])
        for child in reversed(children):  # prober first, so its last export reaches rotel
            await child.stop()
        worker.stop()
        server.should_exit = True
        await server_task
        endpoint.close()
        store.close()
        log.info("stopped")
    if not status_task.cancelled():
        status_task.result()  # the status view failed: raise its error now that all has stopped
    return 0
