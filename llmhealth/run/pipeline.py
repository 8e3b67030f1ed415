"""`llmhealth run`: start the whole pipeline on this machine, supervise it, stop it cleanly.

In this process: the embedded store (chDB) with its ClickHouse HTTP endpoint (as `llmhealth
store` serves it), the aggregator worker with its HTTP API (`GET /metrics`, as `llmhealth
aggregator` serves it) and the live view. Child processes, each the same
command as when the part runs alone: the simulator (demo only), `llmhealth collector` (which
becomes rotel), `llmhealth prober` and the demo application (demo only, when the `demo` extra
is installed: llmhealth/run/demo.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import yaml
from rich.console import Console
from rich.live import Live

from aggregator import sql
from aggregator.api.server import ApiUnavailable
from aggregator.migrate import migrate
from aggregator.service import AggregatorService
from aggregator.status_view import render
from aggregator.store.embedded import EmbeddedStore
from aggregator.store.password import passwords
from aggregator.store.serve import serving
from llmhealth.probe_runner import OnceRunner
from llmhealth.run import environment
from llmhealth.run.children import Child
from llmhealth.run.demo import demo_app_command
from llmhealth.run.ports import PortInUse, check_free
from llmhealth_config.model import Config

log = logging.getLogger("llmhealth.run")
LIVE_REFRESH_S = 2.0
PLAIN_STATUS_EVERY_S = 30.0
SIMULATOR_START_S = 10.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
API = "aggregator HTTP API"  # listens on aggregator.http_host; the others on store.http_host
PROBER = "prober activity endpoint"  # listens on prober.http_host


def _ports(config: Config, demo: bool) -> dict[str, tuple[int, str]]:
    ports = {
        "embedded store HTTP endpoint": (config.store.http_port,
            "--store-port, LLMHEALTH_STORE__HTTP_PORT or store.http_port"),
        API: (config.aggregator.http_port,
            "--api-port, LLMHEALTH_AGGREGATOR__HTTP_PORT or aggregator.http_port"),
        PROBER: (config.prober.http_port,
            "--prober-port, LLMHEALTH_PROBER__HTTP_PORT or prober.http_port"),
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
    """The children, each given exactly this run's configuration (a file, and no
    `LLMHEALTH_…` variable but the store password the collector needs)."""
    llmhealth = [sys.executable, "-m", "llmhealth"]
    config_file = run_dir / "config.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    children = []
    if demo:
        children.append(Child("simulator", [*llmhealth, "simulate", "--host",
                                            config.simulator.host, "--port", str(config.simulator.port)]))
    children.append(Child("rotel", [*llmhealth, "collector", "--config", str(config_file)],
                          {config.store.password_env: store_password}))
    # Per-probe lines are DEBUG: into the run log file, not onto the terminal (llmhealth/logs.py).
    children.append(Child("prober",
                          [*llmhealth, "prober", "--config", str(config_file), "--log-level", "debug"],
                          environment.prober(os.environ, config.targets)))
    if demo:
        app = demo_app_command(config)
        if app:
            children.append(Child("demo-app", app))
        else:
            log.warning("no demo application (passive traffic): it needs the demo extra, "
                        "pip install 'llmhealth[demo]'")
    return children


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
    the status view's included), the children are stopped, the exporters first (demo
    application, prober), then the aggregator and the store; an exception is raised after that. `exposure` is logged as a warning once
    the store listens (access.exposure_warning: the store is reachable from other machines)."""
    ports = _ports(config, demo)
    api, prober = {API: ports.pop(API)}, {PROBER: ports.pop(PROBER)}
    check_free(config.store.http_host, ports)
    check_free(config.aggregator.http_host, api)
    check_free(config.prober.http_host, prober)
    users = passwords(config.store, generate=True)
    store = EmbeddedStore(config.store.data_dir, config.store.database)
    try:
        applied = migrate(store, config.retention)
        log.info("schema: %s", f"applied {len(applied)} migrations" if applied else "up to date")
        async with serving(store, config.store, users):
            if exposure:
                log.warning("%s", exposure)
            status_task = await _supervise(store, config, demo, users["default"], console, live)
    finally:
        store.close()
        log.info("stopped")
    if not status_task.cancelled():
        status_task.result()  # the status view failed: raise its error now that all has stopped
    return 0


async def _supervise(store: EmbeddedStore, config: Config, demo: bool, store_password: str,
                     console: Console, live: bool) -> asyncio.Task:
    """Run the worker, its HTTP API and the children until a stop signal; stop them, prober
    first. Returns the status view's task (done) for the caller to raise its error once all
    has stopped. Raises PortInUse when the API cannot listen, before anything started."""
    children = _children(config, config.store.data_dir / "run", demo, store_password)
    service = AggregatorService(store, config, how=_ports(config, demo)[API][1],
                                probe_runner=OnceRunner(config))
    try:
        service.start()
    except ApiUnavailable as exc:
        raise PortInUse(str(exc)) from None
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
        for child in reversed(children):  # the exporters first: their last export reaches rotel
            await child.stop()
        service.stop()
    return status_task
