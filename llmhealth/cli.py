"""The `llmhealth` command. Thin: each command parses flags and calls one component."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from llmhealth.config import Config, ConfigError, load_config

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Health monitoring for LLM providers and models.")
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")]


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _load(path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    try:
        return load_config(path, overrides)
    except ConfigError as exc:
        _fail(str(exc))
        raise  # unreachable; keeps type checkers quiet


def _nested(pairs: dict[tuple[str, str], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for (section, key), value in pairs.items():
        if value is not None:
            out.setdefault(section, {})[key] = value
    return out


@app.command()
def run(
    config: ConfigOpt = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory of the embedded store.")] = None,
    store_port: Annotated[int | None, typer.Option(help="Port of the store's ClickHouse HTTP endpoint.")] = None,
    otlp_grpc_port: Annotated[int | None, typer.Option(help="Collector OTLP/gRPC port.")] = None,
    otlp_http_port: Annotated[int | None, typer.Option(help="Collector OTLP/HTTP port.")] = None,
    simulator_port: Annotated[int | None, typer.Option(help="Demo simulator port.")] = None,
    live: Annotated[bool, typer.Option(help="Live status table (default on a terminal).")] = True,
) -> None:
    """Run the whole pipeline here: embedded store, collector, prober, aggregator."""
    os.umask(0o077)  # what the run writes (store, run dir, logs, children's files) is private
    from aggregator.store.base import StoreError
    from llmhealth import logs
    from llmhealth.run.demo import with_demo_targets
    from llmhealth.run.pipeline import run_pipeline
    from llmhealth.run.ports import PortInUse

    overrides = _nested({("store", "data_dir"): data_dir, ("store", "http_port"): store_port,
                         ("collector", "grpc_port"): otlp_grpc_port,
                         ("collector", "http_port"): otlp_http_port,
                         ("simulator", "port"): simulator_port})
    cfg = _load(config, overrides)
    if cfg.store.mode != "embedded":
        _fail("llmhealth run always uses the embedded store; store.mode: server is for the "
              "compose stack and `llmhealth migrate`")
    from aggregator.store.access import exposure_warning
    from prober.apikeys import MissingApiKey, resolve_api_keys

    try:
        resolve_api_keys(cfg.targets, os.environ)
        exposure = exposure_warning(cfg.store, os.environ)
    except (MissingApiKey, StoreError) as exc:
        _fail(str(exc))
    demo = not cfg.targets
    if demo:
        cfg = with_demo_targets(cfg)
    console = Console(stderr=True)
    try:
        from aggregator.store.embedded import check_data_dir
        check_data_dir(cfg.store.data_dir)
        run_dir = cfg.store.data_dir / "run"
        run_dir.mkdir(exist_ok=True)
        # What an older version left readable: closing the data dir closes the store's files.
        for path in (cfg.store.data_dir, run_dir, *run_dir.iterdir()):
            path.chmod(0o700 if path.is_dir() else 0o600)
    except (StoreError, OSError) as exc:
        _fail(str(exc))
    logs.configure(console, run_dir / "llmhealth.log")
    if demo:
        logging.getLogger("llmhealth.run").info(
            "no targets configured: monitoring the built-in demo (simulator on %s:%d)",
            cfg.simulator.host, cfg.simulator.port)
    try:
        code = asyncio.run(run_pipeline(cfg, demo=demo, console=console,
                                        live=live and console.is_terminal, exposure=exposure))
    except (PortInUse, StoreError) as exc:
        _fail(str(exc))
    raise typer.Exit(code)


@app.command()
def migrate(config: ConfigOpt = None,
            data_dir: Annotated[Path | None, typer.Option(help="Embedded store data directory.")] = None) -> None:
    """Apply pending schema migrations and the configured retention, then exit."""
    from aggregator.migrate import migrate as apply
    from aggregator.store.base import StoreError
    from aggregator.store.factory import open_store
    from llmhealth import logs

    cfg = _load(config, _nested({("store", "data_dir"): data_dir}))
    logs.configure(Console(stderr=True))
    try:
        store = open_store(cfg)
        applied = apply(store, cfg.retention)
        store.close()
    except StoreError as exc:
        _fail(str(exc))
    typer.echo(f"applied {len(applied)} migrations" if applied else "schema is up to date")


@app.command()
def status(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead of a table.")] = False,
    url: Annotated[str | None, typer.Option(help="ClickHouse HTTP URL (default: from the config).")] = None,
) -> None:
    """Show the latest status of every target."""
    from aggregator.status_view import FIELDS, StatusUnavailable, fetch_over_http, render
    from aggregator.store.base import StoreError
    from aggregator.store.password import default_password

    cfg = _load(config)
    target_url = url or f"http://{cfg.store.http_host}:{cfg.store.http_port}/"
    try:
        password = default_password(cfg.store, generate=False)
    except StoreError as exc:
        _fail(str(exc))
    try:
        rows = fetch_over_http(target_url, cfg.store.database, ("default", password))
    except StatusUnavailable as exc:
        _fail(str(exc), code=1)
    if as_json:
        typer.echo(json.dumps([{k: row.get(k) for k in FIELDS} for row in rows], indent=2))
    else:
        console = Console()
        if not console.is_terminal:
            console = Console(width=220)  # a pipe or file: do not fold to 80 columns
        console.print(render(rows))


class LogLevel(str, Enum):
    debug = "debug"
    info = "info"
    warning = "warning"


@app.command(hidden=True)
def probe(
    config: ConfigOpt = None,
    log_level: Annotated[LogLevel, typer.Option(
        help="Least level logged: debug adds a line per probe (`llmhealth run` uses it and "
             "shows only info and above on the terminal).")] = LogLevel.info,
) -> None:
    """Run the prober alone (started by `llmhealth run`)."""
    from prober.main import main

    raise typer.Exit(main(_load(config), logging.getLevelName(log_level.value.upper())))


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
        _fail(str(exc))
    serve(models, host=host, port=port)

