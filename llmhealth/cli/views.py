"""The reading commands: `status` (once, or `--watch`: a table redrawn in place, like `top`) and
`history` (a target's status strip and transitions). Both read the aggregator's HTTP API
(aggregator.http_host/http_port, or --api-url); `status` reads the store's ClickHouse HTTP
endpoint when no API answers (llmhealth/cli/reading.py)."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer
from rich.console import Console

from llmhealth.cli.common import ConfigOpt, app, fail, load, watch_interval


@app.command()
def status(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead of a table "
                                                          "(with --watch: one per line).")] = False,
    url: Annotated[str | None, typer.Option(
        help="The store's ClickHouse HTTP URL: read it instead of the API.")] = None,
    api_url_: Annotated[str | None, typer.Option(
        "--api-url", help="The aggregator's HTTP API, e.g. http://127.0.0.1:8080: read only it "
                          "(default: the API at aggregator.http_host/http_port, else the "
                          "store).")] = None,
    watch: Annotated[bool, typer.Option(
        "--watch", "-w", help="Redraw in place until Ctrl-C, sized to the terminal.")] = False,
    interval: Annotated[str, typer.Option(help="How often --watch reads, e.g. 2s.")] = "2s",
) -> None:
    """Show the latest status of every target and pool.

    Read from the aggregator's API when one answers, else from the store over ClickHouse HTTP
    as user `default` (password from LLMHEALTH_STORE_PASSWORD or data/store.password)."""
    from aggregator.status_view import FIELDS, StatusUnavailable, render
    from llmhealth.api_client import ApiClient, api_url
    from llmhealth.cli.reading import StatusSource, watch_loop, wide

    cfg = load(config)
    every = watch_interval(interval)
    api = None if url and not api_url_ else ApiClient(
        api_url_ or api_url(cfg.aggregator.http_host, cfg.aggregator.http_port))
    store_url = None if api_url_ and not url else (
        url or f"http://{cfg.store.http_host}:{cfg.store.http_port}/")
    source = StatusSource(cfg, api, store_url)
    if watch:
        watch_loop(source, every, as_json)
    try:
        reading = source.read()
    except StatusUnavailable as exc:
        fail(str(exc), code=1)
    if as_json:
        typer.echo(json.dumps([{k: row.get(k) for k in FIELDS} for row in reading.rows], indent=2))
    else:
        wide(Console()).print(render(reading.rows, reading.unmatched))


class Range(str, Enum):
    h1 = "1h"
    h6 = "6h"
    h24 = "24h"
    d7 = "7d"
    d30 = "30d"


@app.command()
def history(
    target: Annotated[str, typer.Argument(help="A target or pool name.")],
    range_: Annotated[Range, typer.Option("--range", help="How far back from now.")] = Range.h24,
    config: ConfigOpt = None,
    api_url_: Annotated[str | None, typer.Option(
        "--api-url", help="The aggregator's HTTP API, e.g. http://127.0.0.1:8080 (default: "
                          "aggregator.http_host/http_port).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's answer.")] = False,
) -> None:
    """Show a target's or pool's status strip and transitions over a range.

    Read from the aggregator's API: a strip of the worst status per step, the time spent in
    each status, and every status and breaker transition with its reason."""
    import httpx

    from llmhealth.api_client import ApiClient, ApiRefused, ApiUnavailable, api_url
    from llmhealth.cli.history_view import render_history
    from llmhealth.cli.reading import wide

    cfg = load(config)
    base = api_url_ or api_url(cfg.aggregator.http_host, cfg.aggregator.http_port)
    try:
        with ApiClient(base, timeout=httpx.Timeout(30.0, connect=1.0)) as client:
            answer = client.history(target, range_.value)
    except ApiUnavailable as exc:
        fail(f"{exc}: the history comes from the aggregator's HTTP API; start `llmhealth run` "
             "or `llmhealth aggregator` (it listens on aggregator.http_host/http_port), or pass "
             "--api-url", code=1)
    except ApiRefused as exc:
        fail(f"{target!r}: {exc}" if exc.status == 404 else f"the API at {base}: {exc}", code=1)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    console = wide(Console())
    console.print(render_history(answer, console.width))
