"""One command per part of the production topology: `store`, `collector`, `prober`,
`aggregator`, and `check` (the health check compose runs in each part's container). Each
part runs in the foreground until SIGINT or SIGTERM; docs/deploy.md shows how they connect."""

from __future__ import annotations

import asyncio
import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from llmhealth.cli.common import (
    ConfigOpt,
    LogLevel,
    LogLevelOpt,
    StoreUrlOpt,
    app,
    fail,
    load,
    nested,
)

PortOpt = Annotated[int | None, typer.Option(help="Port of the embedded store's HTTP endpoint.")]


@app.command()
def store(config: ConfigOpt = None,
          data_dir: Annotated[Path | None, typer.Option(help="Data directory.")] = None,
          host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
          port: PortOpt = None) -> None:
    """The embedded store alone: chDB with its ClickHouse HTTP endpoint."""
    os.umask(0o077)
    from aggregator.store.access import exposure_warning
    from aggregator.store.base import StoreError
    from aggregator.store.password import passwords
    from aggregator.store.serve import private_data_dir, serve_until_stopped
    from llmhealth import logs

    cfg = load(config, nested({("store", "data_dir"): data_dir, ("store", "http_host"): host,
                               ("store", "http_port"): port}))
    try:
        exposure = exposure_warning(cfg.store, os.environ)
        private_data_dir(cfg.store.data_dir)
        users = passwords(cfg.store, generate=True)
    except StoreError as exc:
        fail(str(exc))
    logs.configure(Console(stderr=True))
    try:
        code = asyncio.run(serve_until_stopped(cfg.store, users, exposure))
    except StoreError as exc:
        fail(str(exc))
    raise typer.Exit(code)


@app.command()
def collector(config: ConfigOpt = None, store_url: StoreUrlOpt = None,
              grpc_port: Annotated[int | None, typer.Option(help="OTLP/gRPC port.")] = None,
              http_port: Annotated[int | None, typer.Option(help="OTLP/HTTP port.")] = None) -> None:
    """The collector (rotel) alone: OTLP in on this machine, into the store over HTTP."""
    from aggregator.store.base import StoreError
    from aggregator.store.factory import store_password
    from llmhealth.run import rotel
    from llmhealth_config.store_url import parse_store_url

    cfg = load(config, nested({("store", "url"): store_url, ("collector", "grpc_port"): grpc_port,
                               ("collector", "http_port"): http_port}))
    url = parse_store_url(cfg.store.endpoint_url)
    if url.scheme == "clickhouse":
        fail("the collector writes over ClickHouse's HTTP interface: give store.url as "
             "http(s)://user@host:8123/ for it (the native clickhouse:// is for the aggregator "
             "and migrate)")
    try:
        password = store_password(cfg)
        argv, env = rotel.command(
            grpc_port=cfg.collector.grpc_port, http_port=cfg.collector.http_port,
            store_url=url.endpoint.rstrip("/"), database=cfg.store.database, user=url.user,
            password=password, batch_timeout_s=cfg.collector.batch_timeout)
    except (StoreError, FileNotFoundError) as exc:
        fail(str(exc))
    # rotel takes this process's place (signals reach it directly); it needs none of the
    # LLMHEALTH_… variables, the store password among them.
    keep = {k: v for k, v in os.environ.items() if not k.startswith("LLMHEALTH_")}
    os.execve(argv[0], argv, {**keep, **env})


@app.command()
def prober(config: ConfigOpt = None,
           log_level: LogLevelOpt = LogLevel.info) -> None:
    """The prober alone: probe the targets, export OTLP to collector.endpoint."""
    from prober.main import main

    raise typer.Exit(main(load(config), log_level.level))


@app.command()
def aggregator(config: ConfigOpt = None, store_url: StoreUrlOpt = None,
               no_migrate: Annotated[bool, typer.Option(
                   "--no-migrate", help="Refuse to start on an older schema instead of "
                                        "migrating it.")] = False,
               log_level: LogLevelOpt = LogLevel.info) -> None:
    """The aggregator alone: evaluate every target against the store, every interval."""
    from aggregator.main import prepare, serve
    from aggregator.notify.endpoints import NotifierSetupError
    from aggregator.service import AggregatorService
    from aggregator.store.base import StoreError
    from llmhealth import logs
    from llmhealth.probe_runner import OnceRunner

    cfg = load(config, nested({("store", "url"): store_url}))
    logs.configure(Console(stderr=True), level=log_level.level)
    try:
        store = prepare(cfg, apply_migrations=not no_migrate)
    except StoreError as exc:
        fail(str(exc))
    try:
        service = AggregatorService(store, cfg, probe_runner=OnceRunner(cfg))
    except NotifierSetupError as exc:
        store.close()
        fail(str(exc))
    raise typer.Exit(serve(store, service))


class Component(str, Enum):
    aggregator = "aggregator"
    prober = "prober"
    store = "store"


@app.command()
def check(component: Annotated[Component, typer.Option(help="The part to check.")],
          config: ConfigOpt = None, store_url: StoreUrlOpt = None) -> None:
    """Exit 0 when the part is healthy, 1 when not, with one line saying why.

    For health checks: the aggregator evaluated within 3 intervals, the store answers, the
    prober exported within 3 export intervals."""
    from llmhealth.checks import CHECKS

    cfg = load(config, nested({("store", "url"): store_url}))
    healthy, line = CHECKS[component.value](cfg)
    typer.echo(line, err=not healthy)
    raise typer.Exit(0 if healthy else 1)
