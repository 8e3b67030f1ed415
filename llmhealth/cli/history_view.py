"""What `llmhealth history` prints from the API's history answer (docs/api.md, History): a title,
the status in force now, a status strip across the range (one cell per step, or per several
steps when the range has more steps than the console has columns), the time spent in each
status, and the status and breaker transitions with their reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from aggregator.status_view import STATUS_STYLE, WORST_FIRST
from llmhealth.api_client import moment

CELL, NO_DATA = "█", "·"
_BREAKER_STYLE = {"open": "bold red", "half_open": "yellow", "closed": "green"}


def _when(at: datetime | None, with_date: bool = True) -> str:
    if at is None:
        return "-"
    return at.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def _span(seconds: float) -> str:
    """A duration as its two largest units: `45 s`, `3 m 20 s`, `2 h 5 m`, `3 d 4 h`."""
    s = round(seconds)
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60),
                                      ("m", 60, "s", 1)):
        if s >= size:
            rest = (s % size) // sub_size
            return f"{s // size} {unit}" + (f" {rest} {sub}" if rest else "")
    return f"{s} s"


def _rank(status: str) -> int:
    return WORST_FIRST.index(status) if status in WORST_FIRST else len(WORST_FIRST)


def _worst(statuses: Sequence[str]) -> str:
    return min(statuses, key=_rank)


def cell_steps(start: datetime, end: datetime, step_s: int, width: int) -> int:
    """How many steps one cell of the strip stands for: as few as make the strip fit `width`."""
    steps = max(1, int((end - start).total_seconds() // step_s))
    return -(-steps // max(1, width))


def strip(points: Sequence[Mapping[str, Any]], start: datetime, end: datetime, step_s: int,
          width: int) -> Text:
    """One cell per step of [start, end), or per as many steps as make the strip fit `width`:
    the worst status of the points in it (a point without a status is `unknown`), `·` where
    no point is."""
    cell_s = step_s * cell_steps(start, end, step_s, width)
    cells = max(1, -(-int((end - start).total_seconds()) // cell_s))
    found: list[list[str]] = [[] for _ in range(cells)]
    for p in points:
        at = moment(p.get("at"))
        if at is None:
            continue
        index = int((at - start).total_seconds() // cell_s)
        found[min(max(index, 0), cells - 1)].append(p.get("status") or "unknown")
    line = Text(no_wrap=True, overflow="crop")
    for statuses in found:
        if statuses:
            worst = _worst(statuses)
            line.append(CELL, style=STATUS_STYLE.get(worst, "") or "default")
        else:
            line.append(NO_DATA, style="dim")
    return line


def time_in(periods: Sequence[Mapping[str, Any]], start: datetime,
            end: datetime) -> dict[str, float]:
    """Seconds spent in each status within [start, end), from the status periods, worst first."""
    spent: dict[str, float] = {}
    for p in periods:
        since, until = moment(p.get("since")), moment(p.get("until")) or end
        if since is None:
            continue
        seconds = (min(until, end) - max(since, start)).total_seconds()
        if seconds > 0:
            spent[p["status"]] = spent.get(p["status"], 0.0) + seconds
    return {s: spent[s] for s in sorted(spent, key=_rank)}


def _axis(start: datetime, end: datetime, width: int, with_date: bool) -> Text:
    left, right = f"{_when(start, with_date)} UTC", f"{_when(end, with_date)} UTC"
    gap = max(1, width - len(left) - len(right))
    return Text(left + " " * gap + right, style="dim", no_wrap=True, overflow="crop")


def events_table(events: Sequence[Mapping[str, Any]], truncated: bool) -> Table:
    """One line per transition (the reason wraps when it must): when, what (the status, or a
    probe kind's breaker), from → to, why."""
    table = Table(title="transitions (UTC), oldest first", title_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("at", no_wrap=True)
    table.add_column("what", no_wrap=True)
    table.add_column("change", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=1, min_width=24)
    for e in events:
        what = "status" if e["kind"] == "status" else f"{e.get('probe_kind') or ''} breaker".strip()
        change = Text(f"{e.get('from_state') or '-'} → ")
        change.append(e["to_state"], style=STATUS_STYLE.get(e["to_state"], _BREAKER_STYLE.get(
            e["to_state"], "")))
        table.add_row(_when(moment(e["at"])), what, change, e.get("reason") or "")
    if truncated:
        table.caption = "more transitions than the API returns: the oldest are left out"
    return table


def render_history(answer: Mapping[str, Any], width: int) -> RenderableType:
    """The history answer as printed, `width` columns wide."""
    start, end = datetime.fromisoformat(answer["start"]), datetime.fromisoformat(answer["end"])
    long_range = end - start > timedelta(days=1)
    parts: list[RenderableType] = []
    title = Text()
    title.append(str(answer["target"]), style="bold")
    title.append(f" ({answer['kind']}) · last {answer['range']} · one cell per "
                 f"{_span(answer['step_s'] * cell_steps(start, end, answer['step_s'], width))}"
                 f" · from {answer['source']}", style="dim")
    parts.append(title)
    periods = answer.get("periods") or []
    current = periods[-1] if periods and periods[-1].get("until") is None else None
    if current is not None:
        since = moment(current["since"])
        now = Text("now ")
        now.append(current["status"], style=STATUS_STYLE.get(current["status"], ""))
        now.append(f" since {_when(since)} UTC ({_span((end - since).total_seconds())})"
                   if since else "")
        now.append(f": {current.get('reason') or ''}")
        parts.append(now)
    else:
        parts.append(Text("no status recorded in this range", style="dim"))
    cells = strip(answer.get("points") or [], start, end, int(answer["step_s"]), width)
    parts += [cells, _axis(start, end, len(cells), with_date=long_range)]
    spent = time_in(periods, start, end)
    if spent:
        total = sum(spent.values())
        line = Text()
        for i, (s, seconds) in enumerate(spent.items()):
            line.append("   " if i else "")
            line.append(CELL, style=STATUS_STYLE.get(s, "") or "default")
            line.append(f" {s} {_span(seconds)} ({100 * seconds / total:.0f} %)")
        line.append(f"   {NO_DATA} no data", style="dim")
        parts.append(line)
    events = answer.get("events") or []
    parts.append(Text())
    if events:
        parts.append(events_table(events, bool(answer.get("events_truncated"))))
    else:
        parts.append(Text(f"no status or breaker transitions in the last {answer['range']}",
                          style="dim"))
    return Group(*parts)
