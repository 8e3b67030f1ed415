"""`llmhealth probe [TARGET]`: probe one configured target, or every one, once, now, in this
process (`prober.once`), and show each outcome with its timings. The command to try when adding
a target: nothing else needs to run, and nothing is exported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from llmhealth.cli.common import ConfigOpt, app, err, fail, load

if TYPE_CHECKING:
    from llmhealth_config.model import Config
    from llmhealth_config.target import Target
    from prober.once import OnceResult


@app.command()
def probe(
    target: Annotated[str | None, typer.Argument(
        metavar="TARGET", help="A configured target's name (default: every one).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Probe a target now, every probe kind once, and show each outcome with its timings.

    Runs in this process with the API keys of this environment: nothing else needs to run, and
    the results are not exported. A `discover: true` endpoint is listed, then each of its
    models probed. Exit 0 when every probe is ok, 1 when any failed, 2 on a config error or
    an unknown TARGET."""
    from prober.once import UnknownTarget, select

    cfg = load(config)
    if not cfg.targets:
        fail("no targets configured: add one under `targets:` in the config file "
             "(docs/configuration.md), or point --config / LLMHEALTH_CONFIG at one")
    try:
        targets = select(cfg, target)
    except UnknownTarget as exc:
        fail(str(exc))
    results, seconds = _run(cfg, targets)
    out = Console()
    if not out.is_terminal:
        out = Console(width=220)  # a pipe or file: do not fold to 80 columns
    out.print(results_table(results))
    failed = sum(not r.ok for r in results)
    colour = "red" if failed else "green"
    out.print(f"[{colour}]{len(results)} probes, {failed} failed[/] · {len(targets)} "
              f"{'target' if len(targets) == 1 else 'targets'} in {seconds:.1f} s · "
              "not exported", highlight=False)
    raise typer.Exit(1 if failed else 0)


def _run(config: Config, targets: list[Target]) -> tuple[list[OnceResult], float]:
    """Probe `targets`, showing progress on stderr; the results and the seconds it took."""
    import asyncio
    import os
    import time

    from prober.once import longest_run_s, probe_once

    what = (f"probing {len(targets)} {'target' if len(targets) == 1 else 'targets'} "
            f"(at most {longest_run_s(config, targets):.0f} s)")
    done: list[OnceResult] = []
    started = time.perf_counter()
    if not err.is_terminal:
        err.print(f"{escape(what)} …", highlight=False, soft_wrap=True)
        return asyncio.run(probe_once(config, targets, os.environ)), time.perf_counter() - started
    with err.status(f"{escape(what)} …") as status:
        def progress(result: OnceResult) -> None:
            done.append(result)
            last = result.result
            status.update(f"{escape(what)}: {len(done)} done, last {escape(last.target)} "
                          f"{last.kind} {last.outcome} …")

        results = asyncio.run(probe_once(config, targets, os.environ, on_result=progress))
    return results, time.perf_counter() - started


def results_table(results: list[OnceResult]) -> Table:
    """One row per probe: target, kind, outcome (green ok, red failure), HTTP status, connect,
    first byte, TTFT, total, tokens in/out and the detail, cut to the terminal's width."""
    table = Table(expand=False, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  collapse_padding=True)
    for title in ("target", "kind", "outcome", "HTTP", "connect", "first byte", "TTFT", "total",
                  "in/out"):
        table.add_column(title, no_wrap=True, justify="left" if title in (
            "target", "kind", "outcome") else "right")
    # the one wrappable column, so the only one narrowed to fit; its cells are cut, not wrapped
    table.add_column("detail")
    for once in results:
        r = once.result
        colour = "green" if once.ok else "red"
        connect = "reused" if once.connection == "reused" else _seconds(once.connect_s)
        tokens = ("-" if r.input_tokens is None and r.output_tokens is None
                  else f"{_count(r.input_tokens)}/{_count(r.output_tokens)}")
        table.add_row(escape(r.target), r.kind, f"[{colour}]{r.outcome}[/]",
                      str(r.http_status or "-"), connect, _seconds(r.first_byte_s),
                      _seconds(r.ttft_s), _seconds(r.duration_s), tokens,
                      Text(r.detail, no_wrap=True, overflow="ellipsis"))
    return table


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
