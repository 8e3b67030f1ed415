"""The one-machine commands: `run` (the whole pipeline), `migrate`, `simulate`."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from llmhealth.cli.common import ConfigOpt, StoreUrlOpt, app, fail, load, nested


@app.command()
def run(
    config: ConfigOpt = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory of the embedded store.")] = None,
    store_port: Annotated[int | None, typer.Option(help="Port of the store's ClickHouse HTTP endpoint.")] = None,
    otlp_grpc_port: Annotated[int | None, typer.Option(help="Collector OTLP/gRPC port.")] = None,
    otlp_http_port: Annotated[int | None, typer.Option(help="Collector OTLP/HTTP port.")] = None,
    simulator_port: Annotated[int | None, typer.Option(help="Demo simulator port.")] = None,
    api_port: Annotated[int | None, typer.Option(
        help="Port of the aggregator's HTTP API (GET /metrics).")] = None,
    prober_port: Annotated[int | None, typer.Option(
        help="Port of the prober's activity endpoint (GET /activity).")] = None,
    live: Annotated[bool, typer.Option(help="Live status table (default on a terminal).")] = True,
) -> None:
    """Run the whole pipeline here: embedded store, collector, prober, aggregator."""
    os.umask(0o077)  # what the run writes (store, run dir, logs, children's files) is private
    from aggregator.store.base import StoreError
    from llmhealth import logs
    from llmhealth.run.pipeline import run_pipeline
    from llmhealth.run.ports import PortInUse
    from llmhealth.run.preflight import Refused, prepare

    overrides = nested({("store", "data_dir"): data_dir, ("store", "http_port"): store_port,
                         ("collector", "grpc_port"): otlp_grpc_port,
                         ("collector", "http_port"): otlp_http_port,
                         ("simulator", "port"): simulator_port,
                         ("aggregator", "http_port"): api_port,
                         ("prober", "http_port"): prober_port})
    try:
        run = prepare(load(config, overrides), os.environ)
    except Refused as exc:
        fail(str(exc))
    console = Console(stderr=True)
    logs.configure(console, run.run_dir / "llmhealth.log")
    if run.demo:
        logging.getLogger("llmhealth.run").info(
            "no targets configured: monitoring the built-in demo (simulator on %s:%d)",
            run.config.simulator.host, run.config.simulator.port)
    try:
        code = asyncio.run(run_pipeline(run.config, demo=run.demo, console=console,
                                        live=live and console.is_terminal, exposure=run.exposure))
    except (PortInUse, StoreError) as exc:
        fail(str(exc))
    raise typer.Exit(code)


@app.command()
def migrate(config: ConfigOpt = None,
            data_dir: Annotated[Path | None, typer.Option(help="Embedded store data directory.")] = None,
            store_url: StoreUrlOpt = None) -> None:
    """Apply pending schema migrations and the configured retention, then exit.

    To the embedded store in the data dir, or to the store that store.url names."""
    from aggregator.migrate import migrate as apply
    from aggregator.store.base import StoreError
    from aggregator.store.factory import open_store
    from llmhealth import logs

    cfg = load(config, nested({("store", "data_dir"): data_dir, ("store", "url"): store_url}))
    logs.configure(Console(stderr=True))
    try:
        store = open_store(cfg)
        applied = apply(store, cfg.retention)
        store.close()
    except StoreError as exc:
        fail(str(exc))
    typer.echo(f"applied {len(applied)} migrations" if applied else "schema is up to date")


@app.command()
def simulate(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8900,
    scenario: Annotated[Path | None, typer.Option(help="YAML file of model behaviours (default: the demo).")] = None,
) -> None:
    """Serve fake OpenAI-compatible models with scripted faults."""
    from simulator.scenarios import demo_models, load_models
    from simulator.server import serve

    try:
        models = load_models(scenario) if scenario else demo_models()
    except ValueError as exc:
        fail(str(exc))
    serve(models, host=host, port=port)

