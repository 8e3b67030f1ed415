"""The health state that `GET /metrics` serves, kept in memory and refreshed after each
evaluation: one query (clickhouse/queries/metrics_state.sql) per evaluated instant, however
often it is scraped.

`MetricsState.attach(worker)` listens to the worker. The listener runs on the worker's thread
and only records the evaluation's pace and the instant to read; a thread of the state's own
runs the query, so a slow store never delays the next evaluation. Instants that come faster
than the query (a backfill) are read once, the latest. Every state is an immutable value that
replaces the previous one in a single assignment: a scrape on another thread reads one
reference and sees one consistent state, never half of a refresh.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aggregator import sql
from aggregator.latest_refresh import LatestRefresh
from aggregator.store.base import Store
from aggregator.worker import Worker
from llmhealth_config.model import Config
from llmhealth_config.product import PROBER_SERVICE_NAME

STATUSES = ("healthy", "degraded", "unhealthy", "rate_limited", "unknown")
PERCENTILES = ("50", "90", "99")
AVAILABILITY_WINDOWS = ("1h", "24h", "7d", "30d")
BURN_WINDOWS = ("5m", "30m", "1h", "6h", "3d")


@dataclass(frozen=True)
class KindHealth:
    """One probe kind of a target: its circuit breaker, and its requests over its rule window
    (the status window, started again when its breaker closed after an outage)."""

    kind: str
    breaker: str
    requests: float = 0.0
    errors: float = 0.0
    error_rate: float = 0.0


@dataclass(frozen=True)
class TargetHealth:
    """One target at the state's instant, as its snapshot has it: `requests`, `errors` and
    `error_rate` are the deciding probe kind's (as `llmhealth status` shows them). None where
    the store has no value (no latency without successful probes, no SLO row before the
    target's first minute)."""

    target: str
    status: str
    pool: str = ""
    requests: float = 0.0
    errors: float = 0.0
    error_rate: float = 0.0
    latency: Mapping[str, float | None] = field(default_factory=dict)  # percentile -> seconds
    ttft: Mapping[str, float | None] = field(default_factory=dict)
    kinds: tuple[KindHealth, ...] = ()
    availability: Mapping[str, float | None] = field(default_factory=dict)  # window -> ratio
    reachability: Mapping[str, float | None] = field(default_factory=dict)
    burn_rates: Mapping[str, float | None] = field(default_factory=dict)
    # (resource, remaining, limit)
    ratelimits: tuple[tuple[str, float | None, float | None], ...] = ()
    # (resource, seconds) of the soonest forecast run-out before a reset, if any
    exhaustion: tuple[str, float] | None = None
    context_preservation: float | None = None


@dataclass(frozen=True)
class PoolHealth:
    pool: str
    status: str


@dataclass(frozen=True)
class HealthState:
    """What the store said about instant `instant`, read at `read_at` (seconds since the
    epoch). `newest_point` is the newest stored point's own time (None: nothing stored)."""

    instant: datetime
    read_at: float
    targets: tuple[TargetHealth, ...] = ()
    pools: tuple[PoolHealth, ...] = ()
    newest_point: float | None = None

    @property
    def storage_lag_s(self) -> float | None:
        """How old the newest stored point was when the state was read."""
        if self.newest_point is None:
            return None
        return max(0.0, self.read_at - self.newest_point)

    @classmethod
    def from_rows(cls, rows: list[Mapping[str, Any]], instant: datetime,
                  read_at: float) -> HealthState:
        """The state from metrics_state.sql's rows (one per target and pool)."""
        targets = tuple(_target(r) for r in rows if r.get("kind") != "pool")
        pools = tuple(PoolHealth(str(r["target"]), _status(r.get("status")))
                      for r in rows if r.get("kind") == "pool")
        newest = _number(rows[0].get("newest_point")) if rows else None
        return cls(instant, read_at, targets, pools, newest if newest and newest > 0 else None)


@dataclass(frozen=True)
class Pace:
    """The worker's last evaluation: its instant, how long it took, whether it kept pace."""

    instant: datetime
    duration_s: float | None
    behind: bool


def _number(value: object) -> float | None:
    """A number as any store interface returns it (float, int, quoted 64-bit integer), or None."""
    if value is None or value == "":
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _status(value: object) -> str:
    return value if value in STATUSES else "unknown"


def _kinds(row: Mapping[str, Any]) -> tuple[KindHealth, ...]:
    columns = [row.get(f"kind_{c}") or () for c in ("names", "breakers", "requests", "errors",
                                                      "error_rates")]
    return tuple(KindHealth(str(kind), str(breaker), _number(n) or 0.0, _number(e) or 0.0,
                            _number(rate) or 0.0)
                 for kind, breaker, n, e, rate in zip(*columns, strict=True))


def _target(row: Mapping[str, Any]) -> TargetHealth:
    def pick(prefix: str, keys: tuple[str, ...], suffix: str = "") -> dict[str, float | None]:
        return {k: _number(row.get(f"{prefix}{k}{suffix}")) for k in keys}

    return TargetHealth(
        target=str(row["target"]), status=_status(row.get("status")),
        pool=str(row.get("pool") or ""),
        requests=_number(row.get("requests")) or 0.0, errors=_number(row.get("errors")) or 0.0,
        error_rate=_number(row.get("error_rate")) or 0.0,
        latency=pick("latency_p", PERCENTILES, "_s"), ttft=pick("ttft_p", PERCENTILES, "_s"),
        kinds=_kinds(row),
        availability=pick("availability_", AVAILABILITY_WINDOWS),
        reachability=pick("reachability_", AVAILABILITY_WINDOWS),
        burn_rates=pick("burn_rate_", BURN_WINDOWS),
        ratelimits=tuple((str(res), _number(rem), _number(lim)) for res, rem, lim in zip(
            row.get("ratelimit_resources") or (), row.get("ratelimit_remaining") or (),
            row.get("ratelimit_limit") or (), strict=True)),
        exhaustion=_exhaustion(row),
        context_preservation=_number(row.get("context_preservation_rate")))


def _exhaustion(row: Mapping[str, Any]) -> tuple[str, float] | None:
    seconds = _number(row.get("ratelimit_exhausted_in_s"))
    return None if seconds is None else (str(row.get("ratelimit_exhausted_resource") or ""), seconds)


class MetricsState:
    """The latest `HealthState` and `Pace`, refreshed after each evaluation of a worker."""

    def __init__(self, store: Store, config: Config,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.config = config
        self._clock = clock
        self.state: HealthState | None = None
        self.pace: Pace | None = None
        self._worker: Worker | None = None
        self._refresh = LatestRefresh(self.refresh, name="llmhealth-metrics", label="metrics",
                                      keeps="GET /metrics keeps the previous one")

    @property
    def refresh_failures(self) -> int:
        return self._refresh.failures

    @property
    def _thread(self) -> threading.Thread | None:
        return self._refresh.thread

    @property
    def evaluation_failing(self) -> bool | None:
        """Whether the worker's last run failed (None without a worker)."""
        return None if self._worker is None else self._worker.last_error is not None

    def attach(self, worker: Worker) -> None:
        """Refresh after each instant `worker` evaluates (call `start` to run the refreshes)."""
        self._worker = worker
        worker.add_listener(self.evaluated)

    def evaluated(self, instant: datetime) -> None:
        """The worker's listener: record its pace, ask the refresh thread for `instant`."""
        worker = self._worker
        if worker is not None:
            duration = worker.last_duration_ms
            self.pace = Pace(instant, None if duration is None else duration / 1000, worker.behind)
        self._refresh.want(instant)

    def refresh(self, instant: datetime) -> HealthState:
        """Read the state of `instant` (one query) and make it the current one. Raises
        StoreError, keeping the previous state."""
        window = timedelta(seconds=self.config.aggregator.window)
        rows = self.store.rows(sql.query("metrics_state"), {
            "at": instant, "window_from": instant - window, "service": PROBER_SERVICE_NAME})
        state = HealthState.from_rows(rows, instant, self._clock())
        self.state = state
        return state

    def start(self) -> None:
        """Start the refresh thread."""
        self._refresh.start()

    def stop(self) -> None:
        """Stop the refresh thread, after the query it runs (if any) ends."""
        self._refresh.stop()
