"""What every `llmhealth` command shares: the app, the config option, one-line errors."""

from __future__ import annotations

import logging
import signal
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from llmhealth_config import Config, ConfigError, load_config
from llmhealth_config.types import parse_duration

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Health monitoring for LLM providers and models.")
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", envvar="LLMHEALTH_CONFIG", help="YAML config file (or LLMHEALTH_CONFIG).")]
StoreUrlOpt = Annotated[str | None, typer.Option(
    help="The store: http(s)://user@host:port/ or clickhouse://user@host:port/ (store.url); "
         "the password comes from the variable named by store.password_env.")]


class LogLevel(str, Enum):
    debug = "debug"
    info = "info"
    warning = "warning"

    @property
    def level(self) -> int:
        return logging.getLevelName(self.value.upper())


LogLevelOpt = Annotated[LogLevel, typer.Option(
    help="Least level logged: debug adds a line per probe or evaluation.")]


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load(path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    try:
        return load_config(path, overrides)
    except ConfigError as exc:
        fail(str(exc))


def nested(pairs: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """{(section, key): value} as the nested overrides load_config takes; None values left out."""
    out: dict[str, Any] = {}
    for (section, key), value in pairs.items():
        if value is not None:
            out.setdefault(section, {})[key] = value
    return out


MIN_INTERVAL_S = 0.2
"""The shortest `--interval` of a live view (`status --watch`, `activity --watch`)."""


def watch_interval(text: str) -> float:
    """`--interval` of a live view in seconds; exits 2 naming the option when it is not a
    duration of at least MIN_INTERVAL_S."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        fail(f"--interval: {exc}")
    if not isinstance(seconds, float) or seconds < MIN_INTERVAL_S:
        fail(f"--interval: at least {MIN_INTERVAL_S:g} s, e.g. 2s")
    return seconds


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Make SIGINT and SIGTERM end a live view as Ctrl-C does (KeyboardInterrupt), whatever this
    process inherited: a job started with `&` by a shell without job control starts with SIGINT
    ignored, and Python then leaves it so."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
