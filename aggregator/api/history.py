"""`GET /api/health/targets/{target}/history?range=1h|6h|24h|7d|30d`: a target's or pool's
points (at most a few hundred) and its status and breaker transitions. The only read that
queries the store per request (docs/api.md, "History"):

| range | source | one point per |
|---|---|---|
| 1h | health_snapshots (worst status, last snapshot's status-window numbers) | 10 s |
| 6h, 24h | health_minutes (counts, quantiles, availability of the step) | 1 min, 5 min |
| 7d, 30d | health_hours (counts, availability; no quantiles) | 1 h, 4 h |

A rollup point's status is the worst status in force during its step, from the status
transitions (health_events). A pool's rollup points count its members together.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from aggregator import sql
from aggregator.api.errors import NOT_FOUND, UNAVAILABLE, UnknownName
from aggregator.api.models import WORST_FIRST, Model, Quantiles, Status, Unavailable
from aggregator.api.rows import moment, number, status
from aggregator.api_state import ApiState
from aggregator.store.base import StoreError

log = logging.getLogger("llmhealth.aggregator")
Range = Literal["1h", "6h", "24h", "7d", "30d"]
Source = Literal["snapshots", "minutes", "hours"]
EVENTS_LIMIT = 500
router = APIRouter(prefix="/api/health", tags=["history"])


@dataclass(frozen=True)
class Plan:
    seconds: int
    step_s: int
    source: Source


PLANS: Mapping[str, Plan] = {
    "1h": Plan(3600, 10, "snapshots"), "6h": Plan(6 * 3600, 60, "minutes"),
    "24h": Plan(24 * 3600, 300, "minutes"), "7d": Plan(7 * 86400, 3600, "hours"),
    "30d": Plan(30 * 86400, 4 * 3600, "hours")}


class HistoryPoint(Model):
    at: datetime = Field(description="start of the step")
    status: Status | None = Field(description="the worst status in force during the step")
    reason: str | None = Field(description="the step's last snapshot's reason (range 1h only)")
    requests: float
    errors: float
    error_rate: float | None
    errors_by_type: dict[str, float]
    availability: float | None = Field(description="available minutes / minutes with a result "
                                                   "(6h and longer)")
    latency_s: Quantiles | None
    ttft_s: Quantiles | None
    tokens_per_second_p50: float | None
    stream_completion_rate: float | None


class HistoryEvent(Model):
    at: datetime
    kind: str = Field(description="`status`, or `breaker` (of probe kind `probe_kind`)")
    probe_kind: str
    from_state: str
    to_state: str
    reason: str


class StatusPeriod(Model):
    status: Status
    since: datetime
    until: datetime | None = Field(description="null while it lasts")
    reason: str


class History(Model):
    target: str
    kind: Literal["target", "pool"]
    range: Range
    start: datetime
    end: datetime
    step_s: int
    source: Source
    counts_over: Literal["status_window", "step"] = Field(
        description="`status_window`: each point's counts are its last snapshot's (range 1h); "
                    "`step`: the results of the step")
    points: list[HistoryPoint]
    periods: list[StatusPeriod] = Field(description="status periods overlapping the range")
    events: list[HistoryEvent] = Field(description="transitions within the range, oldest first")
    events_truncated: bool = Field(description=f"more than {EVENTS_LIMIT} transitions: the "
                                               "oldest are left out")


def _errors(row: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): number(v) or 0.0
            for k, v in zip(row.get("error_types") or (), row.get("error_counts") or (), strict=True)}


def _quantiles(values: Sequence[Any] | None) -> Quantiles | None:
    p50, p90, p99 = (number(v) for v in (values or (None, None, None)))
    return None if p50 is None and p90 is None and p99 is None else Quantiles(p50=p50, p90=p90, p99=p99)


def point(row: Mapping[str, Any], state: Status | None) -> HistoryPoint:
    """A point from a row of history_snapshots.sql (quantile columns) or of history_minutes.sql
    and history_hours.sql (quantile arrays, availability)."""
    latency = row.get("latency_s") or [row.get(f"latency_{p}_s") for p in ("p50", "p90", "p99")]
    ttft = row.get("ttft_s") or [row.get(f"ttft_{p}_s") for p in ("p50", "p90", "p99")]
    return HistoryPoint(
        at=moment(row["at_s"]), status=status(row["status"]) if row.get("status") else state,
        reason=row.get("reason"), requests=number(row.get("requests")) or 0.0,
        errors=number(row.get("errors")) or 0.0, error_rate=number(row.get("error_rate")),
        errors_by_type=_errors(row), availability=number(row.get("availability")),
        latency_s=_quantiles(latency), ttft_s=_quantiles(ttft),
        tokens_per_second_p50=number(row.get("tokens_per_second_p50")),
        stream_completion_rate=number(row.get("stream_completion_rate")))


def periods_of(events: list[HistoryEvent]) -> list[StatusPeriod]:
    """Status periods from transitions (oldest first): each lasts until the next."""
    changes = [e for e in events if e.kind == "status"]
    return [StatusPeriod(status=status(e.to_state), since=e.at,
                         until=changes[i + 1].at if i + 1 < len(changes) else None, reason=e.reason)
            for i, e in enumerate(changes)]


def worst_in(periods: list[StatusPeriod], start: datetime, end: datetime) -> Status | None:
    """The worst status in force at some time in [start, end), None when no period covers it."""
    starts = [p.since for p in periods]
    first = max(0, bisect.bisect_right(starts, start) - 1)
    found = [p.status for p in periods[first:bisect.bisect_left(starts, end)]
             if p.until is None or p.until > start]
    return min(found, key=WORST_FIRST.index) if found else None


def history(state: ApiState, name: str, range_: str, now: float) -> History:
    """`name`'s history over `range_` ending at `now`; raises UnknownName, StoreError."""
    view = state.view
    if name not in view.targets and name not in view.pools:
        raise UnknownName("target", view.names)
    if state.store is None:
        raise StoreError("no store")
    plan = PLANS[range_]
    end = datetime.fromtimestamp(now, UTC)
    start = end - timedelta(seconds=plan.seconds)
    members = view.pools[name].members if name in view.pools else [name]
    if plan.source == "snapshots":
        rows = state.store.rows(sql.query("history_snapshots"), {
            "target": name, "from": start, "to": end, "step_s": plan.step_s})
    else:
        rows = state.store.rows(sql.query(f"history_{plan.source}"), {
            "targets": members, "from": start, "to": end, "step_s": plan.step_s})
    found = state.store.rows(sql.query("history_events"), {
        "target": name, "from": start, "to": end, "limit": EVENTS_LIMIT})
    events = [HistoryEvent(at=moment(r["at_s"]), kind=str(r["kind"]), probe_kind=str(r["probe_kind"]),
                           from_state=str(r["from_state"]), to_state=str(r["to_state"]),
                           reason=str(r["reason"])) for r in reversed(found)]
    periods = periods_of(events)
    step = timedelta(seconds=plan.step_s)
    points = [point(r, worst_in(periods, moment(r["at_s"]), moment(r["at_s"]) + step))
              for r in rows]
    return History(
        target=name, kind="pool" if name in view.pools else "target", range=range_, start=start,
        end=end, step_s=plan.step_s, source=plan.source,
        counts_over="status_window" if plan.source == "snapshots" else "step", points=points,
        periods=[p for p in periods if p.until is None or p.until > start],
        events=[e for e in events if e.at >= start], events_truncated=len(found) >= EVENTS_LIMIT)


RangeQuery = Annotated[Range, Query(alias="range", description="how far back from now")]


@router.get("/targets/{target:path}/history", response_model=History,
            responses={**NOT_FOUND, **UNAVAILABLE})
def get_history(request: Request, target: str, range_: RangeQuery = "24h") -> Any:
    """A target's or pool's points and transitions over `range` (the rollups for 6h and longer).
    Reads the store: one query for the points, one for the transitions."""
    state: ApiState = request.app.state.health
    try:
        return history(state, target, range_, state.clock())
    except StoreError as exc:
        log.warning("api: a history of %s could not be read: %s", target, exc)
        return JSONResponse(Unavailable(detail="the store cannot be read now: see the "
                                               "aggregator's log").model_dump(), status_code=503)
