"""One evaluation: every target (and pool) at one aligned instant.

Each step is an INSERT … SELECT in clickhouse/queries; Python only supplies parameters:
windows → rate-limit forecast → kinds (per probe kind: streaks, breaker, verdict) → snapshots
(the target's status from its kinds and the forecast) → pools → events. Windows longer than 15 min
(evaluate_long_windows.sql) read complete minutes, so they change once a minute: they are
written at a minute's first instant only (with the SLO row), except the status window, which
the snapshot reads at every instant. The instant is aligned to the evaluation interval and
every query reads rows stored by then, so any worker evaluating the same instant writes the
same rows.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aggregator import passive, sql
from aggregator.store.base import Store
from llmhealth_config.model import Config
from llmhealth_config.target import Target

# Windows up to this long are read from raw points; longer ones from the minute rollup.
SHORT_WINDOW_MAX = 900
# How far back the first point of a cumulative series may lie and still be its base.
CUMULATIVE_LOOKBACK = 600
# The exhaustion forecast reads the burn rate over at least this many seconds of reports
# (evaluate_ratelimits.sql): the current rate, not that of a burst that stopped.
FORECAST_HORIZON = 60
# A kind's verdict holds while its error rate stays above this fraction of the threshold that
# entered it (evaluate_kinds.sql): a model failing at a rate near a threshold does not flap.
UNHEALTHY_HOLD = 0.7
DEGRADED_HOLD = 0.5


def aligned_instant(now: float, interval: float) -> datetime:
    """The latest multiple of `interval` seconds (since the epoch) at or before `now`."""
    return datetime.fromtimestamp(math.floor(now / interval) * interval, tz=UTC)


def state_lookback(config: Config) -> int:
    """How old a previous snapshot may be and still carry its state into the next instant."""
    agg = config.aggregator
    return int(min(agg.window, max(30, 5 * agg.interval)))


def evaluated_targets(store: Store, config: Config, at: datetime) -> list[tuple[str, Target]]:
    """(name, target whose settings apply) of every target to evaluate at `at`: the
    configured ones, and the `<endpoint>/<model>` targets discovery endpoints reported in
    the window (a discovery endpoint itself is evaluated on its `models` probes)."""
    targets = [(t.name, t) for t in config.targets]
    endpoints = {t.name: t for t in config.targets if t.discover}
    if endpoints:
        rows = store.rows(sql.query("discovered_targets"), {
            "at": at, "window_s": int(config.aggregator.window), "endpoints": sorted(endpoints)})
        targets += [(row["target"], endpoints[row["endpoint"]]) for row in rows]
    return targets


def probe_kinds(name: str, target: Target) -> list[str]:
    """The kinds evaluated for `name`: a discovery endpoint's own `models` listing, else the
    kinds of `target` (a discovered model runs those of its endpoint)."""
    return ["models"] if target.discover and name == target.name else target.kinds


def first_of_minute(at: datetime, interval: float) -> bool:
    """Whether `at` is the first aligned instant of its minute."""
    return at.timestamp() % 60 < interval


def target_set(config: Config, targets: list[tuple[str, Target]]) -> dict:
    """The rows of health_targets for `targets` (column → list), with their `version`: a hash
    of the content, so the same set always gets the same version."""
    thresholds = [config.thresholds_for(t) for _, t in targets]
    rows = {
        "targets": [name for name, _ in targets],
        "providers": [t.provider for _, t in targets],
        "models": [t.model or "" for _, t in targets],
        "probe_kinds": [probe_kinds(name, t) for name, t in targets],
        "probe_intervals": [config.interval_for(t) for _, t in targets],
        # kinds probed on an interval of their own (`context`): their staleness rule uses it
        "kind_intervals": [{kind: config.interval_for(t, kind) for kind in probe_kinds(name, t)
                            if kind == "context"} for name, t in targets],
        "degraded_error_rate": [th.degraded_error_rate for th in thresholds],
        "unhealthy_error_rate": [th.unhealthy_error_rate for th in thresholds],
        "latency_p99": [th.latency_p99 for th in thresholds],
        "ttft_p99": [th.ttft_p99 for th in thresholds],
        "min_requests": [th.min_requests for th in thresholds],
        "ratelimit_exhaustion": [th.ratelimit_exhaustion for th in thresholds],
        "pools": [t.pool or "" for _, t in targets],
    }
    digest = hashlib.blake2b(json.dumps(rows, sort_keys=True).encode(), digest_size=8).digest()
    return {"version": int.from_bytes(digest, "big"), **rows}


REWRITE_S = 3600.0
"""A set in use is written again this often, so that its rows stay younger than the TTL of
health_targets (retention.snapshots_days, at least a day); the copies are the same rows
(ReplacingMergeTree), and the queries read one row per target (LIMIT 1 BY)."""


def window_params(config: Config, at: datetime, version: int,
                  passive_args: dict | None = None) -> dict:
    """Parameters of evaluate_windows.sql at `at`: the windows up to 15 min, from raw points;
    applications' requests counted as `passive_args` (`passive_read_from`, `passive.params`)
    match them, none without."""
    short = sorted(int(w) for w in config.aggregator.windows if w <= SHORT_WINDOW_MAX)
    return {
        "at": at,
        "version": version,
        "short_windows": short,
        "max_short": max(short, default=0),
        "lookback_s": CUMULATIVE_LOOKBACK,
        **(passive_args or passive.no_params(passive_read_from(config, at))),
    }


def passive_read_from(config: Config, at: datetime) -> datetime:
    """Where the applications' points read at `at` start (aggregator/passive.py)."""
    short = [int(w) for w in config.aggregator.windows if w <= SHORT_WINDOW_MAX]
    return passive.read_from(at, max(short, default=0), CUMULATIVE_LOOKBACK)


def long_window_params(config: Config, at: datetime, version: int) -> dict:
    """Parameters of evaluate_long_windows.sql at `at`: the windows over 15 min (complete
    minutes, so they change once a minute) at the minute's first instant; at other instants
    only the status window, if it is that long (the snapshot's rules read it)."""
    minute = first_of_minute(at, config.aggregator.interval)
    status = int(config.aggregator.window)
    long = sorted(int(w) for w in config.aggregator.windows
                  if w > SHORT_WINDOW_MAX and (minute or int(w) == status))
    return {"at": at, "version": version, "long_windows": long}


def ratelimit_params(config: Config, at: datetime, version: int) -> dict:
    """Parameters of evaluate_ratelimits.sql at `at`: the status window's reports, and the
    applications' requests of the shortest window read from raw points (0: none)."""
    agg = config.aggregator
    short = [int(w) for w in agg.windows if w <= SHORT_WINDOW_MAX]
    return {
        "at": at,
        "version": version,
        "window_from": at - timedelta(seconds=int(agg.window)),
        "horizon_s": FORECAST_HORIZON,
        "passive_window_s": min(short, default=0),
    }


def kind_params(config: Config, at: datetime, version: int,
                previous_at: datetime | None = None) -> dict:
    """Parameters of evaluate_kinds.sql at `at`. The previous rows are looked up from
    `previous_at` (see `previous_instant`) or, without it, over the whole state lookback, and
    the probe outcomes read are those stored since (or all of the status window's): the same
    rows either way, and a lookup of one instant costs less (15 instants at the defaults)."""
    agg = config.aggregator
    return {
        "at": at,
        "version": version,
        "window_s": int(agg.window),
        "window_from": at - timedelta(seconds=int(agg.window)),
        "lookback_from": _lookback_from(config, at, previous_at),
        # the probe outcomes to read whole: stored after this (all of the window without
        # previous_at), and those of the targets whose rule window restarted inside the window
        "fresh_from": previous_at or at - timedelta(seconds=int(agg.window)),
        # a status window over 15 min is counted to the minute in health_windows: count points
        "long_status_window": int(agg.window) > SHORT_WINDOW_MAX,
        "window_text": _duration_text(agg.window),
        "rules_text": f"over {_duration_text(agg.window)}",
        "failures": agg.breaker.failures,
        "successes": agg.breaker.successes,
        "breaker_error_rate": agg.breaker.error_rate,
        "breaker_min_requests": agg.breaker.min_requests,
        "cooldown_s": agg.breaker.cooldown,
        "unhealthy_hold": UNHEALTHY_HOLD,
        "degraded_hold": DEGRADED_HOLD,
        "stale_intervals": agg.stale_intervals,
        "backoff_max_s": config.prober.backoff_max,
    }


def snapshot_params(config: Config, at: datetime, version: int,
                    previous_at: datetime | None = None) -> dict:
    """Parameters of evaluate_snapshots.sql at `at` (previous snapshots as in `kind_params`)."""
    agg = config.aggregator
    return {
        "at": at,
        "version": version,
        "window_s": int(agg.window),
        "window_from": at - timedelta(seconds=int(agg.window)),
        "lookback_from": _lookback_from(config, at, previous_at),
        "window_text": _duration_text(agg.window),
        "hysteresis": agg.hysteresis,
        "breaker_min_requests": agg.breaker.min_requests,
        "unhealthy_hold": UNHEALTHY_HOLD,
        "degraded_hold": DEGRADED_HOLD,
    }


def _lookback_from(config: Config, at: datetime, previous_at: datetime | None) -> datetime:
    return previous_at or at - timedelta(seconds=state_lookback(config))


def _duration_text(seconds: float) -> str:
    """`5m`, `90s`, `1h`: how reasons name a window."""
    whole = int(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


class Evaluator:
    """Evaluates instants for one store and configuration, remembering what makes the next
    instant cheaper: the last target set built (building one costs ~20 ms per 1,000 targets),
    when each set was last written to health_targets, and the last instant whose snapshots it
    wrote (the snapshot statement then looks back no further). The worker owns one; nothing
    is kept at module level."""

    def __init__(self, store: Store, config: Config,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.config = config
        self._clock = clock
        self._last_set: tuple[tuple[str, ...], dict] | None = None
        self._written: dict[int, float] = {}
        self._snapshots: tuple[datetime, int] | None = None

    def target_set(self, targets: list[tuple[str, Target]]) -> dict:
        names = tuple(name for name, _ in targets)
        if self._last_set is None or self._last_set[0] != names:
            self._last_set = (names, target_set(self.config, targets))
        return self._last_set[1]

    def register(self, rows: dict) -> int:
        """Write target set `rows` to health_targets when first used and every REWRITE_S
        after; return its version."""
        now = self._clock()
        last = self._written.get(rows["version"])
        if last is None or now - last >= REWRITE_S:
            self.store.execute(sql.query("register_targets"), rows)
            self._written[rows["version"]] = now
        return rows["version"]

    def previous_instant(self, at: datetime, version: int) -> datetime | None:
        """The instant before `at` (within the state lookback) at which this evaluator wrote
        the snapshot of every target of `version`, if any: each target's latest snapshot is
        then at or after it, so the snapshot statement need not look further back."""
        if self._snapshots is None or self._snapshots[1] != version:
            return None
        last = self._snapshots[0]
        return last if at - timedelta(seconds=state_lookback(self.config)) <= last < at else None

    def evaluate(self, at: datetime) -> int:
        """Write windows, snapshots, pool snapshots and events for `at` (and the SLO rows at a
        minute's first instant); return the number of targets evaluated."""
        store, config = self.store, self.config
        targets = evaluated_targets(store, config, at)
        if not targets:
            return 0
        version = self.register(self.target_set(targets))
        passive_args = passive.params(store.rows, at, passive_read_from(config, at), targets)
        short = window_params(config, at, version, passive_args)
        if short["short_windows"]:
            store.execute(sql.query("evaluate_windows"), short)
        if first_of_minute(at, config.aggregator.interval):
            passive.roll_up(store, at, passive_args)
        long = long_window_params(config, at, version)
        if long["long_windows"]:
            store.execute(sql.query("evaluate_long_windows"), long)
        store.execute(sql.query("evaluate_ratelimits"), ratelimit_params(config, at, version))
        previous_at = self.previous_instant(at, version)
        store.execute(sql.query("evaluate_kinds"), kind_params(config, at, version, previous_at))
        store.execute(sql.query("evaluate_snapshots"),
                      snapshot_params(config, at, version, previous_at))
        self._snapshots = (at, version)
        pools = config.pools
        if pools:
            pairs = [(pool, member) for pool, members in pools.items() for member in members]
            store.execute(sql.query("evaluate_pools"), {
                "at": at, "state_lookback_s": state_lookback(config),
                "pool_names": [p for p, _ in pairs], "pool_members": [m for _, m in pairs]})
        store.execute(sql.query("record_events"), {"at": at})
        if first_of_minute(at, config.aggregator.interval):
            store.execute(sql.query("evaluate_slo"), {
                "at": at, "slo": config.aggregator.slo, "version": version})
        return len(targets)


def evaluate(store: Store, config: Config, at: datetime) -> int:
    """Evaluate one instant with a new Evaluator (nothing remembered from earlier calls: the
    same rows, found the long way)."""
    return Evaluator(store, config).evaluate(at)
