"""`llmhealth config validate FILE`: load a config as every command does and either list every
problem (file:line, key, what is allowed) and exit 1, or summarise its targets and exit 0."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmhealth.cli.common import app, err
from llmhealth_config import Config, ConfigError, load_config

config_app = typer.Typer(no_args_is_help=True, help="Check configuration files.")
app.add_typer(config_app, name="config")


@config_app.command()
def validate(file: Annotated[Path, typer.Argument(help="The YAML config file.")]) -> None:
    """Check a config file: every problem and exit 1, or a summary of its targets and exit 0.

    FILE is loaded as the other commands load it (LLMHEALTH_… variables of this environment
    applied). Variables that its targets and receivers name but this environment does not set
    are noted, not errors: the machine that runs llmhealth may set them."""
    from llmhealth_config.environ import read_variables

    try:
        config = load_config(file)
    except ConfigError as exc:
        problems = str(exc).splitlines()
        for line in problems:
            err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
        err.print(f"{escape(str(file))}: {len(problems)} "
                  f"{'problem' if len(problems) == 1 else 'problems'}", highlight=False,
                  soft_wrap=True)
        raise typer.Exit(1) from None
    out = Console()
    if not out.is_terminal:
        out = Console(width=220)  # a pipe or file: do not fold to 80 columns
    out.print(_headline(file, config, read_variables(os.environ, Config.model_fields)),
              highlight=False, soft_wrap=True)
    if config.targets:
        out.print(targets_table(config))
    for note in unset_variables(config, os.environ):
        out.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)


def _headline(file: Path, config: Config, variables: list[str]) -> str:
    n, pools = len(config.targets), len(config.pools)
    text = (f"{escape(str(file))}: [green]valid[/] · {n} {'target' if n == 1 else 'targets'}, "
            f"{pools} {'pool' if pools == 1 else 'pools'} · probes every "
            f"{config.prober.interval:g} s unless a target says otherwise · evaluated every "
            f"{config.aggregator.interval:g} s")
    if not config.targets:
        text += " · no targets: `llmhealth run` monitors the built-in demo"
    if variables:
        text += f" · with {', '.join(variables)} from the environment"
    return text


def targets_table(config: Config) -> Table:
    """One row per target: name, protocol, model, probe kinds, interval, pool, key variable."""
    table = Table(expand=False)
    for title in ("target", "protocol", "model", "kinds", "interval", "pool", "api key"):
        table.add_column(title, overflow="fold")
    for t in config.targets:
        interval = (f"{t.interval:g} s" if t.interval is not None
                    else f"{config.prober.interval:g} s [dim](prober.interval)[/]")
        model = "[dim]discovered: each installed model[/]" if t.discover else escape(t.model or "-")
        table.add_row(escape(t.name), t.protocol, model, ", ".join(t.kinds), interval,
                      escape(t.pool or "-"), escape(t.api_key_env or "-"))
    return table


def unset_variables(config: Config, environ: Mapping[str, str]) -> list[str]:
    """What the prober and the aggregator would refuse at start in this environment: a key
    variable a target names, or a receiver's variable, that is unset or empty (never a value)."""
    from aggregator.notify.endpoints import NotifierSetupError, endpoint
    from prober.apikeys import MissingApiKey, resolve_api_keys

    notes = []
    for target in config.targets:
        try:
            resolve_api_keys([target], environ)
        except MissingApiKey as exc:
            notes.append(f"{exc}: the prober refuses to start without it")
    for index, receiver in enumerate(config.notifications.receivers):
        try:
            endpoint(receiver, index, environ)
        except NotifierSetupError as exc:
            notes.append(str(exc))
    return notes
