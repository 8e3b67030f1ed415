"""The status table shown by `llmhealth status` and the live view of `llmhealth run`, and the
terminal-sized live table of `llmhealth status --watch` (LiveStatus)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from aggregator import sql
from aggregator.api.models import WORST_FIRST

STATUS_STYLE = {"healthy": "green", "degraded": "yellow", "unhealthy": "bold red",
                "rate_limited": "magenta", "unknown": "dim"}
FIELDS = ("target", "kind", "status", "reason", "breaker", "consecutive_failures", "requests",
          "errors", "error_rate",
          "latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
          "ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms",
          "ratelimit_exhausted_resource", "ratelimit_exhausted_in_s", "context_preservation_rate",
          "passive_requests", "passive_errors",
          "passive_latency_p50_ms", "passive_latency_p90_ms", "passive_latency_p99_ms",
          "evaluated_at")


@dataclass(frozen=True)
class Unmatched:
    """Applications' requests that no target claimed over the last hour, and how many failed."""

    requests: float
    errors: float


class StatusUnavailable(Exception):
    """The store could not be asked; the text says where and what to do."""


def fetch_over_http(url: str, database: str, auth: tuple[str, str], timeout: float = 5.0,
                    query: str = "latest_status") -> list[dict[str, Any]]:
    """The rows of clickhouse/queries/`query`.sql (by default the latest snapshot per target)
    from a ClickHouse HTTP endpoint (embedded or server), logged in as `auth` (user, password)."""
    try:
        response = httpx.post(url, params={"database": database, "default_format": "JSONEachRow"},
                              content=sql.query(query).encode(), auth=auth,
                              timeout=timeout)
    except httpx.HTTPError as exc:
        raise StatusUnavailable(f"cannot reach the store at {url} ({exc}); is `llmhealth run` "
                                "running? (or pass --url)") from None
    if response.status_code != 200:
        raise StatusUnavailable(f"store at {url} answered {response.status_code}: "
                                f"{response.text.strip()[:500]}")
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _runs_out(row: dict[str, Any]) -> str:
    """`tokens 40 s`: the resource the rate-limit forecast has run out soonest, and when."""
    seconds = row.get("ratelimit_exhausted_in_s")
    return "-" if seconds is None else f"{row.get('ratelimit_exhausted_resource')} {seconds:,.0f} s"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}"


def _apps(row: dict[str, Any]) -> str:
    """`3 of 120`: the applications' failed and all requests (passive traffic), if any."""
    requests = float(row.get("passive_requests") or 0)
    return f"{float(row.get('passive_errors') or 0):,.0f} of {requests:,.0f}" if requests else "-"


def unmatched_note(unmatched: Unmatched | None) -> str | None:
    """The line that says how many applications' requests no target claimed in the last hour
    (None when there were none, or they could not be read)."""
    if unmatched is None or not unmatched.requests:
        return None
    return (f"{unmatched.requests:,.0f} application requests in the last hour matched no target "
            f"({unmatched.errors:,.0f} failed): SELECT * FROM health_passive_unmatched lists them, "
            "a target's passive: selector claims them (docs/configuration.md, Passive traffic)")


def render(rows: Sequence[dict[str, Any]], unmatched: Unmatched | None = None) -> Table:
    table = Table(title="llmhealth: latest status per target", expand=False)
    for header in ("target", "status", "reason", "breaker", "err %", "lat p50", "p90", "p99 ms",
                   "ttft p50", "p90", "p99 ms", "runs out", "ctx %", "apps failed", "evaluated"):
        table.add_column(header, overflow="fold",
                         justify="right" if header not in ("target", "status", "reason", "breaker") else "left")
    for row in rows:
        style = STATUS_STYLE.get(row["status"], "")
        table.add_row(
            row["target"] + (" (pool)" if row["kind"] == "pool" else ""), f"[{style}]{row['status']}[/]",
            row["reason"], row["breaker"] or "-",
            f"{100 * float(row['error_rate']):.1f}",
            _ms(row["latency_p50_ms"]), _ms(row["latency_p90_ms"]), _ms(row["latency_p99_ms"]),
            _ms(row["ttft_p50_ms"]), _ms(row["ttft_p90_ms"]), _ms(row["ttft_p99_ms"]),
            _runs_out(row), _percent(row.get("context_preservation_rate")), _apps(row),
            str(row["evaluated_at"])[11:19],
        )
    if not rows:
        table.caption = "no snapshots yet: the first evaluation runs within one aggregator interval"
    elif note := unmatched_note(unmatched):
        table.caption = note
    return table


MIN_REASON = 24
"""The live table drops numeric columns (ttft before latency, p50 and p99 before p90) rather
than give the reason fewer characters than this."""
GAP = 3
"""Characters between two columns of the live table (padding and the blank rule)."""


@dataclass(frozen=True)
class StatusReading:
    """What one read of the status gave: `rows` as latest_status.sql has them (FIELDS), from
    `source` ("API http://…" or "store http://…"), the instant they were evaluated at (None
    before the first evaluation), how old it was when read and whether that is stale. `error`
    says why the last read failed, and then the rows are those of the read before."""

    rows: Sequence[dict[str, Any]]
    source: str
    evaluated_at: datetime | None = None
    age_s: float | None = None
    stale: bool = False
    error: str | None = None
    failed_at: datetime | None = None
    unmatched: Unmatched | None = None


def counts(rows: Sequence[dict[str, Any]], kind: str) -> dict[str, int]:
    """Rows of `kind` (target, pool) per status, worst first, statuses without rows left out."""
    found = [r["status"] for r in rows if (r.get("kind") == "pool") == (kind == "pool")]
    return {s: found.count(s) for s in (*WORST_FIRST, *sorted(set(found) - set(WORST_FIRST)))
            if found.count(s)}


def _severity(row: dict[str, Any]) -> tuple[int, bool, str]:
    status = row["status"]
    rank = WORST_FIRST.index(status) if status in WORST_FIRST else len(WORST_FIRST)
    return rank, row.get("kind") == "pool", row["target"]


def _clock(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%H:%M:%S UTC") if at else "-"


def header(reading: StatusReading, interval_s: float | None = None) -> Text:
    """One line, what matters most first (a narrow terminal cuts the end): the evaluated
    instant and its age, counts by status (targets, then pools), where the rows come from and
    how often they are read."""
    line = Text()
    line.append("llmhealth", style="bold")
    if reading.evaluated_at is None:
        line.append("  not evaluated yet", style="dim")
    else:
        age = f" ({reading.age_s:.0f} s ago)" if reading.age_s is not None else ""
        line.append(f"  evaluated {_clock(reading.evaluated_at)}{age}")
        if reading.stale:
            line.append(" STALE", style="bold red")
    for kind in ("target", "pool"):
        found = counts(reading.rows, kind)
        total = sum(found.values())
        if not total and kind == "pool":
            continue
        line.append(f"  {total} {kind}{'' if total == 1 else 's'}" + (": " if total else ""))
        for i, (status, n) in enumerate(found.items()):
            line.append(" · " if i else "")
            line.append(f"{n} {status}", style=STATUS_STYLE.get(status, ""))
    line.append(f"  {reading.source}", style="dim")
    if interval_s is not None:
        line.append(f" · every {interval_s:g} s · Ctrl-C quits", style="dim")
    line.no_wrap, line.overflow = True, "ellipsis"
    return line


LIVE_COLUMNS: tuple[tuple[str, str, str, int], ...] = (
    # (group, title, field, priority): the columns of the highest priority are dropped first
    ("", "breaker", "breaker", 3), ("", "err %", "error_rate", 1),
    ("lat", "p50", "latency_p50_ms", 4), ("lat", "p90", "latency_p90_ms", 2),
    ("lat", "p99", "latency_p99_ms", 4), ("ttft", "p50", "ttft_p50_ms", 5),
    ("ttft", "p90", "ttft_p90_ms", 3), ("ttft", "p99", "ttft_p99_ms", 5))
TARGET_MAX = 32


def _titled(columns: Sequence[tuple[str, str, str, int]]) -> list[tuple[str, str, int]]:
    """(title, field, priority) of `columns`: a group's first column shown carries its name,
    its last the unit (`lat p90 ms` when p90 is the only latency left)."""
    out = []
    for i, (group, title, field, priority) in enumerate(columns):
        if group:
            if i == 0 or columns[i - 1][0] != group:
                title = f"{group} {title}"
            if i == len(columns) - 1 or columns[i + 1][0] != group:
                title += " ms"
        out.append((title, field, priority))
    return out


def _cell(field: str, row: dict[str, Any]) -> str:
    if field == "breaker":
        return row.get("breaker") or "-"
    if field == "error_rate":
        return f"{100 * float(row['error_rate'] or 0):.1f}"
    return _ms(row.get(field))


class LiveStatus:
    """The table of `llmhealth status --watch`, sized to the console when rendered: the header
    line, then one line per target and pool, worst first. The reason column takes the width
    the others leave and is cut with `…`, never wrapped; on a narrow console numeric columns are
    dropped (LIVE_COLUMNS' priorities). With `fit_height` (a terminal), rows beyond the
    console's height are counted in a last line instead of shown."""

    def __init__(self, reading: StatusReading, interval_s: float | None = None,
                 fit_height: bool = True) -> None:
        self.reading, self.interval_s, self.fit_height = reading, interval_s, fit_height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        reading, width = self.reading, options.max_width
        yield header(reading, self.interval_s)
        if reading.error:
            since = f" (showing the read before, of {_clock(reading.evaluated_at)})" \
                if reading.rows else ""
            yield Text(f"read at {_clock(reading.failed_at)} failed: {reading.error}{since}",
                       style="red", no_wrap=True, overflow="ellipsis")
        rows, hidden = sorted(reading.rows, key=_severity), []
        # the header, the error, the column titles and their rule, the cursor's line
        room = max(2, (options.height or console.height) - 4 - bool(reading.error))
        if self.fit_height and len(rows) > room:
            rows, hidden = rows[:room - 1], rows[room - 1:]
        yield self._table(rows, width)
        if hidden:
            statuses = [r["status"] for r in hidden]
            yield Text(f"… {len(hidden)} more below (the healthiest): " + ", ".join(
                f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses)),
                       style="dim", no_wrap=True, overflow="ellipsis")
        if not reading.rows and not reading.error:
            yield Text("no snapshots yet: the first evaluation runs within one aggregator "
                       "interval", style="dim")
        if note := unmatched_note(reading.unmatched):
            yield Text(note, style="dim", no_wrap=True, overflow="ellipsis")

    def _table(self, rows: Sequence[dict[str, Any]], width: int) -> Table:
        names = [r["target"] + (" (pool)" if r.get("kind") == "pool" else "") for r in rows]
        target_w = min(TARGET_MAX, max([len("target"), *map(len, names)]))
        status_w = max([len("status"), *(len(r["status"]) for r in rows)])
        columns = _titled(LIVE_COLUMNS)

        def used() -> int:
            widths = [max([len(h), *(len(_cell(f, r)) for r in rows)]) for h, f, _ in columns]
            return target_w + status_w + sum(widths) + GAP * (len(columns) + 2)

        while columns and width - used() < MIN_REASON:
            worst = max(p for _, _, p in columns)
            columns = _titled([c for c in LIVE_COLUMNS if c[3] < worst])
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True,
                      width=width)
        table.add_column("target", no_wrap=True, overflow="ellipsis", max_width=TARGET_MAX)
        table.add_column("status", no_wrap=True, min_width=status_w)
        table.add_column("reason", no_wrap=True, overflow="ellipsis", ratio=1)
        for title, field, _ in columns:
            table.add_column(title, no_wrap=True, justify="left" if field == "breaker" else "right")
        for name, row in zip(names, rows, strict=True):
            style = STATUS_STYLE.get(row["status"], "")
            table.add_row(name, Text(row["status"], style=style), row.get("reason") or "",
                          *(_cell(field, row) for _, field, _ in columns))
        return table
