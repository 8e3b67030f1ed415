"""One evaluation: snapshots for every target at one aligned instant, then events.

Both steps are INSERT … SELECT statements in clickhouse/queries; Python only supplies the
parameters. The instant is aligned to the evaluation interval, so any worker evaluating the
same instant over the same raw rows writes the same rows.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from aggregator import sql
from aggregator.store.base import Store
from llmhealth import PROBER_SERVICE_NAME
from llmhealth.config.model import Config
from llmhealth.config.target import Target


def aligned_instant(now: float, interval: float) -> datetime:
    """The latest multiple of `interval` seconds (since the epoch) at or before `now`."""
    return datetime.fromtimestamp(math.floor(now / interval) * interval, tz=UTC)


def evaluated_targets(store: Store, config: Config, at: datetime) -> list[tuple[str, Target]]:
    """(name, target whose thresholds apply) of every target to evaluate at `at`: the
    configured ones, and the `<endpoint>/<model>` targets discovery endpoints reported in
    the window (a discovery endpoint itself is evaluated on its `models` probes)."""
    targets = [(t.name, t) for t in config.targets]
    endpoints = {t.name: t for t in config.targets if t.discover}
    if endpoints:
        rows = store.rows(sql.query("discovered_targets"), {
            "at": at, "window_s": int(config.aggregator.window),
            "service": PROBER_SERVICE_NAME, "endpoints": sorted(endpoints)})
        targets += [(row["target"], endpoints[row["endpoint"]]) for row in rows]
    return targets


def evaluation_params(config: Config, at: datetime, targets: list[tuple[str, Target]]) -> dict:
    thresholds = [config.thresholds_for(t) for _, t in targets]
    return {
        "at": at,
        "window_s": int(config.aggregator.window),
        "service": PROBER_SERVICE_NAME,
        "targets": [name for name, _ in targets],
        "degraded_error_rate": [th.degraded_error_rate for th in thresholds],
        "unhealthy_error_rate": [th.unhealthy_error_rate for th in thresholds],
        "latency_p99_max": [th.latency_p99 for th in thresholds],
        "ttft_p99_max": [th.ttft_p99 for th in thresholds],
    }


def evaluate(store: Store, config: Config, at: datetime) -> None:
    """Write the snapshots for `at`, then the events of targets whose status changed."""
    targets = evaluated_targets(store, config, at)
    if not targets:
        return
    store.execute(sql.query("evaluate_snapshots"), evaluation_params(config, at, targets))
    store.execute(sql.query("record_events"), {"at": at, "targets": [name for name, _ in targets]})
