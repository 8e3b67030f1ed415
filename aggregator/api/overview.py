"""`GET /api/health/overview`: the series the status page draws that the evaluated state does not
hold, for every target and pool (docs/api.md, "Status page"): a latency sparkline of the last
hour (p50 and p90 per minute), a status strip of the last 24 h (the worst status of each
quarter hour) and availability over 24 h, 7 d, 30 d and 90 d.

Three queries compute it (clickhouse/queries/overview_*.sql, on the rollups and the status
transitions), on a worker thread, at most once per MAX_AGE_S however many pages ask: answers in
between are the cached one. A store that cannot answer is logged; the previous answer is
served meanwhile (retried after RETRY_S), or a 503 when there is none yet.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from aggregator import sql
from aggregator.api.errors import UNAVAILABLE
from aggregator.api.history import HistoryEvent, periods_of, worst_in
from aggregator.api.models import Model, Status, Unavailable
from aggregator.api.rows import moment, number
from aggregator.api_state import ApiState, HealthView
from aggregator.store.base import StoreError

log = logging.getLogger("llmhealth.aggregator")
MAX_AGE_S = 30.0
"""An answer is computed again once it is this old (and someone asks)."""
RETRY_S = 5.0
"""After a failed computation, the next one is tried no sooner than this."""
MINUTES = 60
"""Points of a sparkline: the minutes of the last hour, the current one last."""
SEGMENT_S = 900
SEGMENTS = 96
"""A status strip: 96 quarter hours, the current one last."""
EVENTS_PER_NAME = 5000
AVAILABILITY_WINDOWS = ("24h", "7d", "30d", "90d")
router = APIRouter(prefix="/api/health", tags=["overview"])


class Series(Model):
    """One target's or pool's series, each oldest first."""

    name: str
    kind: Literal["target", "pool"]
    latency_p50_s: list[float | None] = Field(
        description=f"latency p50 of answers (completion and http probes) per minute, {MINUTES} "
                    "points from sparkline_start; null: no successful answer in the minute")
    latency_p90_s: list[float | None] = Field(description="the same minutes' p90")
    strip: list[Status | None] = Field(
        description=f"the worst status in force during each of {SEGMENTS} segments of "
                    "strip_step_s from strip_start; null: before the first status known")
    availability: dict[str, float | None] = Field(
        description="available minutes / minutes with a probe result over 24h, 7d, 30d and 90d, "
                    "calendar-aligned as health_slo's; null without a result")


class Overview(Model):
    computed_at: datetime = Field(description="when these series were read from the store")
    max_age_s: float = Field(description="an answer is read again once it is this old")
    sparkline_start: datetime
    sparkline_step_s: int
    strip_start: datetime
    strip_step_s: int
    targets: list[Series]
    pools: list[Series]


def memberships(view: HealthView) -> tuple[list[str], list[str]]:
    """(pools, members): pool `pools[i]` has member `members[i]`, for every pool and member. A
    target's results count for itself and for each of its pools (query parameters are arrays:
    every store interface binds those)."""
    pairs = [(pool, member) for pool, health in view.pools.items() for member in health.members]
    return [p for p, _ in pairs], [m for _, m in pairs]


def compute(state: ApiState, now: float) -> Overview:
    """The overview of `state`'s targets and pools at `now` (three queries). Raises StoreError."""
    if state.store is None:
        raise StoreError("no store")
    view = state.view
    end = datetime.fromtimestamp(now, UTC)
    minute = end.replace(second=0, microsecond=0)
    spark_start = minute - timedelta(minutes=MINUTES - 1)
    quarter = datetime.fromtimestamp(math.floor(now / SEGMENT_S) * SEGMENT_S, UTC)
    strip_start = quarter - timedelta(seconds=SEGMENT_S * (SEGMENTS - 1))
    pools, members = memberships(view)
    targets, names = list(view.targets), [*view.targets, *view.pools]
    latency = state.store.rows(sql.query("overview_latency"), {
        "targets": targets, "pools": pools, "members": members, "from": spark_start, "to": end})
    availability = state.store.rows(sql.query("overview_availability"), {
        "targets": targets, "pools": pools, "members": members, "at": end})
    events = state.store.rows(sql.query("overview_events"), {
        "names": names, "from": strip_start, "to": end, "limit": EVENTS_PER_NAME})
    sparks = sparklines(latency, spark_start)
    strips = status_strips(events, strip_start)
    ratios = {str(r["name"]): {w: number(r[f"availability_{w}"]) for w in AVAILABILITY_WINDOWS}
              for r in availability}

    def series(name: str, kind: Literal["target", "pool"]) -> Series:
        p50, p90 = sparks.get(name) or ([None] * MINUTES, [None] * MINUTES)
        return Series(name=name, kind=kind, latency_p50_s=p50, latency_p90_s=p90,
                      strip=strips.get(name, [None] * SEGMENTS),
                      availability=ratios.get(name, dict.fromkeys(AVAILABILITY_WINDOWS)))

    return Overview(
        computed_at=end, max_age_s=MAX_AGE_S, sparkline_start=spark_start, sparkline_step_s=60,
        strip_start=strip_start, strip_step_s=SEGMENT_S,
        targets=[series(n, "target") for n in view.targets],
        pools=[series(n, "pool") for n in view.pools])


def sparklines(rows: list[Mapping[str, Any]], start: datetime
               ) -> dict[str, tuple[list[float | None], list[float | None]]]:
    """overview_latency.sql's rows → name → (p50s, p90s), a point per minute from `start`."""
    found: dict[str, tuple[list[float | None], list[float | None]]] = {}
    for row in rows:
        index = int((float(row["at_s"]) - start.timestamp()) // 60)
        if 0 <= index < MINUTES:
            p50, p90 = found.setdefault(str(row["name"]), ([None] * MINUTES, [None] * MINUTES))
            p50[index], p90[index] = (round(float(v), 6) for v in row["latency_s"])
    return found


def status_strips(rows: list[Mapping[str, Any]], start: datetime) -> dict[str, list[Status | None]]:
    """overview_events.sql's rows → name → the worst status of each segment from `start`."""
    by_name: dict[str, list[HistoryEvent]] = defaultdict(list)
    for r in rows:
        by_name[str(r["target"])].append(HistoryEvent(
            at=moment(r["at_s"]), kind=str(r["kind"]), probe_kind=str(r["probe_kind"]),
            from_state=str(r["from_state"]), to_state=str(r["to_state"]), reason=str(r["reason"])))
    step = timedelta(seconds=SEGMENT_S)
    strips: dict[str, list[Status | None]] = {}
    for name, events in by_name.items():
        periods = periods_of(sorted(events, key=lambda e: e.at))
        strips[name] = [worst_in(periods, start + step * i, start + step * (i + 1))
                        for i in range(SEGMENTS)]
    return strips


class OverviewCache:
    """The last overview and when it was computed (`monotonic` seconds). `get` computes a new
    one, on the calling thread, when the last is MAX_AGE_S old; one computation at a time, so
    callers that wait for it then share its answer."""

    def __init__(self, max_age_s: float = MAX_AGE_S, retry_s: float = RETRY_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s, self.retry_s, self.monotonic = max_age_s, retry_s, monotonic
        self.computations = 0
        self._answer: Overview | None = None
        self._computed = self._failed = -math.inf
        self._lock = threading.Lock()

    def get(self, state: ApiState) -> Overview:
        """The cached overview, or a new one when it is too old. Raises StoreError when the store
        cannot answer and there is no earlier answer to serve."""
        with self._lock:
            now = self.monotonic()
            if self._answer is not None and now - self._computed < self.max_age_s:
                return self._answer
            if now - self._failed < self.retry_s:
                return self._previous(StoreError("the last read failed; retrying shortly"))
            self.computations += 1
            try:
                self._answer = compute(state, state.clock())
            except StoreError as exc:
                self._failed = now
                log.warning("api: the overview could not be read%s: %s",
                            " (serving the previous one)" if self._answer else "", exc)
                return self._previous(exc)
            self._computed = now
            return self._answer

    def _previous(self, error: StoreError) -> Overview:
        if self._answer is None:
            raise error
        return self._answer


def cache_of(request: Request) -> OverviewCache:
    """The app's overview cache, made at its first use."""
    cache = getattr(request.app.state, "overview", None)
    if cache is None:
        cache = request.app.state.overview = OverviewCache()
    return cache


@router.get("/overview", response_model=Overview, responses=UNAVAILABLE)
async def get_overview(request: Request) -> Any:
    """Every target's and pool's sparkline (1 h), status strip (24 h) and availability (24 h to
    90 d), read from the store at most every 30 s whoever asks."""
    cache, state = cache_of(request), request.app.state.health
    try:
        return await asyncio.to_thread(cache.get, state)
    except StoreError:
        return JSONResponse(Unavailable(detail="the store cannot be read now: see the "
                                               "aggregator's log").model_dump(), status_code=503)
