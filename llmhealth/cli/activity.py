"""`llmhealth activity [--watch]`: what the prober is doing right now, as a table: the probes in
flight (target, kind, endpoint, how long they run, bytes sent and received, schedule delay) and
each target's last result per kind. Read from the aggregator's `GET /api/diagnostics/activity`
(docs/api.md, Diagnostics), which answers loopback clients (and aggregator.diagnostics_allow)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from llmhealth.cli.common import ConfigOpt, app, fail, load, stop_on_signals, watch_interval

PATH = "/api/diagnostics/activity"
TIMEOUT = httpx.Timeout(5.0, connect=1.0)
OUTCOME_STYLE = {"ok": "green"}


class NoAnswer(Exception):
    """The API did not answer with the activity; the text says where and why."""


def read(client: httpx.Client) -> dict[str, Any]:
    """The API's answer at `PATH`; NoAnswer with a sentence when there is none."""
    where = f"{client.base_url}".rstrip("/")
    try:
        response = client.get(PATH)
    except httpx.TimeoutException:
        raise NoAnswer(f"the API at {where} did not answer within {TIMEOUT.read:g} s") from None
    except httpx.HTTPError as exc:
        raise NoAnswer(f"no API answers at {where} ({_reason(exc)})") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and "prober" in body:
        return body
    if response.status_code == 403 and isinstance(body, dict):
        raise NoAnswer(f"the API at {where} refused: {body.get('detail')}")
    raise NoAnswer(f"{where} answered HTTP {response.status_code} to {PATH}, not as the llmhealth "
                   "API (an older version, or another server)")


def _reason(exc: BaseException) -> str:
    """'connection refused' when that is the cause (httpx says 'All connection attempts
    failed'), else the error's text."""
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, ConnectionRefusedError):
            return "connection refused"
        inner = inner.__cause__ or inner.__context__
    return str(exc) or type(exc).__name__


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f} s" if value < 60 else f"{int(value // 60)} min {value % 60:02.0f} s"


def _bytes(count: int) -> str:
    for unit, size in (("MB", 1_000_000), ("kB", 1_000)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def header(prober: Mapping[str, Any]) -> Text:
    """One line: where the prober was read, how many probes run, whether its exports arrive."""
    if not prober.get("reachable"):
        return Text(f"prober at {prober['url']}: unreachable ({prober.get('error')})", style="red")
    running = prober["in_flight"]
    waiting = sum(p["state"] == "waiting" for p in running)
    line = Text(f"prober at {prober['url']}: {len(running)} probe{'' if len(running) == 1 else 's'}"
                " in flight"
                + (f" ({waiting} waiting for a slot)" if waiting else ""))
    export = prober.get("export") or {}
    if export.get("taken"):
        line.append(f"; the collector took its last export {_seconds(export['age_s'])} ago",
                    style="green")
    elif export:
        when = "never" if export.get("age_s") is None else f"{_seconds(export['age_s'])} ago"
        line.append(f"; the collector at {export['collector']} took no recent export "
                    f"(last: {when})", style="red")
    return line


def in_flight_table(prober: Mapping[str, Any]) -> Table:
    table = Table(title="probes in flight", title_justify="left", expand=False)
    for name in ("target", "kind", "endpoint", "state", "running for", "sent", "received",
                 "schedule delay"):
        table.add_column(name, justify="right" if name in ("running for", "sent", "received",
                                                           "schedule delay") else "left")
    for p in prober["in_flight"]:
        table.add_row(p["target"], p["kind"], p["endpoint"],
                      Text(p["state"], style="yellow" if p["state"] == "waiting" else ""),
                      _seconds(p["duration_s"]), _bytes(p["bytes_sent"]),
                      _bytes(p["bytes_received"]), _seconds(p["schedule_delay_s"]))
    if not prober["in_flight"]:
        table.caption = "none: every probe is between its planned instants"
    return table


def targets_table(prober: Mapping[str, Any]) -> Table:
    table = Table(title="last result per target and kind", title_justify="left", expand=False)
    for name in ("target", "in flight", "finished", "failed", "last results"):
        table.add_column(name, justify="left" if name in ("target", "last results") else "right")
    for t in prober["targets"]:
        last = Text()
        for k, result in enumerate(t["last"]):
            last.append(("  " if k else "") + f"{result['kind']} ")
            last.append(result["outcome"], style=OUTCOME_STYLE.get(result["outcome"], "red"))
            last.append(f" {_seconds(result['duration_s'])}")
        table.add_row(t["target"], str(t["in_flight"]), str(t["finished"]), str(t["failed"]),
                      last if t["last"] else Text("-", style="dim"))
    return table


def render(answer: Mapping[str, Any], error: str | None = None) -> RenderableType:
    """The whole view of one answer; `error`, when set, is the failure of a later read."""
    prober = answer["prober"]
    parts: list[RenderableType] = [header(prober)]
    if error:
        parts.append(Text(f"read failed: {error} (showing the read before)", style="red"))
    if prober.get("reachable"):
        parts += [in_flight_table(prober), targets_table(prober)]
    return Group(*parts)


def watch(client: httpx.Client, first: dict[str, Any], every: float) -> NoReturn:
    """Redraw every `every` seconds until Ctrl-C (or SIGTERM), then exit 0: in place on a
    terminal, one view after another elsewhere. A failed read shows its error over the last
    answer."""
    from llmhealth.cli.reading import wide

    stop_on_signals()
    console = Console()
    try:
        if console.is_terminal:
            with Live(render(first), console=console, auto_refresh=False,
                      redirect_stdout=False, redirect_stderr=False) as live:
                for view in _views(client, first, every):
                    live.update(view, refresh=True)
        out = wide(console)
        out.print(render(first))
        for view in _views(client, first, every):
            out.print()
            out.print(view)
    except KeyboardInterrupt:
        pass
    raise typer.Exit(0)


def _views(client: httpx.Client, answer: dict[str, Any], every: float) -> Iterator[RenderableType]:
    """A view every `every` seconds, forever: of a new answer, or of the last one with the
    error of this read."""
    while True:
        time.sleep(every)
        try:
            answer, error = read(client), None
        except NoAnswer as exc:
            error = str(exc)
        yield render(answer, error)


@app.command()
def activity(
    config: ConfigOpt = None,
    url: Annotated[str | None, typer.Option(
        help="The aggregator's HTTP API, e.g. http://127.0.0.1:8080 (default: "
             "aggregator.http_host/http_port).")] = None,
    watch_: Annotated[bool, typer.Option(
        "--watch", "-w", help="Redraw until Ctrl-C.")] = False,
    interval: Annotated[str, typer.Option(help="How often --watch reads, e.g. 2s.")] = "2s",
) -> None:
    """Show what the prober is doing now: probes in flight, bytes, durations, last results.

    Read from the aggregator's API (GET /api/diagnostics/activity), on this machine: it answers
    loopback clients and aggregator.diagnostics_allow. Exit 1 when the prober cannot be read,
    2 when the API does not answer."""
    from llmhealth.api_client import api_url
    from llmhealth.cli.reading import wide

    every = watch_interval(interval)
    cfg = load(config)
    base = (url or api_url(cfg.aggregator.http_host, cfg.aggregator.http_port)).rstrip("/")
    with httpx.Client(base_url=base, timeout=TIMEOUT, trust_env=False,
                      follow_redirects=False) as client:
        try:
            answer = read(client)
        except NoAnswer as exc:
            fail(f"{exc}: the activity comes from the aggregator's HTTP API; start `llmhealth "
                 "run` or `llmhealth aggregator`, or point at it with --url (or --config: "
                 "aggregator.http_host/http_port)")
        if watch_:
            watch(client, answer, every)
    wide(Console()).print(render(answer))
    if not answer["prober"].get("reachable"):
        raise typer.Exit(1)
