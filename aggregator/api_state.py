"""The health state that the HTTP API's reads serve (`/api/health/*`, the badge), kept in memory
and refreshed after each evaluation: one query (clickhouse/queries/api_state.sql) per evaluated
instant, however many requests come. Only a target's history reads the store per request.

`ApiState.attach(worker)` listens to the worker as `MetricsState` does: the listener only records
the instant to read, and a thread of the state's own runs the query, so a slow store never delays
the next evaluation; instants that come faster than the query (a backfill) are read once, the
latest. Each `HealthView` is an immutable value that replaces the previous one in a single
assignment, so a request on another thread reads one reference and sees one consistent state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator import sql
from aggregator.api.models import (
    STATUSES,
    WORST_FIRST,
    Freshness,
    PoolHealth,
    Status,
    TargetHealth,
    Unmatched,
)
from aggregator.api.rows import pool_health, target_health, unevaluated_target
from aggregator.api_events import EventHub, EventId, Message, transitions
from aggregator.latest_refresh import LatestRefresh
from aggregator.store.base import Store, StoreError
from aggregator.worker import Worker
from llmhealth_config.model import Config
from llmhealth_config.product import PROBER_SERVICE_NAME

STALE_INTERVALS = 3
"""A state older than this many aggregator intervals is stale: the worker or the refresh is not
keeping up (or stopped), and the statuses are as of then, not now."""
STREAM_LOOKBACK = timedelta(hours=1)
"""How far back the first read after a start fills the live stream's buffer, so that a client
resuming across a restart of the aggregator is served from memory."""
FIRST_LOOKBACK = timedelta(days=1)
"""How far back the first read after a start looks for each target's last success and failure;
later reads look at what was stored since the previous one and carry older ones forward."""


@dataclass(frozen=True)
class HealthView:
    """The state of instant `instant` (None: no evaluation read yet), read at `read_at` (seconds
    since the epoch): every target and pool by name, each pool's members and each model's
    targets, and the applications' requests no target claimed. Configured targets and pools
    without a row at the instant are `unknown`."""

    instant: datetime | None
    read_at: float | None
    targets: Mapping[str, TargetHealth]
    pools: Mapping[str, PoolHealth]
    models: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unmatched: Unmatched = field(default_factory=Unmatched)

    @classmethod
    def empty(cls, config: Config) -> HealthView:
        return cls.from_rows([], config, None, None)

    @classmethod
    def from_rows(cls, rows: list[Mapping[str, Any]], config: Config, instant: datetime | None,
                  read_at: float | None, previous: HealthView | None = None) -> HealthView:
        """The view of api_state.sql's rows (one per target and pool)."""
        before = previous.targets if previous else {}
        targets = {str(r["target"]): target_health(r, config, before.get(str(r["target"])))
                   for r in rows if r.get("kind") != "pool"}
        for target in config.targets:
            if target.name not in targets:
                targets[target.name] = unevaluated_target(target.name, config,
                                                          previous=before.get(target.name))
        members: dict[str, list[str]] = {p: list(m) for p, m in config.pools.items()}
        for name, target in targets.items():
            if target.pool and name not in members.setdefault(target.pool, []):
                members[target.pool].append(name)
        pool_rows = {str(r["target"]): r for r in rows if r.get("kind") == "pool"}
        pools = {name: pool_health(name, pool_rows.get(name), names,
                                   {m: targets[m].status for m in names if m in targets})
                 for name, names in sorted(members.items())}
        models: dict[str, list[str]] = {}
        for name, target in targets.items():
            if target.model:
                models.setdefault(target.model, []).append(name)
        first = rows[0] if rows else {}
        unmatched = Unmatched(requests_1h=float(first.get("unmatched_requests_1h") or 0),
                              errors_1h=float(first.get("unmatched_errors_1h") or 0))
        return cls(instant, read_at, dict(sorted(targets.items())), pools,
                   {m: tuple(sorted(n)) for m, n in sorted(models.items())}, unmatched)

    @property
    def names(self) -> list[str]:
        """Every target and pool name, sorted (pools and targets share one namespace)."""
        return sorted([*self.targets, *self.pools])

    def counts(self) -> dict[str, int]:
        return _count(t.status for t in self.targets.values())

    def pool_counts(self) -> dict[str, int]:
        return _count(p.status for p in self.pools.values())

    def overall(self) -> Status:
        """The pool rule over every target (health-model.md, Pools)."""
        return overall_status([t.status for t in self.targets.values()])

    def worst(self, limit: int) -> list[TargetHealth]:
        """The `limit` worst targets that are not healthy: worst status first, then the highest
        error rate, then by name."""
        ill = [t for t in self.targets.values() if t.status != "healthy"]
        ill.sort(key=lambda t: (WORST_FIRST.index(t.status), -t.error_rate, t.target))
        return ill[:limit]


def _count(statuses: Any) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for s in statuses:
        counts[s] += 1
    return counts


def overall_status(statuses: list[Status]) -> Status:
    """healthy when every one is; degraded when some but not all are healthy, or any is degraded;
    unknown when all are unknown (or there are none); rate_limited when every one with data is;
    else unhealthy."""
    n = len(statuses)
    healthy, degraded = statuses.count("healthy"), statuses.count("degraded")
    unknown, limited = statuses.count("unknown"), statuses.count("rate_limited")
    if n == 0 or unknown == n:
        return "unknown"
    if healthy == n:
        return "healthy"
    if healthy or degraded:
        return "degraded"
    return "rate_limited" if limited == n - unknown else "unhealthy"


class ApiState:
    """The latest `HealthView`, refreshed after each evaluation of a worker. `clock` (seconds
    since the epoch) is what the API calls now: the age of the data, the end of a history."""

    def __init__(self, store: Store | None, config: Config,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.stale_after_s = STALE_INTERVALS * config.aggregator.interval
        self.view = HealthView.empty(config)
        self.events = EventHub(self.replay)
        self._refresh = LatestRefresh(
            self.refresh, name="llmhealth-api-state", label="api",
            keeps="the HTTP API keeps serving the previous one, marked stale as it ages")

    @property
    def refresh_failures(self) -> int:
        return self._refresh.failures

    def freshness(self, view: HealthView, now: float | None = None) -> Freshness:
        """How old `view` is at `now` (default: the clock)."""
        if view.instant is None:
            return Freshness(evaluated_at=None, age_s=None, stale=True,
                             stale_after_s=self.stale_after_s)
        age = max(0.0, (self.clock() if now is None else now) - view.instant.timestamp())
        return Freshness(evaluated_at=view.instant, age_s=round(age, 3),
                         stale=age > self.stale_after_s, stale_after_s=self.stale_after_s)

    def attach(self, worker: Worker) -> None:
        """Refresh after each instant `worker` evaluates (call `start` to run the refreshes)."""
        worker.add_listener(self.evaluated)

    def evaluated(self, instant: datetime) -> None:
        """The worker's listener: ask the refresh thread for `instant`."""
        self._refresh.want(instant)

    def refresh(self, instant: datetime) -> HealthView:
        """Read the state of `instant` (one query) and make it the current one. Raises
        StoreError, keeping the previous state."""
        if self.store is None:
            raise StoreError("no store to read the state from")
        previous = self.view
        since = previous.instant if previous.instant and previous.instant < instant \
            else instant - FIRST_LOOKBACK
        window = timedelta(seconds=self.config.aggregator.window)
        rows = self.store.rows(sql.query("api_state"), {
            "at": instant, "window_from": instant - window, "since": since,
            "service": PROBER_SERVICE_NAME})
        view = HealthView.from_rows(rows, self.config, instant, self.clock(), previous)
        self.view = view
        self._publish(self.store, view, instant, previous.instant or instant - STREAM_LOOKBACK)
        return view

    def _publish(self, store: Store, view: HealthView, instant: datetime, since: datetime) -> None:
        """Send the transitions in (`since`, `instant`] and an `evaluated` notice to the live
        stream's subscribers (one query)."""
        rows = store.rows(sql.query("stream_events"), {
            "since": since, "until": instant, "limit": 1_000_000})
        freshness = self.freshness(view)
        evaluated = Message("evaluated", {
            "evaluated_at": instant.isoformat().replace("+00:00", "Z"),
            "overall": view.overall(), "counts": view.counts(),
            "pool_counts": view.pool_counts(), "stale": freshness.stale})
        since_ms = int(since.timestamp() * 1000)
        self.events.publish(transitions(rows, view.pools), evaluated, (since_ms, 10**9))

    def replay(self, after: EventId, limit: int) -> list[Message]:
        """The transitions after `after` up to now, from the store (a resuming client that was
        away longer than the live stream's buffer holds)."""
        if self.store is None:
            return []
        since = datetime.fromtimestamp((after[0] - 1) / 1000, UTC)
        rows = self.store.rows(sql.query("stream_events"), {
            "since": since, "until": datetime.fromtimestamp(self.clock(), UTC), "limit": limit})
        return transitions(rows, self.view.pools)

    def start(self) -> None:
        """Start the refresh thread."""
        self._refresh.start()

    def stop(self) -> None:
        """Stop the refresh thread, after the query it runs (if any) ends, and end the live
        stream's subscriptions."""
        self._refresh.stop()
        self.events.close()
