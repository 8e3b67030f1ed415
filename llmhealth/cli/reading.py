"""How `llmhealth status` reads (StatusSource: the API, else the store) and how `--watch`
repeats it (watch_loop: a table redrawn in place on a terminal, one reading after another
elsewhere). Imported by the command when it runs, not when the CLI starts."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.console import Console
from rich.live import Live

from aggregator.status_view import (
    FIELDS,
    LiveStatus,
    StatusReading,
    StatusUnavailable,
    Unmatched,
    fetch_over_http,
)
from llmhealth.api_client import ApiClient, ApiRefused, ApiUnavailable, moment, status_rows
from llmhealth.cli.common import stop_on_signals
from llmhealth_config import Config

STALE_INTERVALS = 3
"""Rows read from the store are stale when evaluated more than this many aggregator intervals
ago (as the API says of its own state)."""


@dataclass
class StatusSource:
    """Where `status` reads: the API when `api` is set and answers, else the store at
    `store_url` when set. Each read tries again in that order."""

    config: Config
    api: ApiClient | None
    store_url: str | None

    def read(self) -> StatusReading:
        """The latest status; raises StatusUnavailable naming every place tried."""
        problems = []
        if self.api is not None:
            try:
                return self._from_api(self.api)
            except (ApiUnavailable, ApiRefused) as exc:
                problems.append(str(exc))
        if self.store_url is None:
            raise StatusUnavailable(f"{problems[0]}: start `llmhealth run` or `llmhealth "
                                    "aggregator`, or pass another --api-url")
        try:
            return self._from_store(self.store_url)
        except StatusUnavailable as exc:
            problems.append(str(exc))
        raise StatusUnavailable("; and ".join(problems))

    @staticmethod
    def _from_api(api: ApiClient) -> StatusReading:
        detailed = api.detailed()
        fresh = detailed.get("freshness") or {}
        unmatched = detailed.get("unmatched") or {}
        return StatusReading(status_rows(detailed), f"API {api.base_url}",
                             moment(fresh.get("evaluated_at")), fresh.get("age_s"),
                             bool(fresh.get("stale")) and fresh.get("evaluated_at") is not None,
                             unmatched=Unmatched(float(unmatched.get("requests_1h") or 0),
                                                 float(unmatched.get("errors_1h") or 0)))

    def _from_store(self, url: str) -> StatusReading:
        from aggregator.store.base import StoreError
        from aggregator.store.password import default_password

        try:
            password = default_password(self.config.store, generate=False)
        except StoreError as exc:
            raise StatusUnavailable(str(exc)) from None
        auth = ("default", password)
        rows = fetch_over_http(url, self.config.store.database, auth)
        at = max((t for t in (moment(r.get("evaluated_at")) for r in rows) if t), default=None)
        age = max(0.0, time.time() - at.timestamp()) if at else None
        stale = age is not None and age > STALE_INTERVALS * self.config.aggregator.interval
        [counts] = fetch_over_http(url, self.config.store.database, auth, query="passive_unmatched")
        unmatched = Unmatched(float(counts.get("unmatched_requests") or 0),
                              float(counts.get("unmatched_errors") or 0))
        return StatusReading(rows, f"store {_shown(url)}", at, age, stale, unmatched=unmatched)


def _shown(url: str) -> str:
    """`url` without a user name or password (a --url may carry them)."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def wide(console: Console) -> Console:
    """`console`, or a wide one when it is a pipe or a file: do not fold to 80 columns."""
    return console if console.is_terminal else Console(width=220)


def _next(source: StatusSource, last: StatusReading | None) -> StatusReading:
    """A new reading, or the last one with the error of this read."""
    try:
        return source.read()
    except StatusUnavailable as exc:
        failed_at = datetime.now(UTC)
        if last is None:
            return StatusReading([], "", error=str(exc), failed_at=failed_at)
        return replace(last, error=str(exc), failed_at=failed_at)


def watch_loop(source: StatusSource, every: float, as_json: bool) -> NoReturn:
    """Read every `every` seconds until Ctrl-C (or SIGTERM), then exit 0. On a terminal the
    table is redrawn in place; otherwise each read is printed after the last."""
    stop_on_signals()
    console = Console()
    last: StatusReading | None = None
    deadline = time.monotonic()
    try:
        if console.is_terminal and not as_json:
            with Live(console=console, auto_refresh=False, transient=False,
                      vertical_overflow="crop", redirect_stdout=False,
                      redirect_stderr=False) as live:
                while True:
                    last = _next(source, last)
                    live.update(LiveStatus(last, every), refresh=True)
                    deadline = _sleep(deadline, every)
        out = wide(console)
        while True:
            last = _next(source, last)
            if as_json:
                typer.echo(json.dumps([{k: r.get(k) for k in FIELDS} for r in last.rows]))
                if last.error:
                    typer.echo(f"error: {last.error}", err=True)
            else:
                out.print(LiveStatus(last, every, fit_height=False))
                out.print()
            deadline = _sleep(deadline, every)
    except KeyboardInterrupt:
        pass
    raise typer.Exit(0)


def _sleep(deadline: float, every: float) -> float:
    """Sleep until the next multiple of `every` after `deadline`; return it."""
    now = time.monotonic()
    deadline += every
    if deadline < now:  # a read took longer than the interval: start again from now
        deadline = now + every
    time.sleep(deadline - now)
    return deadline
